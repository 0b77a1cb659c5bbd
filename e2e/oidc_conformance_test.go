package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The checks of the OpenID Foundation conformance suite's basic OP plan and
// RP-initiated logout plan, spoken as raw protocol: the suite sends what no
// well-behaved client library would (a reused code, a tampered hint), so
// neither does this client use one.

const (
	confClient   = "conf"
	confSecret   = "conformance-secret-0123456789abcdef"
	confRedirect = "http://127.0.0.1:9/callback"     // never contacted: the test reads Location
	confAfter    = "http://127.0.0.1:9/after?keep=1" // a registered post-logout URI with a query
)

const confConfig = `oidc:
  clients:
    - id: ` + confClient + `
      name: Conformance
      secret: "$plaintext$` + confSecret + `"
      redirect_uris: ["` + confRedirect + `"]
      post_logout_redirect_uris: ["` + confAfter + `"]
      scopes: [openid, profile, email, offline_access]
`

// confRP is the raw client: it signs in through lacop's API and follows
// lacop's own redirects until one leaves for the app.
type confRP struct {
	t  *testing.T
	p  *portal
	id string // the client; confClient when empty
}

// client is the app c speaks as.
func (c confRP) client() string {
	if c.id == "" {
		return confClient
	}
	return c.id
}

// authorize sends an authorization request with the browser's cookie and
// returns where lacop finally sends the browser outside itself, or the
// last answer when lacop stops redirecting (an error page, a form).
func (c confRP) authorize(secret string, q url.Values) (*url.URL, *response) {
	c.t.Helper()
	base, _ := url.Parse(c.p.URL)
	next := "/oauth/authorize?" + q.Encode()
	for range 6 {
		res := c.p.do(request{method: "GET", path: next, cookie: secret,
			header: map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}})
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode > 399 || loc == "" {
			return nil, res
		}
		u, err := base.Parse(loc)
		if err != nil {
			c.t.Fatalf("authorize: Location %q: %v", loc, err)
		}
		if u.Host != base.Host {
			return u, res
		}
		next = u.RequestURI()
	}
	c.t.Fatalf("authorize: more than 6 redirects inside lacop")
	return nil, nil
}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(seed + strings.Repeat("v", 43)))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// code runs the code flow to the callback and returns the code.
func (c confRP) code(secret string, extra url.Values) string {
	c.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {c.client()}, "redirect_uri": {confRedirect},
		"scope": {"openid email offline_access"}, "state": {"st-1"}}
	for k, v := range extra {
		q[k] = v
	}
	u, res := c.authorize(secret, q)
	if u == nil {
		c.t.Fatalf("authorize: no redirect to the app: %d %s", res.StatusCode, res.Body)
	}
	if got := u.Query().Get("state"); got != q.Get("state") {
		c.t.Errorf("callback state = %q; want %q echoed", got, q.Get("state"))
	}
	code := u.Query().Get("code")
	if code == "" {
		c.t.Fatalf("callback %s carries no code", u)
	}
	return code
}

// post sends a client-authenticated form to a lacop endpoint.
func (c confRP) post(path string, form url.Values) *response {
	c.t.Helper()
	return c.p.do(request{method: "POST", path: path, body: form.Encode(), header: map[string]string{
		"Content-Type":  "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(c.client()+":"+confSecret)),
	}})
}

// exchange redeems a code.
func (c confRP) exchange(code, verifier string) *response {
	c.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return c.post("/oauth/token", form)
}

// confTokens are a successful token answer's.
type confTokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	ID      string `json:"id_token"`
}

func (c confRP) tokens(what string, res *response) confTokens {
	c.t.Helper()
	var tk confTokens
	if res.StatusCode != http.StatusOK || json.Unmarshal(res.Body, &tk) != nil || tk.Access == "" || tk.ID == "" {
		c.t.Fatalf("%s: %d %s; want tokens", what, res.StatusCode, res.Body)
	}
	return tk
}

