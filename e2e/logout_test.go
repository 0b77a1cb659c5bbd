package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestSignOutEndsOnlyThatDevice signs in on two devices, signs one out, and
// replays its cookie.
func TestSignOutEndsOnlyThatDevice(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ada@example.com")
	laptop, phone := p.login("ada@example.com"), p.login("ada@example.com")
	if laptop == phone {
		t.Fatal("two sign-ins got the same secret")
	}
	for _, s := range []string{laptop, phone} {
		if got := p.meStatus(s); got != http.StatusOK {
			t.Fatalf("before sign-out: /api/me = %d; want 200", got)
		}
	}

	res := p.do(request{method: "POST", path: "/api/logout", cookie: laptop})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d %s; want 200", res.StatusCode, res.Body)
	}
	if got := p.meStatus(laptop); got != http.StatusUnauthorized {
		t.Errorf("replayed signed-out cookie: /api/me = %d; want 401", got)
	}
	if got := p.meStatus(phone); got != http.StatusOK {
		t.Errorf("other device after sign-out: /api/me = %d; want 200", got)
	}
	// Signing in again on the laptop does not bring the old secret back.
	p.login("ada@example.com")
	if got := p.meStatus(laptop); got != http.StatusUnauthorized {
		t.Errorf("old cookie after a new sign-in: /api/me = %d; want 401", got)
	}
}

// wantDeletingCookie checks a Set-Cookie that deletes the session cookie with
// exactly the attributes it was set with.
func wantDeletingCookie(t *testing.T, res *http.Response, name, domain string) {
	t.Helper()
	raw := res.Header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie = %q; want exactly one deleting cookie", raw)
	}
	c := sessionCookie(res)
	if c == nil || c.Name != name {
		t.Fatalf("Set-Cookie = %q; want cookie %s", raw, name)
	}
	if c.Value != "" || c.MaxAge >= 0 || !strings.Contains(raw[0], "Max-Age=0") {
		t.Errorf("deleting cookie %q: want empty value and Max-Age=0", raw[0])
	}
	if !strings.Contains(raw[0], "Expires=Thu, 01 Jan 1970 00:00:00 GMT") {
		t.Errorf("deleting cookie %q: want an Expires in the past", raw[0])
	}
	wantCookieFlags(t, raw[0], c, domain)
}

func wantCookieFlags(t *testing.T, raw string, c *http.Cookie, domain string) {
	t.Helper()
	if c.Path != "/" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %q: want Path=/; Secure; HttpOnly; SameSite=Lax", raw)
	}
	if c.Domain != domain {
		t.Errorf("cookie %q: Domain = %q; want %q", raw, c.Domain, domain)
	}
	if domain == "" && strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("host-only cookie %q carries a Domain", raw)
	}
}

// TestCookieAttributes checks the session cookie as set and as deleted, for
// host-only and for shared-domain configurations.
func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, config, cookie, domain string
	}{
		{"host-only", "", "__Host-lacop_session", ""},
		{"shared domain", "public_url: https://auth.example.com\nsession:\n  cookie_domain: example.com\n",
			"__Secure-lacop_session", "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPortal(t, tt.config)
			p.addUser("bea@example.com")
			res := p.do(request{method: "POST", path: "/api/login",
				body: map[string]any{"email": "bea@example.com", "password": testPassword}})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("login = %d %s", res.StatusCode, res.Body)
			}
			raw := sessionSetCookies(res.Response) // the device cookie aside
			c := sessionCookie(res.Response)
			if len(raw) != 1 || c == nil || c.Name != tt.cookie {
				t.Fatalf("login Set-Cookie = %q; want one %s", raw, tt.cookie)
			}
			if len(c.Value) != 43 {
				t.Errorf("secret %q: want 43 characters (32 bytes base64url)", c.Value)
			}
			if c.MaxAge != 0 || !c.Expires.IsZero() {
				t.Errorf("login without remember-me set a persistent cookie: %q", raw[0])
			}
			wantCookieFlags(t, raw[0], c, tt.domain)
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("login Cache-Control = %q; want no-store", got)
			}

			// The cookie must come back under its own name.
			req, _ := http.NewRequest("POST", p.URL+"/api/logout", nil)
			req.AddCookie(&http.Cookie{Name: tt.cookie, Value: c.Value})
			out, err := p.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Body.Close()
			if out.StatusCode != http.StatusOK {
				t.Fatalf("logout = %d", out.StatusCode)
			}
			wantDeletingCookie(t, out, tt.cookie, tt.domain)
			if got := out.Header.Get("Clear-Site-Data"); got != `"cache", "cookies", "storage"` {
				t.Errorf("Clear-Site-Data = %q", got)
			}
			if got := out.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("logout Cache-Control = %q; want no-store", got)
			}
			if n := len(p.auditEvents("--type", "logout")); n != 1 {
				t.Errorf("logout audit events = %d; want 1", n)
			}
		})
	}
}

