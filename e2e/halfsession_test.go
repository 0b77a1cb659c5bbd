package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// halfConfig lets sign-in send people to apps under example.com.
const halfConfig = "public_url: https://auth.example.com\nredirect:\n  allowed_domains: [example.com]\n"

// TestHalfSessionIsSentToItsStep: a session that still owes the second
// factor, or an enrolment the policy requires, is sent to that step by the
// login page and the sign-in form, never to rd, whose app would only send
// it back through forward-auth.
func TestHalfSessionIsSentToItsStep(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com/reports?week=2"
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	t.Run("second factor", func(t *testing.T) {
		p := startPortal(t, halfConfig).forTest(t)
		p.addUser("hal@example.com")
		p.enrolTOTP(p.login("hal@example.com"))
		half := p.halfLogin("hal@example.com")

		// The loop the issue saw: the app's forward-auth sends the half
		// session to the login page, which must not send it back.
		fa := p.forwardAuth("GET", app, map[string]string{"Cookie": cookieName + "=" + half, "Accept": "text/html"})
		wantLoginRedirect(t, "forward-auth with a half session", fa, "https://auth.example.com", app)
		want := "/login/second-factor?rd=" + url.QueryEscape(app)
		for i := 0; i < 2; i++ {
			res := p.do(request{method: "GET", path: "/login?rd=" + url.QueryEscape(app), cookie: half})
			if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want {
				t.Errorf("GET /login?rd=app with a half session = %d to %q; want 303 to %q", res.StatusCode, loc, want)
			}
		}
		res := p.do(request{method: "POST", path: "/login", header: form,
			body: url.Values{"email": {"hal@example.com"}, "password": {testPassword}, "rd": {app}}.Encode()})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("form sign-in owing the second factor = %d to %q; want 303 to %q", res.StatusCode, loc, want)
		}
	})

	t.Run("enrolment", func(t *testing.T) {
		p := startPortal(t, halfConfig+"auth:\n  require_second_factor: true\n").forTest(t)
		p.addUser("ena@example.com")
		const want = "/security?enrol=1"
		res := p.do(request{method: "POST", path: "/login", header: form,
			body: url.Values{"email": {"ena@example.com"}, "password": {testPassword}, "rd": {app}}.Encode()})
		c := sessionCookie(res.Response)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want || c == nil {
			t.Fatalf("form sign-in owing an enrolment = %d to %q; want 303 to %q with a cookie", res.StatusCode, loc, want)
		}
		res = p.do(request{method: "GET", path: "/login?rd=" + url.QueryEscape(app), cookie: c.Value})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("GET /login?rd=app owing an enrolment = %d to %q; want 303 to %q", res.StatusCode, loc, want)
		}
	})
}

// TestHalfSessionSeesNoIdentity: pages readable by anyone show the
// account (email, name, the signed-in menu) only to a fully signed-in
// session, never to one that has given only the password.
func TestHalfSessionSeesNoIdentity(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ida@example.com", "--name", "Ida Hidden", "--admin")
	full := p.login("ida@example.com")
	p.enrolTOTP(full)
	half := p.halfLogin("ida@example.com")
	secrets := []string{"ida@example.com", "Ida Hidden", "signed-in", "/admin/users"}

	for _, path := range []string{"/logout", "/help", "/help/logout"} {
		res := p.do(request{method: "GET", path: path, cookie: half})
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a half session = %d; want 200", path, res.StatusCode)
		}
		for _, s := range secrets {
			if strings.Contains(string(res.Body), s) {
				t.Errorf("GET %s with a half session shows %q", path, s)
			}
		}
	}
	// The half session can still sign out from that page.
	page := p.do(request{method: "GET", path: "/logout", cookie: half})
	if !strings.Contains(string(page.Body), `action="/logout"`) {
		t.Errorf("GET /logout with a half session: no sign-out form in %s", page.Body)
	}
}

// TestHalfSessionNotKeptAlive: requests a half session may not use (the
// app's forward-auth, the login page's redirect, going round and round) do
// not count as activity; it ends at the inactivity timeout from sign-in.
func TestHalfSessionNotKeptAlive(t *testing.T) {
	// Long enough that enrolling (a password check: seconds of argon2id
	// under the race detector) fits in it.
	const idle = 6 * time.Second
	p := startPortal(t, halfConfig+"session:\n  inactivity_timeout: 6s\n")
	p.addUser("kai@example.com")
	e := p.enrolTOTP(p.login("kai@example.com"))
	const app = "https://app.example.com/"
	half := p.halfLogin("kai@example.com")
	start := time.Now() // after the session began, so the wait is at least the timeout
	cookie := map[string]string{"Cookie": cookieName + "=" + half, "Accept": "text/html"}
	for time.Since(start) < idle+time.Second {
		p.forwardAuth("GET", app, cookie)
		p.do(request{method: "GET", path: "/login?rd=" + url.QueryEscape(app), cookie: half})
		time.Sleep(100 * time.Millisecond)
	}
	res := p.secondFactor(half, map[string]any{"code": e.auth.next()})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("second factor %v after sign-in, the half session kept busy = %d %s; want 401 (ended at the inactivity timeout)",
			time.Since(start).Round(time.Second), res.StatusCode, res.Body)
	}
}