// active asks introspection whether token is active.
func (c confRP) active(token string) bool {
	c.t.Helper()
	res := c.post("/oauth/introspect", url.Values{"token": {token}})
	var body struct {
		Active bool `json:"active"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(res.Body, &body) != nil {
		c.t.Fatalf("introspect: %d %s", res.StatusCode, res.Body)
	}
	return body.Active
}

// alive reports whether the lacop session behind secret still works.
func (c confRP) alive(secret string) bool { return c.p.meStatus(secret) == http.StatusOK }

func startConf(t *testing.T) (confRP, string) {
	t.Helper()
	p := startPortal(t, confConfig)
	p.addUser("conf@example.com")
	return confRP{t: t, p: p}, p.login("conf@example.com")
}

// TestOIDCConformanceBasic ports the basic OP plan's checks: nonce echoed,
// state echoed, a code used twice (and what its first use gave ends), a
// redirect_uri that does not match, a PKCE verifier that does not match.
func TestOIDCConformanceBasic(t *testing.T) {
	t.Parallel()
	c, secret := startConf(t)

	t.Run("NonceAndStateEchoed", func(t *testing.T) {
		c := confRP{t: t, p: c.p}
		code := c.code(secret, url.Values{"nonce": {"n-0S6_WzA2Mj"}, "state": {"af0ifjsldkj"}})
		tk := c.tokens("exchange", c.exchange(code, ""))
		claims := parseJWT(t, tk.ID).claims
		if claims["nonce"] != "n-0S6_WzA2Mj" {
			t.Errorf("ID token nonce = %v; want the request's n-0S6_WzA2Mj", claims["nonce"])
		}
		if claims["aud"] != confClient && !strings.Contains(string(mustJSON(t, claims["aud"])), `"`+confClient+`"`) {
			t.Errorf("ID token aud = %v; want %s", claims["aud"], confClient)
		}
		for _, k := range []string{"iss", "sub", "exp", "iat", "auth_time", "sid"} {
			if claims[k] == nil {
				t.Errorf("ID token lacks %s: %v", k, claims)
			}
		}
	})

	t.Run("CodeReuse", func(t *testing.T) {
		c := confRP{t: t, p: c.p}
		code := c.code(secret, nil)
		first := c.tokens("first use", c.exchange(code, ""))
		if !c.active(first.Access) {
			t.Fatalf("the first use's access token is not active")
		}
		wantOAuthError(t, "the code's second use", c.exchange(code, ""), "invalid_grant")
		if c.active(first.Access) {
			t.Errorf("after the code was used twice, the first use's access token is still active")
		}
		if first.Refresh != "" {
			wantOAuthError(t, "refresh with the first use's token", c.post("/oauth/token",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Refresh}}), "invalid_grant")
		}
	})

	t.Run("RedirectURIMismatch", func(t *testing.T) {
		c := confRP{t: t, p: c.p}
		for _, bad := range []string{"http://127.0.0.1:9/callback/x", "http://127.0.0.1:9/callback?x=1",
			"https://evil.example/callback", "http://127.0.0.1:9/CALLBACK"} {
			u, res := c.authorize(secret, url.Values{"response_type": {"code"}, "client_id": {confClient},
				"redirect_uri": {bad}, "scope": {"openid"}, "state": {"s"}})
			if u != nil {
				t.Errorf("redirect_uri %s: lacop redirected to %s; want an error page, never a redirect", bad, u)
			} else if res.StatusCode < 400 {
				t.Errorf("redirect_uri %s: %d; want an error page", bad, res.StatusCode)
			}
		}
		// At the token endpoint: a code redeemed with another redirect_uri.
		code := c.code(secret, nil)
		res := c.post("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"http://127.0.0.1:9/other"}})
		wantOAuthError(t, "exchange with another redirect_uri", res, "invalid_grant")
	})

	t.Run("PKCEMismatch", func(t *testing.T) {
		c := confRP{t: t, p: c.p}
		verifier, challenge := pkce("right")
		code := c.code(secret, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		wrong, _ := pkce("wrong")
		wantOAuthError(t, "exchange with the wrong verifier", c.exchange(code, wrong), "invalid_grant")
		code = c.code(secret, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		// No verifier at all: RFC 7636 names no code; a 400 either way.
		if res := c.exchange(code, ""); res.StatusCode != http.StatusBadRequest ||
			!strings.Contains(string(res.Body), `"invalid_grant"`) && !strings.Contains(string(res.Body), `"invalid_request"`) {
			t.Errorf("exchange with no verifier: %d %s; want 400 invalid_grant or invalid_request", res.StatusCode, res.Body)
		}
		code = c.code(secret, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		c.tokens("exchange with the right verifier", c.exchange(code, verifier))
	})
}

// TestOIDCConformanceReauth ports the basic plan's prompt=login and
// max_age checks: the person is asked to sign in again even though the
// browser is signed in, the sign-in replaces the browser's session, and the
// new ID token's auth_time is later; a max_age the session is younger than
// goes straight through.
func TestOIDCConformanceReauth(t *testing.T) {
	t.Parallel()
	c, secret := startConf(t)
	first := c.tokens("first sign-in", c.exchange(c.code(secret, url.Values{"max_age": {"3600"}}), ""))
	authTime := claimInt(t, parseJWT(t, first.ID).claims, "auth_time")
	time.Sleep(1100 * time.Millisecond) // auth_time is in whole seconds; max_age=1 must have passed

	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"1"}}} {
		q := url.Values{"response_type": {"code"}, "client_id": {confClient}, "redirect_uri": {confRedirect},
			"scope": {"openid"}, "state": {"s"}}
		for k, v := range extra {
			q[k] = v
		}
		u, res := c.authorize(secret, q)
		if u != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), `name="password"`) {
			t.Fatalf("%v with a signed-in browser: %d, to %v; want the sign-in form", extra, res.StatusCode, u)
		}
		rd := res.Request.URL.Query().Get("rd")
		res = c.p.do(request{method: "POST", path: "/login", cookie: secret,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:   url.Values{"email": {"conf@example.com"}, "password": {testPassword}, "rd": {rd}}.Encode()})
		fresh := sessionCookie(res.Response)
		if res.StatusCode != http.StatusSeeOther || fresh == nil || fresh.Value == secret {
			t.Fatalf("%v: signing in again = %d, cookie %v; want 303 with a new session", extra, res.StatusCode, fresh)
		}
		if c.alive(secret) {
			t.Errorf("%v: the replaced session lives on (no sign-out in this browser would reach it)", extra)
		}
		loc := c.p.do(request{method: "GET", path: rd, cookie: fresh.Value}).Header.Get("Location")
		back, _ := url.Parse(c.p.URL)
		for range 3 { // /oauth/continue → the library's callback → the app
			v, err := back.Parse(loc)
			if err != nil || v.Host != back.Host {
				break
			}
			loc = c.p.do(request{method: "GET", path: v.RequestURI(), cookie: fresh.Value}).Header.Get("Location")
		}
		cb, err := url.Parse(loc)
		if err != nil || cb.Query().Get("code") == "" {
			t.Fatalf("%v: after signing in again, sent to %q; want the app's callback with a code", extra, loc)
		}
		tk := c.tokens("after signing in again", c.exchange(cb.Query().Get("code"), ""))
		if got := claimInt(t, parseJWT(t, tk.ID).claims, "auth_time"); got <= authTime {
			t.Errorf("%v: auth_time %d; want later than the first sign-in's %d", extra, got, authTime)
		}
		secret = fresh.Value
		time.Sleep(1100 * time.Millisecond)
	}
	// A max_age the session is younger than asks nothing.
	c.code(secret, url.Values{"max_age": {"3600"}})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOIDCConformanceRPLogout ports the RP-initiated logout plan: a bad,
// modified or missing id_token_hint never signs anyone out unasked; an
// unregistered post_logout_redirect_uri is never followed; state is echoed
// and the registered URI's query kept; afterwards prompt=none fails.
func TestOIDCConformanceRPLogout(t *testing.T) {
	t.Parallel()
	c, _ := startConf(t)
	p := c.p
	nav := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "cross-site"}
	// signIn gives a fresh session and an ID token issued in it.
	signIn := func(t *testing.T) (confRP, string, string) {
		c := confRP{t: t, p: p}
		secret := p.login("conf@example.com")
		return c, secret, c.tokens("exchange", c.exchange(c.code(secret, nil), "")).ID
	}
	endSession := func(secret string, q url.Values) *response {
		return p.do(request{method: "GET", path: "/oauth/logout?" + q.Encode(), cookie: secret, header: nav})
	}

	t.Run("ValidHint", func(t *testing.T) {
		c, secret, idToken := signIn(t)
		res := endSession(secret, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {confAfter}, "state": {"bye-1"}})
		if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
			t.Fatalf("end session with a valid hint: %d %s; want a redirect", res.StatusCode, res.Body)
		}
		u, err := url.Parse(res.Header.Get("Location"))
		if err != nil || u.Scheme+"://"+u.Host+u.Path != "http://127.0.0.1:9/after" ||
			u.Query().Get("keep") != "1" || u.Query().Get("state") != "bye-1" {
			t.Errorf("redirect to %q; want the registered URI with its query kept and state=bye-1", res.Header.Get("Location"))
		}
		if c.alive(secret) {
			t.Errorf("the session lives on after RP-initiated logout")
		}
		// prompt=none must now fail.
		u, _ = c.authorize(secret, url.Values{"response_type": {"code"}, "client_id": {confClient},
			"redirect_uri": {confRedirect}, "scope": {"openid"}, "state": {"s"}, "prompt": {"none"}})
		if u == nil || u.Query().Get("error") != "login_required" || u.Query().Get("state") != "s" {
			t.Errorf("prompt=none after logout went to %v; want %s?error=login_required&state=s", u, confRedirect)
		}
	})

	t.Run("NoHint", func(t *testing.T) {
		c, secret, _ := signIn(t)
		res := endSession(secret, url.Values{"client_id": {confClient}, "post_logout_redirect_uri": {confAfter}, "state": {"x"}})
		if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), `method="post"`) {
			t.Errorf("end session without a hint: %d; want a confirmation page with a POST form\n%s", res.StatusCode, res.Body)
		}
		if !c.alive(secret) {
			t.Errorf("a GET without id_token_hint ended the session unasked")
		}
		// The confirmation's POST, from lacop's own page, ends it.
		res = p.do(request{method: "POST", path: "/oauth/logout", cookie: secret, body: url.Values{
			"client_id": {confClient}, "post_logout_redirect_uri": {confAfter}, "state": {"x"}, "confirm": {"yes"},
		}.Encode(), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}})
		if res.StatusCode >= 400 || c.alive(secret) {
			t.Errorf("confirmed sign-out: %d, session alive %v; want it ended", res.StatusCode, c.alive(secret))
		}
		if loc := res.Header.Get("Location"); res.StatusCode/100 == 3 && !strings.Contains(loc, "state=x") {
			t.Errorf("after confirming, sent to %q; want the registered URI with state=x", loc)
		}
	})

	t.Run("BadHint", func(t *testing.T) {
		c, secret, idToken := signIn(t)
		parts := strings.Split(idToken, ".")
		if len(parts) != 3 {
			t.Fatalf("ID token %q is not a JWS", idToken)
		}
		h, pl, sig := parts[0], parts[1], parts[2]
		claims := map[string]any{}
		raw, _ := base64.RawURLEncoding.DecodeString(pl)
		_ = json.Unmarshal(raw, &claims)
		claims["sub"] = "someone-else"
		modified := h + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, claims)) + "." + sig
		flipped := h + "." + pl + "." + flipFirst(sig)
		for name, hint := range map[string]string{"garbage": "not-a-jwt", "modified payload": modified,
			"broken signature": flipped, "unsigned": h + "." + pl + "."} {
			res := endSession(secret, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {confAfter}, "state": {"z"}})
			if loc := res.Header.Get("Location"); strings.HasPrefix(loc, "http://127.0.0.1:9/") {
				t.Errorf("%s hint: redirected to the app (%s); want an error or a confirmation", name, loc)
			}
			if !c.alive(secret) {
				t.Fatalf("%s hint: the session was ended", name)
			}
		}
	})

	t.Run("UnregisteredPostLogoutURI", func(t *testing.T) {
		c, secret, idToken := signIn(t)
		for _, bad := range []string{"https://evil.example/after", "http://127.0.0.1:9/after?keep=2", "http://127.0.0.1:9/after"} {
			res := endSession(secret, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {bad}, "state": {"z"}})
			if loc := res.Header.Get("Location"); strings.Contains(loc, "evil.example") || strings.HasPrefix(loc, "http://127.0.0.1:9/") {
				t.Errorf("post_logout_redirect_uri %s: redirected to %s; want no redirect to an unregistered URI", bad, loc)
			}
		}
		if !c.alive(secret) {
			t.Errorf("an end-session request with an unregistered post_logout_redirect_uri ended the session")
		}
	})
}

// flipFirst changes the first character of a base64url string (the last
// may hold only padding bits, which decoders ignore).
func flipFirst(s string) string {
	if s == "" {
		return "A"
	}
	repl := "A"
	if s[0] == 'A' {
		repl = "B"
	}
	return repl + s[1:]
}
