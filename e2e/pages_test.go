package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDashboardSidebar: signed-in pages are no-store and end their sidebar
// with a POST Sign out button.
func TestDashboardSidebar(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ida@example.com", "--name", "Ida")
	secret := p.login("ida@example.com")
	for _, path := range []string{"/", "/help", "/help/logout", "/logout"} {
		res := p.do(request{method: "GET", path: path, cookie: secret})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q; want no-store", path, got)
		}
		page := string(res.Body)
		nav := regexp.MustCompile(`(?s)<nav class="sidebar".*?</nav>`).FindString(page)
		if nav == "" {
			t.Errorf("GET %s: no sidebar", path)
			continue
		}
		form := strings.Index(nav, `<form class="signout" method="post" action="/logout">`)
		if form < 0 || !strings.Contains(nav[form:], ">Sign out</button>") {
			t.Errorf("GET %s: sidebar has no POST Sign out button:\n%s", path, nav)
		}
		if strings.LastIndex(nav, "<a ") > form || strings.LastIndex(nav, "<li") > form {
			t.Errorf("GET %s: Sign out is not the sidebar's last item:\n%s", path, nav)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
			if res.Header.Get(h) == "" {
				t.Errorf("GET %s: no %s header", path, h)
			}
		}
	}
	page := string(p.do(request{method: "GET", path: "/", cookie: secret}).Body)
	if !strings.Contains(page, "ida@example.com") || !strings.Contains(page, "Hello, Ida") {
		t.Errorf("dashboard does not say who is signed in")
	}
	help := string(p.do(request{method: "GET", path: "/help/logout"}).Body)
	for _, want := range []string{"Closing the tab is not signing out", "other sessions", "Why sign out"} {
		if !strings.Contains(help, want) {
			t.Errorf("/help/logout lacks %q", want)
		}
	}
	// Signed out, pages send the person to sign in, and back afterwards.
	res := p.do(request{method: "GET", path: "/?x=1"})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?rd="+url.QueryEscape("/?x=1") {
		t.Errorf("signed-out dashboard = %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestLoginForm: the page works without JavaScript, fails with one vague
// message, and shows why the person is there.
func TestLoginForm(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("jo@example.com")
	res := p.do(request{method: "GET", path: "/login?rd=/help&loggedOut=1"})
	page := string(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="rd" value="/help"`) || !strings.Contains(page, "You have signed out") {
		t.Errorf("GET /login = %d; want the form carrying rd and the signed-out note:\n%s", res.StatusCode, page)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, body := range []string{
		url.Values{"email": {"jo@example.com"}, "password": {"wrong-password-here"}}.Encode(),
		url.Values{"email": {"nobody@example.com"}, "password": {testPassword}}.Encode(),
	} {
		res := p.do(request{method: "POST", path: "/login", body: body, header: form})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(res.Body), "Wrong email or password.") {
			t.Errorf("bad form login = %d; want 401 with the vague message", res.StatusCode)
		}
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("bad form login set a cookie")
		}
	}
	res = p.do(request{method: "POST", path: "/login", header: form,
		body: url.Values{"email": {"JO@example.com "}, "password": {testPassword}, "rd": {"/help"}, "rememberMe": {"1"}}.Encode()})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
		t.Fatalf("form login = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
	}
	if c := sessionCookie(res.Response); c == nil || c.MaxAge <= 0 {
		t.Errorf("remember-me form login: cookie %v; want a persistent cookie", c)
	}
	// Signed in, /login moves on.
	secret := sessionCookie(res.Response).Value
	res = p.do(request{method: "GET", path: "/login?rd=/help", cookie: secret})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
		t.Errorf("GET /login signed in = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestLoginFailuresLookAlike: an unknown email and a wrong password get the
// same status and body.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("kim@example.com")
	a := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": "kim@example.com", "password": "wrong-password-1"}})
	b := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": "nobody@example.com", "password": "wrong-password-1"}})
	if a.StatusCode != http.StatusUnauthorized || a.StatusCode != b.StatusCode || string(a.Body) != string(b.Body) {
		t.Errorf("wrong password = %d %s; unknown email = %d %s; want the same 401", a.StatusCode, a.Body, b.StatusCode, b.Body)
	}
	if body := a.json(t); body["error"] != "invalid_credentials" {
		t.Errorf("error = %v; want invalid_credentials", body["error"])
	}
}

// TestMe reports the user and the session.
func TestMe(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("lu@example.com", "--name", "Lu", "--group", "dev", "--group", "ops")
	secret := p.login("lu@example.com")
	body := p.do(request{method: "GET", path: "/api/me", cookie: secret}).json(t)
	user, _ := body["user"].(map[string]any)
	sess, _ := body["session"].(map[string]any)
	if user["email"] != "lu@example.com" || user["name"] != "Lu" || user["admin"] != false {
		t.Errorf("user = %v", user)
	}
	if g, _ := user["groups"].([]any); len(g) != 2 || g[0] != "dev" || g[1] != "ops" {
		t.Errorf("groups = %v; want [dev ops]", user["groups"])
	}
	for _, k := range []string{"id", "authLevel", "createdAt", "lastActiveAt", "expiresAt"} {
		if sess[k] == nil {
			t.Errorf("session lacks %q: %v", k, sess)
		}
	}
	if sess["id"] == secret {
		t.Error("the public session id is the secret")
	}
	if res := p.do(request{method: "GET", path: "/api/me"}); res.StatusCode != http.StatusUnauthorized || res.json(t)["error"] != "unauthenticated" {
		t.Errorf("anonymous /api/me = %d %s; want 401 unauthenticated", res.StatusCode, res.Body)
	}
}

// TestHealth: /healthz and /readyz answer.
func TestHealth(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		if res := p.do(request{method: "GET", path: path}); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d; want 200", path, res.StatusCode)
		}
	}
}

// TestLoginTimingParity: an unknown email costs about as much as a wrong
// password (both run one argon2id verification), so response time does not
// tell which accounts exist. A ratio of medians with wide bounds: without
// the dummy hash the unknown case is a thousand times faster.
func TestLoginTimingParity(t *testing.T) {
	// Enough failures allowed that regulation does not answer first.
	p := startPortal(t, "regulation:\n  max_failures: 100\n  max_failures_per_ip: 100\n")
	p.addUser("ray@example.com")
	measure := func(email string) time.Duration {
		start := time.Now()
		res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": email, "password": "wrong-password-z"}})
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("login %s = %d; want 401", email, res.StatusCode)
		}
		return time.Since(start)
	}
	var known, unknown []time.Duration
	for i := 0; i < 7; i++ {
		known = append(known, measure("ray@example.com"))
		unknown = append(unknown, measure(fmt.Sprintf("ghost%d@example.com", i)))
	}
	k, u := median(known), median(unknown)
	if ratio := float64(u) / float64(k); ratio < 0.5 || ratio > 2 {
		t.Errorf("median unknown-email login %v vs wrong-password %v (ratio %.2f); want comparable", u, k, ratio)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
