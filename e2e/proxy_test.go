package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// authURL is the portal's public_url in the forward-auth tests: redirects
// to the login page point there, whatever address lacop listens on.
const authURL = "https://auth.example.com"

// proxyConfig is a portal at auth.example.com guarding *.example.com:
// public.example.com and docs.example.com/public/ are open to all,
// deny.example.com and *.corp.example.com to nobody, admin.example.com to
// admins, secure.example.com to two-factor sessions, every other host to
// anyone signed in. It believes X-Forwarded-For from the proxies, which run
// on 127.0.0.1, and lets the race test send a dead cookie many times.
const proxyConfig = `public_url: https://auth.example.com
redirect:
  allowed_domains: [example.com]
server:
  trusted_proxies: [127.0.0.1/32]
regulation:
  max_unknown_cookies: 1000000
access_control:
  default_policy: one_factor
  rules:
    - {domain: "public.example.com", policy: bypass}
    - {domain: "deny.example.com", policy: deny}
    - {domain: "*.corp.example.com", policy: deny}
    - {domain: "docs.example.com", policy: bypass, resources: ["/public/"]}
    - {domain: "admin.example.com", policy: one_factor, groups: [admins]}
    - {domain: "secure.example.com", policy: two_factor}
`

// sharedCookie makes one sign-in good for every host under example.com.
const sharedCookie = "session:\n  cookie_domain: example.com\n"

// spoofed are identity headers a client makes up, in both spellings.
var spoofed = map[string]string{
	"Remote-User": "root", "Remote-Email": "root@example.com", "Remote-Name": "Root",
	"Remote-Groups": "admins", "Remote_User": "root",
}

// TestNginxAuthRequest puts nginx with auth_request (nginxConfig, the one
// docs/deploy.md shows) in front of an app and checks what a visitor gets
// and what the app sees, from anonymous to signed out again.
func TestNginxAuthRequest(t *testing.T) {
	p := startPortal(t, proxyConfig)
	app := startEchoApp(t)
	nginx := newViaProxy(t, startNginx(t, p.URL, app.URL, authURL))
	p.addUser("ada@example.com", "--name", "Ada Lovelace", "--group", "admins", "--group", "dev")

	res := nginx.get("app.example.com", "/some/path?x=1&y=2", acceptHTML)
	if want := authURL + "/login?rd=" + url.QueryEscape("http://app.example.com/some/path?x=1&y=2"); res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("anonymous = %d to %q; want 302 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	if n := app.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times by anonymous requests", n)
	}

	secret := p.login("ada@example.com")
	cookie := cookieHeader(cookieName, secret)
	ada := p.whoAmI(cookie)
	wantApp(t, "signed in", nginx.get("app.example.com", "/", mergeHeaders(cookie, acceptHTML)), ada.headers())
	wantApp(t, "signed in, client-sent Remote-*", nginx.get("app.example.com", "/", mergeHeaders(cookie, spoofed)), ada.headers())
	wantApp(t, "bypass rule, client-sent Remote-*", nginx.get("public.example.com", "/", spoofed), nil)
	access := p.issueTokens(secret).access
	wantApp(t, "bearer token", nginx.get("app.example.com", "/api/data", mergeHeaders(bearerHeader(access), acceptJSON)), ada.headers())

	hits := app.hits.Load()
	if res := nginx.get("deny.example.com", "/", mergeHeaders(cookie, acceptHTML)); res.StatusCode != http.StatusForbidden {
		t.Errorf("deny rule = %d %q; want 403", res.StatusCode, res.Body)
	}
	if res := p.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d %s", res.StatusCode, res.Body)
	}
	res = nginx.get("app.example.com", "/after", mergeHeaders(cookie, acceptHTML))
	if want := authURL + "/login?rd=" + url.QueryEscape("http://app.example.com/after"); res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
		t.Errorf("signed-out cookie = %d to %q; want 302 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	if res := nginx.get("app.example.com", "/api/data", mergeHeaders(bearerHeader(access), acceptJSON)); res.StatusCode != http.StatusFound {
		t.Errorf("bearer token of the signed-out session = %d %q; want 302 (nginx's answer to 401)", res.StatusCode, res.Body)
	}
	if n := app.hits.Load() - hits; n != 0 {
		t.Errorf("the app was reached %d times by denied or signed-out requests", n)
	}
}

