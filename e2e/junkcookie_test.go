package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// junkConfig bans an address after 5 unknown cookies, and believes the
// X-Forwarded-For of loopback, so one test can speak for several clients.
const junkConfig = "regulation:\n  max_unknown_cookies: 5\nserver:\n  trusted_proxies: [\"127.0.0.1/32\", \"::1/128\"]\n"

// forwardedFor sends the request as coming from client address ip.
func forwardedFor(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

// junkSecret is a well-formed session secret that names no session.
func junkSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// junk floods /api/me with n well-formed cookies naming no session from ip
// and returns the last status.
func (p *portal) junk(ip string, n int) int {
	p.t.Helper()
	status := 0
	for i := 0; i < n; i++ {
		status = p.do(request{method: "GET", path: "/api/me", header: forwardedFor(ip), cookie: junkSecret()}).StatusCode
	}
	return status
}

// TestJunkCookiesSpareLiveSessions: an address that floods lacop with
// cookies naming no session is throttled, but a person behind the same
// address (a NAT, an office, a proxy) keeps every live session: pages, the
// API, forward-auth and sign-out work, and so does signing in again.
func TestJunkCookiesSpareLiveSessions(t *testing.T) {
	t.Parallel()
	const nat = "198.51.100.7"
	p := startPortal(t, junkConfig)
	p.addUser("vic@example.com")
	victim := p.loginAs("vic@example.com", testPassword, forwardedFor(nat), false)
	secret := sessionCookie(victim.Response).Value

	if got := p.junk(nat, 6); got != http.StatusTooManyRequests {
		t.Fatalf("6th unknown cookie from %s = %d; want 429 (the flood is throttled)", nat, got)
	}
	res := p.do(request{method: "GET", path: "/api/me", header: forwardedFor(nat), cookie: junkSecret()})
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("unknown cookie during the ban = %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}

	cookie := map[string]string{"Cookie": cookieName + "=" + secret}
	for _, c := range []struct {
		what string
		res  *response
		want int
	}{
		{"GET /api/me", p.do(request{method: "GET", path: "/api/me", header: forwardedFor(nat), cookie: secret}), http.StatusOK},
		{"GET / (dashboard)", p.do(request{method: "GET", path: "/", header: forwardedFor(nat), cookie: secret}), http.StatusOK},
		{"GET /sessions", p.do(request{method: "GET", path: "/sessions", header: forwardedFor(nat), cookie: secret}), http.StatusOK},
		{"GET /logout", p.do(request{method: "GET", path: "/logout", header: forwardedFor(nat), cookie: secret}), http.StatusOK},
		{"forward-auth", p.forwardAuth("GET", "https://app.example.com/x", mergeHeaders(forwardedFor(nat), cookie)), http.StatusOK},
		{"auth-request", p.authRequest("GET", "https://app.example.com/x", mergeHeaders(forwardedFor(nat), cookie)), http.StatusOK},
	} {
		if c.res.StatusCode != c.want {
			t.Errorf("live session from the flooding address: %s = %d %.100s; want %d", c.what, c.res.StatusCode, c.res.Body, c.want)
		}
	}

	// The login page shows its form to a cookie it may not check now, and
	// signing in again gives a cookie that works at once.
	form := p.do(request{method: "GET", path: "/login?rd=%2Fsessions", header: forwardedFor(nat), cookie: strings.Repeat("z", 43)})
	if form.StatusCode != http.StatusOK || !strings.Contains(string(form.Body), `name="password"`) {
		t.Errorf("GET /login with an unchecked cookie during the ban = %d; want 200 with the sign-in form", form.StatusCode)
	}
	again := p.do(request{method: "POST", path: "/login", cookie: strings.Repeat("z", 43),
		header: mergeHeaders(forwardedFor(nat), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}),
		body:   url.Values{"email": {"vic@example.com"}, "password": {testPassword}, "rd": {"/sessions"}}.Encode()})
	fresh := sessionCookie(again.Response)
	if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != "/sessions" || fresh == nil || fresh.Value == "" {
		t.Fatalf("signing in again from the flooding address = %d to %q; want 303 to /sessions with a cookie", again.StatusCode, again.Header.Get("Location"))
	}
	if got := p.do(request{method: "GET", path: "/sessions", header: forwardedFor(nat), cookie: fresh.Value}).StatusCode; got != http.StatusOK {
		t.Errorf("new session from the flooding address: GET /sessions = %d; want 200", got)
	}

	// Signing out answers 200 whatever the cookie, ban or no ban: its answer
	// is the same for a made-up cookie and a live one, so it is no oracle.
	for i := 0; i < 3; i++ {
		if got := p.do(request{method: "POST", path: "/api/logout", header: forwardedFor(nat), cookie: junkSecret()}); got.StatusCode != http.StatusOK || got.Header.Get("Clear-Site-Data") == "" {
			t.Errorf("POST /api/logout with an unknown cookie from the flooding address = %d, Clear-Site-Data %q; want 200 with it", got.StatusCode, got.Header.Get("Clear-Site-Data"))
		}
	}
	// Signing out still ends the session (never a 200 that ended nothing).
	out := p.do(request{method: "POST", path: "/api/logout", header: forwardedFor(nat), cookie: secret})
	if out.StatusCode != http.StatusOK {
		t.Errorf("POST /api/logout of a live session from the flooding address = %d; want 200", out.StatusCode)
	}
	if got := p.meStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("after sign-out the old cookie (from another address): /api/me = %d; want 401", got)
	}
}

