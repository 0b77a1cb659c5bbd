package redirect

import (
	"net/url"
	"strings"
	"testing"
)

const testPublicURL = "https://auth.example.com"

var testDomains = []string{"example.com", "*.example.org"}

// testHosts are the hosts testPolicy accepts, with their subdomains.
var testHosts = []string{"auth.example.com", "example.com", "example.org"}

func testPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := New(testPublicURL, testDomains)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", testPublicURL, testDomains, err)
	}
	return p
}

// safeTargets must be accepted by testPolicy.
var safeTargets = []string{
	"/",
	"/dashboard",
	"/a/b?c=d&e=f#g",
	"/login?loggedOut=1",
	"/x#frag",
	"/?q=a+b",
	"/a:b",             // a colon after the first '/' is still a path
	"/search?q=a%26b",  // encoded '&' is harmless
	"/caf%C3%A9",       // encoded UTF-8 is allowed; only raw non-ASCII is not
	"/%2E%2E/settings", // resolves to /settings, still on our host
	"https://example.com/",
	"https://example.com",
	"https://app.example.com/path?q=1",
	"https://app.example.com?x=1",
	"https://app.example.com#top",
	"https://deep.sub.example.com/x",
	"https://a-b.example.com/",
	"https://xn--80ak6aa92e.example.com/", // punycode under an allowed domain
	"https://auth.example.com/",
	"https://auth.example.com",
	"https://AUTH.example.com/", // hosts compare case-insensitively
	"https://App.Example.COM/",
	"https://example.org/",
	"https://www.example.org/x", // "*.example.org" allows subdomains
}

// unsafeTargets must be rejected by testPolicy.
var unsafeTargets = []string{
	// Empty, or neither a path nor an https URL.
	"",
	"evil.com",
	".evil.com",
	"evil.com/",
	"?x",
	"#x",
	"x/y",
	"./x",
	"../x",

	// Protocol-relative and slash/backslash confusion.
	"//evil.com",
	"///evil.com",
	"////evil.com",
	"//example.com", // even an allowed host: the rule wants a single '/'
	"/\\evil.com",
	"\\\\evil.com",
	"\\/evil.com",
	"/\\/evil.com",
	"/x\\y", // backslashes anywhere
	"https://example.com\\@evil.com",
	"https://evil.com\\.example.com",
	"https:\\\\evil.com",

	// Encoded slashes and backslashes, anywhere, any case.
	"/%2F%2Fevil.com",
	"/%2f/evil.com",
	"/%2F/evil.com",
	"/%5Cevil.com",
	"/%5cevil.com",
	"/login?rd=%2Fx", // %2F is banned anywhere, even in a query
	"https://app.example.com/%2F",
	"https://example.com%2F@evil.com",
	"https://example.com%2Fevil.com",

	// Double encoding and malformed escapes.
	"/%252F%252Fevil.com",
	"/%255Cevil.com",
	"/100%25",
	"/%",
	"/%2",
	"/%zz",
	"/%%2F",

	// Control characters and whitespace, raw and encoded.
	"/%00",
	"/x%00.example.com",
	"https://example.com%00.evil.com",
	"/x%0d%0aSet-Cookie:%20a=b",
	"/x%0D%0ALocation:https://evil.com",
	"/x\r\nSet-Cookie: a=b",
	"/%09/evil.com",
	"//%09evil.com",
	"/\t/evil.com",
	"/x\ty",
	"/x\ny",
	"/x\ry",
	"/\x00",
	"/x\x1f",
	"/x%1F",
	"/x%0b",
	"/x%0C",
	"/search?q=a%20b", // %20 is whitespace
	"/ /evil.com",
	" /x",
	"\t/x",
	"\n/x",
	"/x ",
	"/x\n",
	" https://example.com/",
	"https://example.com/ ",
	"https://exa mple.com/",
	"/x\x7f",
	"/x%7f",
	"/x%7F",

	// Non-ASCII bytes.
	"/\u00e9",
	"/\xff",
	"/\xc0\xaf",
	"https://\u0435xample.com/", // Cyrillic е
	"https://\u0435xample.com",
	"https://app.\u0435xample.com", // Cyrillic е in a subdomain of nothing
	"https://example.com\u3002evil.com",
	"https://ｅxample.com/", // fullwidth e

	// Other schemes, in any case, and non-lowercase https.
	"javascript:alert(1)",
	"JavaScript:alert(1)",
	"javascript://example.com/%0aalert(1)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"http://app.example.com/",
	"http://auth.example.com/",
	"HTTPS://app.example.com",
	"Https://app.example.com",
	"ftp://example.com/",
	"file:///etc/passwd",
	"https:evil.com",
	"https:/evil.com",
	"https:example.com",
	"https://",
	"https:///evil.com",
	"https:///example.com",

	// Userinfo.
	"https://example.com@evil.com",
	"https://user:pass@app.example.com/",
	"https://user@app.example.com/",
	"https://@example.com/",
	"https://evil.com#@example.com",
	"https://evil.com?@example.com",
	"https://evil.com/@example.com",

	// Lookalike and suffix-confused hosts.
	"https://example.com.evil.com",
	"https://auth.example.com.evil.com/",
	"https://example.org.evil.com/",
	"https://evilexample.com",
	"https://evil-example.com",
	"https://notexample.org/",
	"https://example.co",
	"https://example.comm/",
	"https://xn--xample-2of.com/", // punycode of the Cyrillic lookalike
	"https://evil.com/.example.com",
	"https://evil_example.com/",
	"https://localhost/",

	// IP literals and numeric hosts.
	"https://127.0.0.1/",
	"https://[::1]/",
	"https://[::ffff:127.0.0.1]/",
	"https://2130706433/",
	"https://0x7f000001/",
	"https://0x7f.1/",
	"https://0177.0.0.1/",
	"https://example.com.1/",
	"https://example.0x1/",

	// Ports, even the default one.
	"https://example.com:443/",
	"https://example.com:8443/",
	"https://example.com:0/",
	"https://example.com:/",
	"https://auth.example.com:9440/",

	// Malformed hosts.
	"https://example.com./",
	"https://example.com.",
	"https://.example.com/",
	"https://a..example.com/",
	"https://.",
}

