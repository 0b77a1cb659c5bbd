package e2e

import (
	"net/http"
	"net/url"
	"testing"
)

// redirectConfig allows example.com and its subdomains.
const redirectConfig = "public_url: https://auth.example.com\nredirect:\n  allowed_domains: [example.com]\n"

// redirectTargets are tried through the real endpoints; want is whether the
// portal may follow them.
var redirectTargets = []struct {
	target string
	want   bool
}{
	{"/", true},
	{"/help", true},
	{"/a/b?c=d#e", true},
	{"https://example.com/", true},
	{"https://app.example.com/path?q=1", true},
	{"https://auth.example.com/", true},
	{"//evil.com", false},
	{"///evil.com", false},
	{"/\\evil.com", false},
	{"\\\\evil.com", false},
	{"https://example.com@evil.com/", false},
	{"https://evil.com\\@example.com", false},
	{"https://example.com.evil.com/", false},
	{"https://evilexample.com/", false},
	{"http://app.example.com/", false},
	{"HTTPS://app.example.com/", false},
	{"javascript:alert(1)", false},
	{"JaVaScRiPt:alert(1)", false},
	{"data:text/html,<script>alert(1)</script>", false},
	{"/%2F%2Fevil.com", false},
	{"/%5Cevil.com", false},
	{"/x%00y", false},
	{"/x%0d%0aSet-Cookie:a=b", false},
	{"/\t/evil.com", false},
	{" /help", false},
	{"https://app.example.com:8443/", false},
	{"https://app.example.com:443/", false},
	{"https://example.com./", false},
	{"https://127.0.0.1/", false},
	{"https://[::1]/", false},
	{"https://2130706433/", false},
	{"https://еxample.com/", false}, // Cyrillic е
	{"evil.com", false},
	{"https:evil.com", false},
	{"", false},
}

// TestRedirectTargets runs the redirect rule through GET /logout?rd= (no
// session: 303 to rd if safe, else /login), and through the targetURL of the
// JSON sign-out.
func TestRedirectTargets(t *testing.T) {
	t.Parallel()
	p := startPortal(t, redirectConfig)
	for _, tt := range redirectTargets {
		res := p.do(request{method: "GET", path: "/logout?rd=" + url.QueryEscape(tt.target)})
		want := "/login"
		if tt.want {
			want = tt.target
		}
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("GET /logout?rd=%q = %d to %q; want 303 to %q", tt.target, res.StatusCode, res.Header.Get("Location"), want)
		}

		body := p.do(request{method: "POST", path: "/api/logout", body: map[string]string{"targetURL": tt.target}}).json(t)
		want = "/login?loggedOut=1"
		if tt.want {
			want = tt.target
		}
		if body["redirect"] != want || body["targetRejected"] != (tt.target != "" && !tt.want) {
			t.Errorf("POST /api/logout targetURL %q = %v; want redirect %q", tt.target, body, want)
		}
	}
}

// TestLoginRedirect: the JSON sign-in and the form send the person to the
// safe target and nowhere else.
func TestLoginRedirect(t *testing.T) {
	t.Parallel()
	p := startPortal(t, redirectConfig)
	p.addUser("gil@example.com")
	for _, tt := range []struct {
		target, want string
	}{
		{"https://app.example.com/x", "https://app.example.com/x"},
		{"//evil.com", "/"},
		{"https://evil.com/", "/"},
	} {
		body := p.do(request{method: "POST", path: "/api/login", body: map[string]any{
			"email": "gil@example.com", "password": testPassword, "targetURL": tt.target}}).json(t)
		if body["redirect"] != tt.want {
			t.Errorf("login targetURL %q: redirect = %v; want %q", tt.target, body["redirect"], tt.want)
		}
		res := p.do(request{method: "POST", path: "/login",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:   url.Values{"email": {"gil@example.com"}, "password": {testPassword}, "rd": {tt.target}}.Encode()})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tt.want {
			t.Errorf("form login rd %q = %d to %q; want 303 to %q", tt.target, res.StatusCode, res.Header.Get("Location"), tt.want)
		}
	}
}
