package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// forwardHeaders is a Traefik/Caddy forward-auth request for
// https://app.example.com/ from a client that reads JSON, plus extra.
func forwardHeaders(extra map[string]string) map[string]string {
	return mergeHeaders(map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/", "Accept": "application/json"}, extra)
}

// wantForwardRefused checks that forward-auth answered 401 with no identity
// and a Bearer challenge whose error is code ("" for none).
func wantForwardRefused(t *testing.T, what string, res *response, code string) {
	t.Helper()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Remote-User") != "" {
		t.Errorf("%s = %d, Remote-User %q; want 401 and none", what, res.StatusCode, res.Header.Get("Remote-User"))
	}
	wantChallenge(t, what, res, code)
}

// TestTokensOweTheSecondFactor: when a person turns TOTP on in one session,
// their other session owes the second factor, and so do its tokens: its
// access token is refused at /api/me (401 with an invalid_token challenge)
// and at forward-auth (401), and its refresh token is invalid_grant and
// mints nothing. The session did not end, so its refresh family is kept:
// once the person gives the code in that session, the same refresh token
// rotates again and the tokens work.
func TestTokensOweTheSecondFactor(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "owe2fa@example.com"
	p.addUser(email)
	other := p.login(email)
	pair := p.issueTokens(other)
	p.bearerOK("the other session's token before TOTP", pair.access)

	e := p.enrolTOTP(p.login(email))
	wantError(t, "the other session's cookie after TOTP was turned on",
		p.do(request{method: "GET", path: "/api/me", cookie: other}), http.StatusUnauthorized, "second_factor_required")
	res := p.bearerMe("Bearer " + pair.access)
	wantBearerRefused(t, "the other session's access token after TOTP was turned on", res, true)
	wantChallenge(t, "the other session's access token after TOTP was turned on", res, "invalid_token")
	wantForwardRefused(t, "forward-auth with the other session's access token after TOTP was turned on",
		p.forwardAuth("GET", "https://app.example.com/", bearerHeader(pair.access)), "invalid_token")
	p.refreshDead("the other session's refresh token after TOTP was turned on", pair.refresh)
	p.refreshDead("the same refresh token asked again", pair.refresh)

	res = p.secondFactor(other, map[string]any{"code": e.auth.next()})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("second factor in the other session = %d %s; want 200", res.StatusCode, res.Body)
	}
	next := p.refreshOK(pair.refresh)
	p.bearerOK("a token refreshed after the other session gave the code", next.access)
	if lvl := claimInt(t, parseJWT(t, next.access).claims, "lvl"); lvl != 2 {
		t.Errorf("lvl of the refreshed token = %d; want 2", lvl)
	}
}

// TestTokensOweEnrolment: tokens issued before an admin turns on
// auth.require_second_factor (and restarts) are refused like the cookie of
// their session, until the person enrols in that session.
func TestTokensOweEnrolment(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "oweenrol@example.com"
	p.addUser(email)
	secret := p.login(email)
	pair := p.issueTokens(secret)
	p.bearerOK("a token before require_second_factor", pair.access)
	p.stop()

	q := startPortalIn(t, p.DataDir, "auth:\n  require_second_factor: true\n")
	wantError(t, "the cookie under require_second_factor", q.do(request{method: "GET", path: "/api/me", cookie: secret}),
		http.StatusForbidden, "second_factor_enrolment_required")
	res := q.bearerMe("Bearer " + pair.access)
	wantBearerRefused(t, "the access token under require_second_factor", res, true)
	wantChallenge(t, "the access token under require_second_factor", res, "invalid_token")
	wantForwardRefused(t, "forward-auth with the access token under require_second_factor",
		q.forwardAuth("GET", "https://app.example.com/", bearerHeader(pair.access)), "invalid_token")
	q.refreshDead("the refresh token under require_second_factor", pair.refresh)

	q.enrolTOTP(secret)
	q.bearerOK("a refreshed token after enrolling", q.refreshOK(pair.refresh).access)
}