func TestSafe(t *testing.T) {
	p := testPolicy(t)
	for _, s := range safeTargets {
		if got := p.Safe(s); !got {
			t.Errorf("Safe(%q) = %v; want %v", s, got, true)
		}
	}
	for _, s := range unsafeTargets {
		if got := p.Safe(s); got {
			t.Errorf("Safe(%q) = %v; want %v", s, got, false)
		}
	}
	if len(unsafeTargets) < 60 || len(safeTargets) < 15 {
		t.Errorf("tables too small: %d unsafe, %d safe", len(unsafeTargets), len(safeTargets))
	}
}

// A local portal on an http IP address accepts its own relative paths, but
// no absolute URL to itself: only https names can match.
func TestSafeLocalPortal(t *testing.T) {
	p, err := New("http://127.0.0.1:9440", nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"/x", true},
		{"/", true},
		{"https://127.0.0.1/", false},
		{"https://127.0.0.1:9440/", false},
		{"http://127.0.0.1:9440/", false},
		{"https://example.com/", false},
		{"//127.0.0.1:9440/", false},
	}
	for _, tt := range tests {
		if got := p.Safe(tt.in); got != tt.want {
			t.Errorf("Safe(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// The zero Policy, and a nil one, accept relative paths only.
func TestSafeZeroPolicy(t *testing.T) {
	for _, p := range []*Policy{{}, nil} {
		for _, tt := range []struct {
			in   string
			want bool
		}{
			{"/x", true},
			{"https://example.com/", false},
			{"//evil.com", false},
		} {
			if got := p.Safe(tt.in); got != tt.want {
				t.Errorf("(%v).Safe(%q) = %v; want %v", p, tt.in, got, tt.want)
			}
		}
	}
}

func TestTarget(t *testing.T) {
	p := testPolicy(t)
	const fallback = "/login?loggedOut=1"
	for _, s := range safeTargets {
		if got := p.Target(s, fallback); got != s {
			t.Errorf("Target(%q, %q) = %q; want %q", s, fallback, got, s)
		}
	}
	for _, s := range unsafeTargets {
		if got := p.Target(s, fallback); got != fallback {
			t.Errorf("Target(%q, %q) = %q; want %q", s, fallback, got, fallback)
		}
	}
}

func TestNewNormalizesDomains(t *testing.T) {
	p, err := New("https://Auth.Example.NET/base", []string{"EXAMPLE.com", ".example.org", "*.Example.io", "localhost"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, s := range []string{
		"https://auth.example.net/",
		"https://x.example.com/",
		"https://example.org/",
		"https://a.b.example.io/",
		"https://localhost/",
		"https://app.localhost/",
	} {
		if !p.Safe(s) {
			t.Errorf("Safe(%q) = false; want true", s)
		}
	}
	// The portal's own host is matched exactly, without subdomains.
	if s := "https://x.auth.example.net/"; p.Safe(s) {
		t.Errorf("Safe(%q) = true; want false", s)
	}
}

var newErrorTests = []struct {
	publicURL string
	domains   []string
}{
	{"", nil},
	{"::bad", nil},
	{"https://auth.example.com/%zz", nil},
	{"auth.example.com", nil},
	{"/relative", nil},
	{"ftp://auth.example.com", nil},
	{"https://", nil},
	{"https:auth.example.com", nil},
	{"https://user@auth.example.com", nil},
	{testPublicURL, []string{""}},
	{testPublicURL, []string{"*."}},
	{testPublicURL, []string{"."}},
	{testPublicURL, []string{"*"}},
	{testPublicURL, []string{"*example.com"}},
	{testPublicURL, []string{"*.*.example.com"}},
	{testPublicURL, []string{"..example.com"}},
	{testPublicURL, []string{"example.com/"}},
	{testPublicURL, []string{"example.com/path"}},
	{testPublicURL, []string{"https://example.com"}},
	{testPublicURL, []string{"example.com:443"}},
	{testPublicURL, []string{"exa mple.com"}},
	{testPublicURL, []string{" example.com"}},
	{testPublicURL, []string{"example..com"}},
	{testPublicURL, []string{"example.com."}},
	{testPublicURL, []string{"user@example.com"}},
	{testPublicURL, []string{"127.0.0.1"}},
	{testPublicURL, []string{"[::1]"}},
	{testPublicURL, []string{"0x7f000001"}},
	{testPublicURL, []string{"\u0435xample.com"}},
	{testPublicURL, []string{"\u212Aexample.com"}}, // Kelvin sign lowercases to 'k'
	{testPublicURL, []string{"example.com", "bad/"}},
}

func TestNewErrors(t *testing.T) {
	for _, tt := range newErrorTests {
		if p, err := New(tt.publicURL, tt.domains); err == nil {
			t.Errorf("New(%q, %q) = %+v, nil; want error", tt.publicURL, tt.domains, p)
		}
	}
}

func FuzzSafe(f *testing.F) {
	for _, s := range safeTargets {
		f.Add(s)
	}
	for _, s := range unsafeTargets {
		f.Add(s)
	}
	p := testPolicy(f)
	forbidden := forbiddenEscapes()
	base, err := url.Parse(testPublicURL + "/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !p.Safe(s) {
			return
		}
		if p.Target(s, "/fallback") != s {
			t.Fatalf("Target(%q) did not return its input", s)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x21 || c == 0x7f || c >= 0x80 || c == '\\' {
				t.Fatalf("Safe(%q) = true; byte %#x at %d is forbidden", s, c, i)
			}
		}
		lower := strings.ToLower(s)
		for _, bad := range forbidden {
			if strings.Contains(lower, bad) {
				t.Fatalf("Safe(%q) = true; contains %q", s, bad)
			}
		}
		checkHost(t, base, s)
		// Browsers treat '\' as '/' in special URLs; the result must still
		// stay on an allowed host.
		checkHost(t, base, strings.ReplaceAll(s, "\\", "/"))
	})
}

// checkHost fails unless s, as a browser would resolve it against base,
// lands on one of testHosts or their subdomains.
func checkHost(t *testing.T, base *url.URL, s string) {
	t.Helper()
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
			t.Fatalf("Safe(%q) = true; want a single leading slash", s)
		}
		u, err := base.Parse(s)
		if err != nil {
			t.Fatalf("Safe(%q) = true; resolve: %v", s, err)
		}
		if u.Host != base.Host {
			t.Fatalf("Safe(%q) = true; resolves to host %q", s, u.Host)
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("Safe(%q) = true; parse: %v", s, err)
	}
	if u.Scheme != "https" || u.User != nil || u.Port() != "" || u.Opaque != "" {
		t.Fatalf("Safe(%q) = true; scheme %q, user %v, port %q, opaque %q", s, u.Scheme, u.User, u.Port(), u.Opaque)
	}
	h := strings.ToLower(u.Hostname())
	for _, a := range testHosts {
		if h == a || strings.HasSuffix(h, "."+a) {
			return
		}
	}
	t.Fatalf("Safe(%q) = true; host %q is not allowed", s, h)
}

// forbiddenEscapes lists the lowercase percent-escapes the rule bans.
func forbiddenEscapes() []string {
	const hex = "0123456789abcdef"
	bad := []string{"%2f", "%5c", "%7f", "%20", "%25"}
	for b := 0; b < 0x20; b++ {
		bad = append(bad, "%"+string(hex[b>>4])+string(hex[b&15]))
	}
	return bad
}

var benchTargets = []struct {
	name, target string
}{
	{"Relative", "/dashboard/sessions?page=2#top"},
	{"Absolute", "https://app.sub.example.com/path/to/page?q=1&r=%C3%A9"},
	{"Rejected", "https://example.com.evil.com/"},
}

func BenchmarkSafe(b *testing.B) {
	p := testPolicy(b)
	for _, bt := range benchTargets {
		b.Run(bt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Safe(bt.target)
			}
		})
	}
}