// TestCaddyForwardAuth puts Caddy with forward_auth (caddyConfig, the one
// docs/deploy.md shows) in front of an app, with the cookie shared by every
// host under example.com.
func TestCaddyForwardAuth(t *testing.T) {
	p := startPortal(t, proxyConfig+sharedCookie)
	app := startEchoApp(t)
	caddy := newViaProxy(t, startCaddy(t, hostPort(t, p.URL), hostPort(t, app.URL)))
	p.addUser("ada@example.com", "--name", "Ada Lovelace", "--group", "dev")

	wantLoginRedirect(t, "anonymous navigation", caddy.get("app.example.com", "/some/path?x=1&y=2", acceptHTML),
		authURL, "http://app.example.com/some/path?x=1&y=2")
	if res := caddy.get("app.example.com", "/api/data", acceptJSON); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous API call = %d %q; want 401", res.StatusCode, res.Body)
	}
	if n := app.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times by anonymous requests", n)
	}

	login := p.loginAs("ada@example.com", testPassword, nil, false)
	c := sessionCookie(login.Response)
	if login.StatusCode != http.StatusOK || c == nil || c.Name != "__Secure-lacop_session" {
		t.Fatalf("login = %d %q; want a __Secure-lacop_session cookie", login.StatusCode, login.Header.Values("Set-Cookie"))
	}
	cookie := cookieHeader(c.Name, c.Value)
	ada := p.whoAmI(cookie)
	wantApp(t, "signed in", caddy.get("app.example.com", "/", mergeHeaders(cookie, acceptHTML)), ada.headers())
	wantApp(t, "signed in, another subdomain", caddy.get("wiki.example.com", "/", mergeHeaders(cookie, acceptJSON)), ada.headers())
	wantApp(t, "signed in, client-sent Remote-*", caddy.get("app.example.com", "/", mergeHeaders(cookie, spoofed)), ada.headers())
	wantApp(t, "bypass rule, client-sent Remote-*", caddy.get("public.example.com", "/", spoofed), nil)

	hits := app.hits.Load()
	if res := p.do(request{method: "POST", path: "/api/logout", header: cookie}); res.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d %s", res.StatusCode, res.Body)
	}
	wantLoginRedirect(t, "signed-out cookie, navigation", caddy.get("app.example.com", "/after", mergeHeaders(cookie, acceptHTML)),
		authURL, "http://app.example.com/after")
	if res := caddy.get("app.example.com", "/api/data", mergeHeaders(cookie, acceptJSON)); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed-out cookie, API call = %d %q; want 401", res.StatusCode, res.Body)
	}
	if n := app.hits.Load() - hits; n != 0 {
		t.Errorf("the app was reached %d times after sign-out", n)
	}
}