// TestBearerInactivityTimeout: an access token stops working at its
// session's inactivity deadline, as the cookie does, not when the sweeper
// gets to the session a minute later; the bearer check ends the session
// (session.expired, once) and its refresh token with it. Using the access
// token is not activity: only the person's requests and the app's
// refreshes keep a session alive, so a token polled every few hundred ms
// does not.
func TestBearerInactivityTimeout(t *testing.T) {
	p := startPortal(t, "session:\n  inactivity_timeout: 2s\n")
	const email = "idle@example.com"
	p.addUser(email)
	secret := p.login(email)
	pair := p.issueTokens(secret)
	start := time.Now() // the session's last activity was before this
	sid := p.bearerOK("a fresh token", pair.access)
	for time.Since(start) < 1200*time.Millisecond {
		p.bearerOK("the token within the inactivity timeout", pair.access)
		time.Sleep(300 * time.Millisecond)
	}

	time.Sleep(time.Until(start.Add(2300 * time.Millisecond)))
	p.bearerDead("the access token past the inactivity timeout", pair.access)
	if got := p.auditLinesFor(sid, "--type", "session.expired"); len(got) != 1 {
		t.Errorf("session.expired events for the session after the bearer check = %d %q; want 1 (ended by the check, not the sweeper)", len(got), got)
	}
	wantForwardRefused(t, "forward-auth with the access token past the inactivity timeout",
		p.forwardAuth("GET", "https://app.example.com/", bearerHeader(pair.access)), "invalid_token")
	p.refreshDead("the refresh token past the inactivity timeout", pair.refresh)
	if got := p.meStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("the cookie past the inactivity timeout: /api/me = %d; want 401", got)
	}
	if got := p.auditLinesFor(sid, "--type", "session.expired"); len(got) != 1 {
		t.Errorf("session.expired events at the end = %d; want still 1", len(got))
	}
}

// TestOtherAuthorizationSchemes: an Authorization header lacop does not
// take (an app's own Basic auth, Negotiate, a bare token) is not a
// credential for lacop: forward-auth and /api/me decide by the cookie, as
// if the header were not there (RFC 6750 3.1 treats an unsupported method
// like no credentials: a challenge with no error code).
func TestOtherAuthorizationSchemes(t *testing.T) {
	p := startPortal(t, "")
	const email = "basic@example.com"
	p.addUser(email)
	secret := p.login(email)
	for _, authorization := range []string{
		"Basic dXNlcjpwYXNz",
		"basic dXNlcjpwYXNz",
		"Negotiate YIIJvwYGKwYBBQUCoIIJszCCCa+gJDAiBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICCqKCCYkEggmFYIIJgQYJKoZIhvcSAQICAQBuggls",
		"Digest username=\"u\", realm=\"app\", nonce=\"n\", uri=\"/\", response=\"r\"",
		"Bearertoken",
		"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		h := map[string]string{"Authorization": authorization}
		res := p.do(request{method: "GET", path: "/api/authz/forward-auth", cookie: secret, header: forwardHeaders(h)})
		if res.StatusCode != http.StatusOK || res.Header.Get("Remote-Email") != email {
			t.Errorf("forward-auth with a session cookie and Authorization %q = %d, Remote-Email %q; want 200 and %s",
				authorization, res.StatusCode, res.Header.Get("Remote-Email"), email)
		}
		res = p.authRequest("GET", "https://app.example.com/", mergeHeaders(cookieHeader(cookieName, secret), h))
		if res.StatusCode != http.StatusOK || res.Header.Get("Remote-Email") != email {
			t.Errorf("auth-request with a session cookie and Authorization %q = %d, Remote-Email %q; want 200 and %s",
				authorization, res.StatusCode, res.Header.Get("Remote-Email"), email)
		}
		if res := p.do(request{method: "GET", path: "/api/me", cookie: secret, header: h}); res.StatusCode != http.StatusOK {
			t.Errorf("/api/me with a session cookie and Authorization %q = %d %s; want 200", authorization, res.StatusCode, res.Body)
		}

		wantForwardRefused(t, "forward-auth with Authorization "+authorization+" and no cookie",
			p.do(request{method: "GET", path: "/api/authz/forward-auth", header: forwardHeaders(h)}), "")
		res = p.do(request{method: "GET", path: "/api/authz/forward-auth",
			header: forwardHeaders(mergeHeaders(h, map[string]string{"Accept": "text/html"}))})
		if res.StatusCode != http.StatusFound || !strings.Contains(res.Header.Get("Location"), "/login?rd=") {
			t.Errorf("browser forward-auth with Authorization %q and no cookie = %d, Location %q; want 302 to the login page",
				authorization, res.StatusCode, res.Header.Get("Location"))
		}
		res = p.bearerMe(authorization)
		wantBearerRefused(t, "/api/me with Authorization "+authorization+" and no cookie", res, true)
		wantChallenge(t, "/api/me with Authorization "+authorization+" and no cookie", res, "")
	}
}