// TestRememberMeCookie: a remember-me session survives a browser restart
// until its absolute end, and only then.
func TestRememberMeCookie(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "session:\n  remember_me_lifetime: 48h\n")
	p.addUser("cy@example.com")
	res := p.do(request{method: "POST", path: "/api/login",
		body: map[string]any{"email": "cy@example.com", "password": testPassword, "rememberMe": true}})
	c := sessionCookie(res.Response)
	if c == nil || c.MaxAge != 48*3600 {
		t.Fatalf("remember-me cookie %v; want Max-Age=%d", res.Header["Set-Cookie"], 48*3600)
	}
}

// TestPlantedCookieNotAdopted: a secret chosen by an attacker and sent to the
// login endpoint never becomes a session.
func TestPlantedCookieNotAdopted(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("dan@example.com")
	planted := strings.Repeat("A", 43)
	res := p.do(request{method: "POST", path: "/api/login", cookie: planted,
		body: map[string]any{"email": "dan@example.com", "password": testPassword}})
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || c == nil {
		t.Fatalf("login = %d %v", res.StatusCode, res.Header["Set-Cookie"])
	}
	if c.Value == planted {
		t.Fatal("login adopted the planted secret")
	}
	if got := p.meStatus(planted); got != http.StatusUnauthorized {
		t.Errorf("planted secret after login: /api/me = %d; want 401", got)
	}
	if got := p.meStatus(c.Value); got != http.StatusOK {
		t.Errorf("issued secret: /api/me = %d; want 200", got)
	}

	// The same through the HTML form.
	res = p.do(request{method: "POST", path: "/login", cookie: planted,
		body:   "email=dan%40example.com&password=" + testPassword,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	c = sessionCookie(res.Response)
	if res.StatusCode != http.StatusSeeOther || c == nil || c.Value == planted {
		t.Fatalf("form login = %d, cookie %v; want 303 with a fresh secret", res.StatusCode, c)
	}
}

// TestSignOutWithoutSession: every sign-out form answers normally and clears
// the cookie when there is no session or a dead one.
func TestSignOutWithoutSession(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	dead := strings.Repeat("Z", 43)
	for _, secret := range []string{"", dead, "garbage"} {
		res := p.do(request{method: "POST", path: "/api/logout", cookie: secret})
		if res.StatusCode != http.StatusOK {
			t.Errorf("POST /api/logout with cookie %q = %d; want 200", secret, res.StatusCode)
		}
		body := res.json(t)
		if body["redirect"] != "/login?loggedOut=1" || body["targetRejected"] != false {
			t.Errorf("POST /api/logout body = %v", body)
		}
		wantDeletingCookie(t, res.Response, cookieName, "")

		res = p.do(request{method: "POST", path: "/logout", cookie: secret,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "rd=%2Fhelp"})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
			t.Errorf("POST /logout = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
		}
		wantDeletingCookie(t, res.Response, cookieName, "")
	}
	res := p.do(request{method: "GET", path: "/logout?rd=/help", cookie: dead})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
		t.Errorf("GET /logout with a dead cookie = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
	}
	wantDeletingCookie(t, res.Response, cookieName, "")
}

// TestGetLogoutNeverEndsSession: GET /logout shows a confirmation page with a
// POST form and leaves the session alive; the form's POST ends it.
func TestGetLogoutNeverEndsSession(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("eve@example.com")
	secret := p.login("eve@example.com")
	res := p.do(request{method: "GET", path: "/logout?rd=/help", cookie: secret})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /logout = %d; want 200", res.StatusCode)
	}
	page := string(res.Body)
	if !strings.Contains(page, `<form method="post" action="/logout">`) || !strings.Contains(page, `name="rd" value="/help"`) {
		t.Errorf("GET /logout page has no POST form carrying rd:\n%s", page)
	}
	if len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("GET /logout with a live session set a cookie: %v", res.Header["Set-Cookie"])
	}
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Fatalf("after GET /logout: /api/me = %d; want 200 (GET must not sign out)", got)
	}
	res = p.do(request{method: "POST", path: "/logout", cookie: secret, body: "rd=%2Fhelp",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
		t.Errorf("POST /logout = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
	}
	if got := p.meStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("after POST /logout: /api/me = %d; want 401", got)
	}
}

// TestCrossOriginRefused: a browser POST from another site gets 403 and
// changes nothing.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("fay@example.com")
	secret := p.login("fay@example.com")
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
	} {
		for _, path := range []string{"/api/logout", "/logout", "/api/login", "/login"} {
			res := p.do(request{method: "POST", path: path, cookie: secret, header: h, body: "{}"})
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %v = %d; want 403", path, h, res.StatusCode)
			}
		}
	}
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("session after refused cross-origin sign-outs: /api/me = %d; want 200", got)
	}
	// The same request from the portal's own pages works.
	res := p.do(request{method: "POST", path: "/api/logout", cookie: secret, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if res.StatusCode != http.StatusOK {
		t.Errorf("same-origin logout = %d; want 200", res.StatusCode)
	}
}
