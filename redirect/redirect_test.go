package redirect

import "testing"

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

	// Deep links: percent-encodings other than control characters are kept
	// byte for byte, wherever they do not start a path.
	"https://app.example.com/search?q=two%20words",
	"https://app.example.com/docs/a%2Fb",
	"https://app.example.com/a/%2F",      // an encoded slash later in the path
	"https://app.example.com/a/%5Cb",     // an encoded backslash likewise
	"https://app.example.com/sale/50%25", // an encoded percent
	"https://app.example.com/?next=%25",  // in a query
	"https://app.example.com/?q=%2F%2Fx", // the query is the app's own
	"https://app.example.com/x?q=%252F",  // double encoding outside the path start
	"https://app.example.com/caf%C3%A9?x=%C3%A9#%C3%A9",
	"https://app.example.com/x#%2F%2Fevil.com", // a fragment never leaves the page
	"https://app.example.com/./x",
	"https://app.example.com/a/../b",
	"/docs/a%2Fb",
	"/a%2F%2Fb",  // '%2F' inside the first segment, not at its start
	"/a%25b",     // '%25' inside it
	"/x/%25",     // '%25' starting a later segment
	"/?next=%25", // in a query
	"/x?%2F%2Fevil.com",
	"/a/..", // climbs back to the root
	"/./x",
	"/%2e/x",      // a dot segment written encoded
	"/x/%2E%2E/y", // likewise, ".."
	"/x//y",       // an empty segment later in the path
	// Refused by the earlier rule, which banned %2F, %25 and %20 anywhere;
	// the contract now keeps them (issue 14).
	"/login?rd=%2Fx",
	"/100%25",
	"/search?q=a%20b",
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

	// Encoded slashes and backslashes where a path starts, any case.
	"/%2F%2Fevil.com",
	"/%2f/evil.com",
	"/%2F/evil.com",
	"/%5Cevil.com",
	"/%5cevil.com",
	"https://app.example.com/%2F", // the path of an absolute URL starts there too
	"https://example.com%2F@evil.com",
	"https://example.com%2Fevil.com",
	"https://app.example.com/%5Cevil.com",
	"https://app.example.com/%2f%2fevil.com",
	"https://app.example.com//evil.com",
	"https://app.example.com?x=1#%0a",

	// The same once dot segments are removed, as browsers remove them.
	"/x/..//evil.com",
	"/x/../%2Fevil.com",
	"/./%2Fevil.com",
	"/.//evil.com",
	"/%2e%2e/%2Fevil.com",
	"/%2E/%5Cevil.com",
	"/.%2e/%2f%2fevil.com",
	"/a/b/../../%2Fevil.com",
	"/../..//evil.com",
	"https://app.example.com/%2e%2e/%2Fevil.com",
	"https://app.example.com/x/..//evil.com",

	// Double encoding where a path starts, and malformed escapes.
	"/%252F%252Fevil.com",
	"/%255Cevil.com",
	"/%25%32F%25%32Fevil.com", // '%' then "2F" spelled "%32F"
	"/%25252Fevil.com",
	"/x/../%252Fevil.com",
	"https://app.example.com/%252F%252Fevil.com",
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
	"/search?q=a%0Ab", // an encoded control character in a query
	"/x#%00",
	"https://app.example.com/x?q=%7f",
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