// TestForwardAuthDecisions asks both endpoints directly about every kind of
// visitor and rule: forward-auth answers 200, 302, 401 or 403;
// auth-request the same but 401 where forward-auth redirects. No answer
// sets a cookie or creates a session.
func TestForwardAuthDecisions(t *testing.T) {
	t.Parallel()
	p := startPortal(t, proxyConfig)
	p.addUser("ada@example.com", "--name", "Ada Lovelace", "--group", "admins", "--group", "dev")
	p.addUser("bob@example.com", "--name", "Bob")
	p.addUser("tess@example.com", "--name", "Tess")
	ada, bob := p.login("ada@example.com"), p.login("bob@example.com")
	totp := p.enrolTOTP(p.login("tess@example.com")).auth
	tess := p.fullLogin("tess@example.com", totp)
	if lvl := p.meLevel(tess); lvl != 2 {
		t.Fatalf("tess's session after the second factor has authLevel %v; want 2", lvl)
	}
	dead := p.login("bob@example.com")
	p.do(request{method: "POST", path: "/api/logout", cookie: dead})
	creds := map[string]map[string]string{
		"anonymous":              nil,
		"ada":                    cookieHeader(cookieName, ada),
		"bob":                    cookieHeader(cookieName, bob),
		"tess, two factors":      cookieHeader(cookieName, tess),
		"tess, half signed in":   cookieHeader(cookieName, p.halfLogin("tess@example.com")),
		"a signed-out cookie":    cookieHeader(cookieName, dead),
		"ada's bearer token":     bearerHeader(p.issueTokens(ada).access),
		"a made-up bearer token": bearerHeader("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"),
	}
	who := map[string]remoteIdentity{"ada": p.whoAmI(creds["ada"]), "bob": p.whoAmI(creds["bob"]),
		"tess, two factors": p.whoAmI(creds["tess, two factors"])}
	who["ada's bearer token"] = who["ada"]
	sessions := len(p.sessionLines())

	const app = "https://app.example.com/some/path?x=1&y=2"
	tests := []struct {
		cred, method, target string
		accept               map[string]string
		fwd, req             int  // forward-auth's and auth-request's status
		bypass               bool // 200 without identity headers
	}{
		{"anonymous", "GET", "https://public.example.com/", acceptHTML, 200, 200, true},
		{"ada", "GET", "https://public.example.com/x", acceptJSON, 200, 200, true},
		{"anonymous", "GET", "https://docs.example.com/public/guide", acceptHTML, 200, 200, true},
		{"anonymous", "GET", "https://docs.example.com/private", acceptJSON, 401, 401, false},
		{"anonymous", "GET", app, acceptJSON, 401, 401, false},
		{"anonymous", "GET", app, acceptHTML, 302, 401, false},
		{"anonymous", "HEAD", app, acceptHTML, 302, 401, false},
		{"anonymous", "POST", app, acceptHTML, 401, 401, false},
		{"a signed-out cookie", "GET", app, acceptHTML, 302, 401, false},
		{"a signed-out cookie", "GET", app, acceptJSON, 401, 401, false},
		{"a made-up bearer token", "GET", app, acceptJSON, 401, 401, false},
		{"tess, half signed in", "GET", app, acceptHTML, 302, 401, false},
		{"tess, half signed in", "GET", app, acceptJSON, 401, 401, false},
		{"ada", "GET", app, acceptHTML, 200, 200, false},
		{"ada", "POST", app, acceptJSON, 200, 200, false},
		{"bob", "GET", app, acceptJSON, 200, 200, false},
		{"ada's bearer token", "GET", app, acceptJSON, 200, 200, false},
		{"ada", "GET", "https://deny.example.com/", acceptHTML, 403, 403, false},
		{"ada", "GET", "https://x.corp.example.com/", acceptJSON, 403, 403, false},
		{"bob", "GET", "https://admin.example.com/", acceptHTML, 403, 403, false},
		{"ada", "GET", "https://admin.example.com/", acceptHTML, 200, 200, false},
		{"bob", "GET", "https://secure.example.com/", acceptHTML, 403, 403, false},
		{"tess, two factors", "GET", "https://secure.example.com/", acceptHTML, 200, 200, false},
		{"tess, half signed in", "GET", "https://secure.example.com/", acceptHTML, 302, 401, false},
	}
	for _, tt := range tests {
		accept := "JSON"
		if tt.accept["Accept"] == acceptHTML["Accept"] {
			accept = "HTML"
		}
		name := fmt.Sprintf("%s %s %s (%s)", tt.cred, tt.method, tt.target, accept)
		t.Run(name, func(t *testing.T) {
			p := p.forTest(t)
			h := mergeHeaders(creds[tt.cred], tt.accept)
			var want map[string]string
			if !tt.bypass {
				want = who[tt.cred].headers()
			}
			res := p.forwardAuth(tt.method, tt.target, h)
			wantAuthz(t, "forward-auth", res, tt.fwd, want)
			if tt.fwd == http.StatusFound {
				wantLoginRedirect(t, "forward-auth", res, authURL, tt.target)
			}
			res = p.authRequest(tt.method, tt.target, h)
			wantAuthz(t, "auth-request", res, tt.req, want)
			if loc := res.Header.Get("Location"); loc != "" {
				t.Errorf("auth-request: Location %q; auth-request never redirects", loc)
			}
		})
	}
	if n := len(p.sessionLines()); n != sessions {
		t.Errorf("%d sessions after the checks, %d before; forward-auth must never create one", n, sessions)
	}
}

