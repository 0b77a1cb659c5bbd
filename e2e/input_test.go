package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBadInput: malformed JSON, oversized bodies, wrong methods and unknown
// routes get clear errors, and none of them changes stored state.
func TestBadInput(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("hal@example.com")
	secret := p.login("hal@example.com")
	eventsBefore := p.auditEvents("--limit", "1000")
	sessionsBefore := p.sessionLines()

	big := `{"email":"hal@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name         string
		req          request
		status       int
		code         string // JSON error code; "" for an HTML answer
		allowPresent bool
	}{
		{"malformed login", request{method: "POST", path: "/api/login", body: `{"email":`}, 400, "invalid_request", false},
		{"login not an object", request{method: "POST", path: "/api/login", body: `[1,2]`}, 400, "invalid_request", false},
		{"login trailing data", request{method: "POST", path: "/api/login", body: `{} {}`}, 400, "invalid_request", false},
		{"malformed logout", request{method: "POST", path: "/api/logout", cookie: secret, body: `{"targetURL":`}, 400, "invalid_request", false},
		{"oversized login", request{method: "POST", path: "/api/login", body: big}, 413, "request_too_large", false},
		{"oversized logout", request{method: "POST", path: "/api/logout", cookie: secret, body: big}, 413, "request_too_large", false},
		{"oversized form logout", request{method: "POST", path: "/logout", cookie: secret, body: "rd=" + strings.Repeat("a", 70<<10),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 413, "", false},
		{"GET login API", request{method: "GET", path: "/api/login"}, 405, "method_not_allowed", true},
		{"DELETE me", request{method: "DELETE", path: "/api/me", cookie: secret}, 405, "method_not_allowed", true},
		{"PUT logout page", request{method: "PUT", path: "/logout", cookie: secret}, 405, "", true},
		{"unknown API route", request{method: "GET", path: "/api/nope"}, 404, "not_found", false},
		{"unknown page", request{method: "GET", path: "/nope"}, 404, "", false},
	}
	for _, tt := range tests {
		res := p.do(tt.req)
		if res.StatusCode != tt.status {
			t.Errorf("%s: status = %d; want %d (%s)", tt.name, res.StatusCode, tt.status, res.Body)
			continue
		}
		if tt.code != "" {
			body := res.json(t)
			if body["error"] != tt.code || body["message"] == "" {
				t.Errorf("%s: body = %v; want error %q with a message", tt.name, body, tt.code)
			}
		} else if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type = %q; want an HTML page", tt.name, ct)
		}
		if tt.allowPresent && res.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", tt.name)
		}
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: bad input set a cookie %v", tt.name, res.Header["Set-Cookie"])
		}
	}

	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("session after bad input: /api/me = %d; want 200", got)
	}
	if after := p.auditEvents("--limit", "1000"); len(after) != len(eventsBefore) {
		t.Errorf("bad input wrote audit events: %d before, %d after:\n%s", len(eventsBefore), len(after), strings.Join(after, "\n"))
	}
	if after := p.sessionLines(); strings.Join(after, "\n") != strings.Join(sessionsBefore, "\n") {
		t.Errorf("bad input changed sessions:\nbefore %q\nafter  %q", sessionsBefore, after)
	}
}

// TestAnonymousGetsNoCookie: requests without a session never create one
// and never receive Set-Cookie.
func TestAnonymousGetsNoCookie(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	for _, path := range []string{"/", "/login", "/login?rd=/help", "/help", "/help/logout", "/logout", "/api/me",
		"/healthz", "/readyz", "/static/style.css", "/nope", "/api/nope", "/setup?token=x"} {
		res := p.do(request{method: "GET", path: path})
		if c := res.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("anonymous GET %s got Set-Cookie %q", path, c)
		}
	}
	if lines := p.sessionLines(); len(lines) != 0 {
		t.Errorf("anonymous requests created sessions: %q", lines)
	}
}

// TestUnknownCookiesThrottled: an address that keeps sending session
// cookies naming no session gets 429 for its cookies, while sign-in and
// anonymous requests still work.
func TestUnknownCookiesThrottled(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_unknown_cookies: 5\n")
	p.addUser("gus@example.com")
	for i := 0; i < 5; i++ {
		if got := p.meStatus(fmt.Sprintf("%043d", i)); got != http.StatusUnauthorized {
			t.Fatalf("unknown cookie %d: /api/me = %d; want 401", i, got)
		}
	}
	res := p.do(request{method: "GET", path: "/api/me", cookie: strings.Repeat("x", 43)})
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("6th unknown cookie: /api/me = %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if body := res.json(t); body["error"] != "too_many_attempts" {
		t.Errorf("6th unknown cookie: error %v; want too_many_attempts", body["error"])
	}
	if got := p.do(request{method: "GET", path: "/healthz"}).StatusCode; got != http.StatusOK {
		t.Errorf("anonymous request from the throttled address = %d; want 200", got)
	}
	p.login("gus@example.com") // signing in needs no cookie and still works
}
