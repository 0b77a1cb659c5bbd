package access_test

import (
	"strings"
	"testing"

	"github.com/lacop/lacop/access"
)

var parseHostTests = []struct {
	in, want string // want "" for a refusal
}{
	{"app.example.com", "app.example.com"},
	{"APP.Example.COM", "app.example.com"},
	{"app.example.com.", "app.example.com"},
	{"app.example.com:8443", "app.example.com"},
	{"app.example.com.:443", "app.example.com"},
	{"localhost", "localhost"},
	{"192.0.2.1:80", "192.0.2.1"},
	{"_srv.example.com", "_srv.example.com"},
	{"[2001:DB8::1]", "[2001:db8::1]"},
	{"[2001:db8::1]:443", "[2001:db8::1]"},
	{strings.Repeat("a", 63) + ".example.com", strings.Repeat("a", 63) + ".example.com"},
	{"", ""},
	{".", ""},
	{":443", ""},
	{"app.example.com..", ""},
	{"app.example.com..:443", ""},
	{"app..example.com", ""},
	{".app.example.com", ""},
	{strings.Repeat("a", 64) + ".example.com", ""},
	{strings.Repeat("a.", 127) + "ab", ""}, // 255 characters
	{"app.example.com:", ""},
	{"app.example.com:65536", ""},
	{"app.example.com:80:80", ""},
	{"app.example.com:x", ""},
	{"user@app.example.com", ""},
	{"app.example.com/x", ""},
	{"app example.com", ""},
	{"app.exämple.com", ""},
	{"[2001:db8::1", ""},
	{"[192.0.2.1]", ""},
	{"[fe80::1%eth0]", ""},
	{"[2001:db8::1]x", ""},
	{"[2001:db8::1]:99999", ""},
}

func TestParseHost(t *testing.T) {
	for _, tt := range parseHostTests {
		got, err := access.ParseHost(tt.in)
		if tt.want == "" && err == nil {
			t.Errorf("ParseHost(%q) = %q; want an error", tt.in, got)
		}
		if tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("ParseHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

var parseResourceTests = []struct {
	in, want string // want "" for a refusal
}{
	{"/", "/"},
	{"/admin", "/admin"},
	{"/public/", "/public/"},
	{"/.well-known/", "/.well-known/"},
	{"/caf%C3%A9/", "/café/"},
	{"/café/", "/café/"},
	{"/%61dmin", "/admin"},
	{"/a%20b", "/a b"},
	{"/Admin;x", "/Admin;x"},
	{"", ""},
	{"admin", ""},
	{"/a/../b", ""},
	{"/a/./b", ""},
	{"/a/.", ""},
	{"//admin", ""},
	{"/admin?x=1", ""},
	{"/admin#x", ""},
	{"/a%2Fb", ""},
	{`/a\b`, ""},
	{"/a%zz", ""},
	{"/a b", ""},
	{"/..", ""},
}

func TestParseResource(t *testing.T) {
	for _, tt := range parseResourceTests {
		got, err := access.ParseResource(tt.in)
		if tt.want == "" && err == nil {
			t.Errorf("ParseResource(%q) = %q; want an error", tt.in, got)
		}
		if tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("ParseResource(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestNewResources: New refuses a prefix that is not a plain path, and
// matches a decoded one against requests however they spell it.
func TestNewResources(t *testing.T) {
	if _, err := access.New("one_factor", []access.Rule{{Domain: "a.example.com", Policy: "deny", Resources: []string{"/x/../admin"}}}); err == nil {
		t.Error(`New with resource "/x/../admin": no error`)
	}
	rules, err := access.New("one_factor", []access.Rule{
		{Domain: "a.example.com", Policy: "deny", Resources: []string{"/caf%C3%A9/", "/Admin"}},
		{Domain: "a.example.com", Policy: "bypass", Resources: []string{"/Public/"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want access.Policy
	}{
		{"/café/x", access.Deny},
		{"/caf%c3%a9/x", access.Deny},
		{"/CAF%C3%89/x", access.Deny}, // a case-insensitive upstream
		{"/caf%C3%A9", access.Deny},   // served as the directory by some
		{"/admin", access.Deny},       // "/Admin" is /admin where case does not count
		{"/Public/x", access.Bypass},
		{"/public/x", access.OneFactor}, // not bypassed where case counts
		{"/Public", access.OneFactor},
	} {
		p, err := access.ParsePath(tt.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.path, err)
		}
		if got := rules.Decide("a.example.com", &p, nil); got != tt.want {
			t.Errorf("Decide(a.example.com, %q) = %v; want %v", tt.path, got, tt.want)
		}
	}
}

// TestRuleDomainTrailingDot: a rule written with a trailing dot (config
// validation refuses it, access.New is also used directly) still matches
// its host, which is compared without one.
func TestRuleDomainTrailingDot(t *testing.T) {
	rules, err := access.New("one_factor", []access.Rule{{Domain: "App.Example.com.", Policy: "deny"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := access.ParsePath("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"app.example.com", "app.example.com.", "APP.example.com:443"} {
		if got := rules.Decide(host, &p, nil); got != access.Deny {
			t.Errorf("Decide(%q, \"/\") = %v; want %v", host, got, access.Deny)
		}
	}
}