// TestForwardAuthBadHeaders: a request whose forwarded headers are missing
// or malformed gets 400 from both endpoints, never 200, even with a live
// session and even for a browser navigation.
func TestForwardAuthBadHeaders(t *testing.T) {
	t.Parallel()
	p := startPortal(t, proxyConfig)
	p.addUser("ada@example.com")
	cookie := cookieHeader(cookieName, p.login("ada@example.com"))
	ada := p.whoAmI(cookie).headers()
	fwd := func(proto, host, uri string) map[string]string { // "" = not sent
		h := map[string]string{"X-Forwarded-Method": "GET"}
		for k, v := range map[string]string{"X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri} {
			if v != "" {
				h[k] = v
			}
		}
		return h
	}
	good := fwd("https", "app.example.com", "/x")
	wantAuthz(t, "forward-auth with good headers", p.do(request{method: "GET", path: "/api/authz/forward-auth",
		header: mergeHeaders(good, cookie, acceptJSON)}), 200, ada)
	forward := []struct {
		name   string
		header map[string]string
	}{
		{"no forwarded headers", nil},
		{"no X-Forwarded-Host", fwd("https", "", "/x")},
		{"no X-Forwarded-Proto", fwd("", "app.example.com", "/x")},
		{"no X-Forwarded-Uri", fwd("https", "app.example.com", "")},
		{"X-Forwarded-Proto ftp", fwd("ftp", "app.example.com", "/x")},
		{"X-Forwarded-Proto javascript", fwd("javascript", "app.example.com", "/x")},
		{"X-Forwarded-Uri without a leading slash", fwd("https", "app.example.com", "x")},
		{"X-Forwarded-Uri an absolute URL", fwd("https", "app.example.com", "https://evil.example.net/")},
	}
	for _, tt := range forward {
		for _, accept := range []map[string]string{acceptJSON, acceptHTML} {
			res := p.do(request{method: "GET", path: "/api/authz/forward-auth", header: mergeHeaders(tt.header, cookie, accept)})
			wantAuthz(t, fmt.Sprintf("forward-auth, %s, Accept %s", tt.name, accept["Accept"]), res, 400, nil)
		}
	}

	wantAuthz(t, "auth-request with a good URL", p.authRequest("GET", "https://app.example.com/x", mergeHeaders(cookie, acceptJSON)), 200, ada)
	for _, original := range []string{"", "/x", "app.example.com/x", "ftp://app.example.com/x", "https:///x", "https://", "%zz", "javascript:alert(1)"} {
		res := p.do(request{method: "GET", path: "/api/authz/auth-request", header: mergeHeaders(cookie, acceptHTML,
			map[string]string{"X-Original-URL": original})})
		if original == "" {
			res = p.do(request{method: "GET", path: "/api/authz/auth-request", header: mergeHeaders(cookie, acceptHTML)})
		}
		wantAuthz(t, fmt.Sprintf("auth-request, X-Original-URL %q", original), res, 400, nil)
	}
}

