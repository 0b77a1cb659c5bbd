package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestSessionTimeouts uses second-scale config: an idle session ends at the
// inactivity timeout; a busy one still ends at the absolute lifetime.
func TestSessionTimeouts(t *testing.T) {
	const idle, lifetime = 2 * time.Second, 5 * time.Second
	p := startPortal(t, "session:\n  inactivity_timeout: 2s\n  lifetime: 5s\n")
	p.addUser("tim@example.com")

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		secret := p.login("tim@example.com")
		if got := p.meStatus(secret); got != http.StatusOK {
			t.Fatalf("fresh session: /api/me = %d", got)
		}
		time.Sleep(idle + 500*time.Millisecond)
		if got := p.meStatus(secret); got != http.StatusUnauthorized {
			t.Errorf("idle past the inactivity timeout: /api/me = %d; want 401", got)
		}
		// An ended session answers 401 from then on, and pages send the
		// person to sign in again, saying why no more than once.
		res := p.do(request{method: "GET", path: "/", cookie: secret})
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("dashboard with the expired cookie = %d; want 303 to /login", res.StatusCode)
		}
	})

	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		secret := p.login("tim@example.com")
		sess := p.do(request{method: "GET", path: "/api/me", cookie: secret}).json(t)["session"].(map[string]any)
		start, err := time.Parse(time.RFC3339Nano, sess["createdAt"].(string))
		if err != nil {
			t.Fatal(err)
		}
		for time.Since(start) < lifetime-700*time.Millisecond {
			if got := p.meStatus(secret); got != http.StatusOK {
				t.Fatalf("busy session after %v: /api/me = %d; want 200 (activity must keep it alive)", time.Since(start), got)
			}
			time.Sleep(300 * time.Millisecond)
		}
		for time.Since(start) < lifetime+500*time.Millisecond {
			p.meStatus(secret)
			time.Sleep(300 * time.Millisecond)
		}
		if got := p.meStatus(secret); got != http.StatusUnauthorized {
			t.Errorf("busy past the absolute lifetime: /api/me = %d; want 401", got)
		}
	})
}

// TestExpiredPageSaysWhy: a page request on a session that just ran out is
// sent to the login page with a note, and the cookie is cleared.
func TestExpiredPageSaysWhy(t *testing.T) {
	p := startPortal(t, "session:\n  inactivity_timeout: 1s\n")
	p.addUser("una@example.com")
	secret := p.login("una@example.com")
	time.Sleep(1500 * time.Millisecond)
	res := p.do(request{method: "GET", path: "/", cookie: secret})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/login?expired=1&rd=%2F" {
		t.Fatalf("expired dashboard = %d to %q; want 303 to /login?expired=1&rd=%%2F", res.StatusCode, loc)
	}
	wantDeletingCookie(t, res.Response, cookieName, "")
	if n := len(p.auditEvents("--type", "session.expired")); n != 1 {
		t.Errorf("session.expired events = %d; want 1", n)
	}
}