// TestJunkCookiesCountByClient: the limit counts an IPv6 client by its
// /64, and one address's flood never throttles another's unknown cookies.
func TestJunkCookiesCountByClient(t *testing.T) {
	t.Parallel()
	p := startPortal(t, junkConfig)
	for i := 0; i < 6; i++ {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1) // a new address in one /64 each time
		res := p.do(request{method: "GET", path: "/api/me", header: forwardedFor(ip), cookie: junkSecret()})
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusUnauthorized}[i == 5]; res.StatusCode != want {
			t.Errorf("unknown cookie %d from %s = %d; want %d", i+1, ip, res.StatusCode, want)
		}
	}
	for _, ip := range []string{"2001:db8:1:3::1", "203.0.113.9"} {
		if got := p.do(request{method: "GET", path: "/api/me", header: forwardedFor(ip), cookie: junkSecret()}).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("unknown cookie from %s (another client) = %d; want 401", ip, got)
		}
	}
}

// TestStaleCookiesAreNotGuesses: cookies of sessions that ended normally,
// sent again by clients that kept them, are not counted as guesses: a
// person signing out and in several times never bans their own address.
func TestStaleCookiesAreNotGuesses(t *testing.T) {
	t.Parallel()
	const office = "192.0.2.44"
	p := startPortal(t, junkConfig)
	p.addUser("sal@example.com")
	var stale []string
	for i := 0; i < 4; i++ {
		res := p.loginAs("sal@example.com", testPassword, forwardedFor(office), false)
		secret := sessionCookie(res.Response).Value
		if got := p.do(request{method: "GET", path: "/api/me", header: forwardedFor(office), cookie: secret}).StatusCode; got != http.StatusOK {
			t.Fatalf("session %d: /api/me = %d; want 200", i, got)
		}
		if got := p.do(request{method: "POST", path: "/api/logout", header: forwardedFor(office), cookie: secret}).StatusCode; got != http.StatusOK {
			t.Fatalf("session %d: sign-out = %d; want 200", i, got)
		}
		stale = append(stale, secret)
	}
	// A session ended by the sweeper or by another device looks the same.
	ended := sessionCookie(p.loginAs("sal@example.com", testPassword, forwardedFor(office), false).Response).Value
	p.cliOK("", "session", "revoke", "--user", "sal@example.com")
	stale = append(stale, ended)

	for round := 0; round < 3; round++ {
		for i, secret := range stale {
			if got := p.do(request{method: "GET", path: "/api/me", header: forwardedFor(office), cookie: secret}).StatusCode; got != http.StatusUnauthorized {
				t.Fatalf("round %d, stale cookie %d: /api/me = %d; want 401 (a stale cookie is not a guess)", round, i, got)
			}
		}
	}
	// Four real guesses still fit under the limit of five.
	if got := p.junk(office, 4); got != http.StatusUnauthorized {
		t.Errorf("4 unknown cookies after 15 stale ones = %d; want 401 (stale cookies must not count)", got)
	}
}