// TestForwardAuthRedirectRoundTrip: the rd forward-auth sends a visitor to
// the login page with comes back as the sign-in's redirect (API and form)
// when it is a safe target, and the new session is then let through; an
// unsafe target falls back to /.
func TestForwardAuthRedirectRoundTrip(t *testing.T) {
	t.Parallel()
	p := startPortal(t, proxyConfig)
	p.addUser("ada@example.com")
	const original = "https://app.example.com/docs/page?id=42&tab=history"
	res := p.forwardAuth("GET", original, acceptHTML)
	wantLoginRedirect(t, "anonymous navigation", res, authURL, original)
	loc, _ := url.Parse(res.Header.Get("Location"))
	rd := loc.Query().Get("rd")

	signIn := func(target string) *response {
		return p.do(request{method: "POST", path: "/api/login",
			body: map[string]any{"email": "ada@example.com", "password": testPassword, "targetURL": target}})
	}
	res = signIn(rd)
	if got := res.json(t)["redirect"]; res.StatusCode != http.StatusOK || got != original {
		t.Errorf("login with targetURL %q = %d, redirect %v; want 200 and %q", rd, res.StatusCode, got, original)
	}
	if c := sessionCookie(res.Response); c != nil {
		wantAuthz(t, "forward-auth after the round trip", p.forwardAuth("GET", original, mergeHeaders(acceptHTML, cookieHeader(c.Name, c.Value))),
			200, p.whoAmI(cookieHeader(c.Name, c.Value)).headers())
	}
	form := func(target string) *response {
		return p.do(request{method: "POST", path: "/login", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "rd": {target}}.Encode()})
	}
	if res := form(rd); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != original {
		t.Errorf("login form with rd %q = %d to %q; want 303 to %q", rd, res.StatusCode, res.Header.Get("Location"), original)
	}
	for _, target := range []string{"https://evil.example.net/", "http://app.example.com/docs", "https://example.com.evil.example.net/"} {
		res := signIn(target)
		if got := res.json(t)["redirect"]; res.StatusCode != http.StatusOK || got != "/" {
			t.Errorf("login with targetURL %q = %d, redirect %v; want 200 and /", target, res.StatusCode, got)
		}
		if res := form(target); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Errorf("login form with rd %q = %d to %q; want 303 to /", target, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// TestForwardAuthRace is TestNoResurrection for forward-auth: 32 goroutines
// ask forward-auth about one cookie while it signs out; every request sent
// after the sign-out answer must get 401, in each of 30 trials, and still
// 401 a second later.
func TestForwardAuthRace(t *testing.T) {
	p := startPortal(t, hammerConfig)
	p.addUser("race@example.com")
	p.client.Transport = &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	h := mergeHeaders(acceptJSON, map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/"})
	ask := func(secret string) func() (int, error) {
		return func() (int, error) {
			res, err := p.try(request{method: "GET", path: "/api/authz/forward-auth", cookie: secret, header: h})
			if err != nil {
				return 0, err
			}
			return res.StatusCode, nil
		}
	}

	const trials, workers = 30, 32
	var secrets []string
	for trial := range trials {
		secret := p.login("race@example.com")
		secrets = append(secrets, secret)
		before, after, wrong := raceTrial(t, workers, ask(secret), func() {
			if res := p.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode != http.StatusOK {
				t.Errorf("trial %d: logout = %d", trial, res.StatusCode)
			}
		}, http.StatusUnauthorized)
		if wrong > 0 {
			t.Errorf("trial %d: %d of %d forward-auth requests sent after sign-out were not 401", trial, wrong, after)
		}
		if before == 0 || after == 0 {
			t.Errorf("trial %d: %d requests before and %d after sign-out; the race was not exercised", trial, before, after)
		}
	}
	time.Sleep(time.Second)
	for i, s := range secrets {
		if got, _ := ask(s)(); got != http.StatusUnauthorized {
			t.Errorf("trial %d: a second later forward-auth = %d; want 401", i, got)
		}
	}
}

// TestCookieDomainForwardAuth: with session.cookie_domain the session
// cookie is __Secure-lacop_session with that Domain, one sign-in is good
// for every subdomain, and every answer that replaces or deletes the cookie
// carries the same name, Domain and Path (a deleting cookie without the
// Domain would leave the real one in place).
func TestCookieDomainForwardAuth(t *testing.T) {
	t.Parallel()
	p := startPortal(t, proxyConfig+sharedCookie)
	p.addUser("ada@example.com", "--name", "Ada Lovelace")
	const name, domain = "__Secure-lacop_session", "example.com"
	signIn := func(what string) (map[string]string, remoteIdentity) {
		t.Helper()
		res := p.loginAs("ada@example.com", testPassword, nil, false)
		raw := sessionSetCookies(res.Response) // the device cookie aside
		c := sessionCookie(res.Response)
		if res.StatusCode != http.StatusOK || len(raw) != 1 || c == nil || c.Name != name {
			t.Fatalf("%s: login = %d, Set-Cookie %q; want one %s", what, res.StatusCode, raw, name)
		}
		wantCookieFlags(t, raw[0], c, domain)
		cookie := cookieHeader(name, c.Value)
		return cookie, p.whoAmI(cookie)
	}
	allowed := func(what string, cookie map[string]string, want map[string]string) {
		t.Helper()
		for _, host := range []string{"app.example.com", "wiki.example.com"} {
			wantAuthz(t, what+" on "+host, p.forwardAuth("GET", "https://"+host+"/", mergeHeaders(cookie, acceptJSON)), 200, want)
		}
	}
	refused := func(what string, cookie map[string]string) {
		t.Helper()
		wantAuthz(t, what, p.forwardAuth("GET", "https://app.example.com/", mergeHeaders(cookie, acceptJSON)), 401, nil)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	endings := []struct {
		what string
		end  func(cookie map[string]string, sessionID string) *response
	}{
		{"POST /api/logout", func(c map[string]string, _ string) *response {
			return p.do(request{method: "POST", path: "/api/logout", header: c})
		}},
		{"POST /logout", func(c map[string]string, _ string) *response {
			return p.do(request{method: "POST", path: "/logout", header: mergeHeaders(c, form), body: "rd=%2F"})
		}},
		{"DELETE own session", func(c map[string]string, id string) *response {
			return p.do(request{method: "DELETE", path: "/api/sessions/" + id, header: c})
		}},
		{"sign out everywhere", func(c map[string]string, _ string) *response {
			return p.do(request{method: "POST", path: "/api/sessions/revoke-all", header: c, body: map[string]any{"keepCurrent": false}})
		}},
	}
	for _, e := range endings {
		cookie, ada := signIn(e.what)
		allowed("before "+e.what, cookie, ada.headers())
		sid := p.do(request{method: "GET", path: "/api/me", header: cookie}).json(t)["session"].(map[string]any)["id"].(string)
		res := e.end(cookie, sid)
		if res.StatusCode >= 400 {
			t.Errorf("%s = %d %s", e.what, res.StatusCode, res.Body)
		}
		wantDeletingCookie(t, res.Response, name, domain)
		refused("after "+e.what, cookie)
	}

	cookie, ada := signIn("sign out everywhere else")
	res := p.do(request{method: "POST", path: "/api/sessions/revoke-all", header: cookie, body: map[string]any{"keepCurrent": true}})
	raw := res.Header.Values("Set-Cookie")
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || len(raw) != 1 || c == nil || c.Name != name || c.Value == "" {
		t.Fatalf("sign out everywhere else = %d, Set-Cookie %q; want one fresh %s", res.StatusCode, raw, name)
	}
	wantCookieFlags(t, raw[0], c, domain)
	refused("the secret replaced by sign out everywhere else", cookie)
	allowed("the fresh secret", cookieHeader(name, c.Value), ada.headers())

	dead := p.do(request{method: "GET", path: "/logout?rd=/", header: cookie})
	if dead.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /logout with a dead cookie = %d; want 303", dead.StatusCode)
	}
	wantDeletingCookie(t, dead.Response, name, domain)
}

// TestForwardAuthQuiet: forward-auth writes nothing to the log at info
// level per request and creates no session, signed in or not, allowed or
// refused: a proxy asks about every request, and a log line each would
// drown the log and cost more than the check.
func TestForwardAuthQuiet(t *testing.T) {
	t.Parallel()
	p := startPortal(t, proxyConfig)
	p.addUser("quiet@example.com")
	cookie := cookieHeader(cookieName, p.login("quiet@example.com"))
	sessions := len(p.sessionLines())
	before := p.out.String()
	for i := range 50 {
		for _, c := range []struct {
			target string
			header map[string]string
			want   int
		}{
			{"https://app.example.com/x", cookie, http.StatusOK},
			{"https://app.example.com/x", map[string]string{"Accept": "application/json"}, http.StatusUnauthorized},
			{"https://deny.example.com/", cookie, http.StatusForbidden},
			{"https://public.example.com/", nil, http.StatusOK},
		} {
			if res := p.forwardAuth("GET", c.target, c.header); res.StatusCode != c.want {
				t.Fatalf("request %d to %s = %d; want %d", i, c.target, res.StatusCode, c.want)
			}
			if res := p.authRequest("GET", c.target, c.header); res.StatusCode != c.want {
				t.Fatalf("auth-request %d to %s = %d; want %d", i, c.target, res.StatusCode, c.want)
			}
		}
	}
	if added := strings.TrimPrefix(p.out.String(), before); strings.TrimSpace(added) != "" {
		t.Errorf("400 forward-auth checks logged:\n%s\nwant nothing at info level", added)
	}
	if n := len(p.sessionLines()); n != sessions {
		t.Errorf("%d sessions after 400 checks, %d before; want no new session", n, sessions)
	}
}
