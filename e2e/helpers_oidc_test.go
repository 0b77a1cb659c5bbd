package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The relying parties of the OpenID Connect tests: apps configured in
// lacop, each acting as a real app would — discovery, the authorization
// code flow with PKCE S256 through a browser (an http.Client with a cookie
// jar that signs in on lacop's HTML form and answers its consent page), ID
// tokens verified with go-oidc against the JWKS, and a back-channel logout
// receiver that verifies every logout token it is sent.

// rpApp is one app: its lacop configuration and, when it has one, its
// back-channel logout receiver.
type rpApp struct {
	ID     string
	Secret string // plaintext; "" for a public client
	Public bool
	// Consent is "" (implicit) or "explicit".
	Consent string
	// Backchannel receives the app's logout tokens; nil: none configured.
	Backchannel *logoutReceiver
	// Frontchannel registers a frontchannel_logout_uri.
	Frontchannel bool
	Scopes       []string // nil: every scope
}

// newApp is a confidential app with a plaintext secret.
func newApp(id string) *rpApp {
	return &rpApp{ID: id, Secret: "s3cret-of-" + id + "-" + rand.Text()}
}

// withReceiver gives the app a back-channel receiver of its own.
func (a *rpApp) withReceiver(t *testing.T) *rpApp {
	a.Backchannel = newLogoutReceiver(t, a.ID)
	return a
}

// The app's URIs. Codes and logouts never travel to them over the network
// (the browser stops at the redirect), so nothing listens there.
func (a *rpApp) redirectURI() string     { return "http://127.0.0.1/" + a.ID + "/callback" }
func (a *rpApp) postLogoutURI() string   { return "http://127.0.0.1/" + a.ID + "/signed-out" }
func (a *rpApp) frontchannelURI() string { return "http://127.0.0.1/" + a.ID + "/frontchannel" }

// yaml is the app's entry under oidc.clients.
func (a *rpApp) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "    - id: %s\n      name: %q\n", a.ID, "App "+a.ID)
	if a.Public {
		b.WriteString("      public: true\n")
	} else {
		fmt.Fprintf(&b, "      secret: %q\n", "$plaintext$"+a.Secret)
	}
	fmt.Fprintf(&b, "      redirect_uris: [%q]\n", a.redirectURI())
	fmt.Fprintf(&b, "      post_logout_redirect_uris: [%q]\n", a.postLogoutURI())
	if a.Backchannel != nil {
		fmt.Fprintf(&b, "      backchannel_logout_uri: %q\n      backchannel_logout_session_required: true\n", a.Backchannel.URL())
	}
	if a.Frontchannel {
		fmt.Fprintf(&b, "      frontchannel_logout_uri: %q\n", a.frontchannelURI())
	}
	if a.Consent != "" {
		fmt.Fprintf(&b, "      consent: %s\n", a.Consent)
	}
	if a.Scopes != nil {
		fmt.Fprintf(&b, "      scopes: [%s]\n", strings.Join(a.Scopes, ", "))
	}
	return b.String()
}

// oidcConfig is the oidc section for the apps (retry is
// oidc.backchannel_retry, "" for the default), to append to a config.
func oidcConfig(retry string, apps ...*rpApp) string {
	var b strings.Builder
	b.WriteString("oidc:\n")
	if retry != "" {
		fmt.Fprintf(&b, "  backchannel_retry: %s\n", retry)
	}
	b.WriteString("  clients:\n")
	for _, a := range apps {
		b.WriteString(a.yaml())
	}
	return b.String()
}

// opView is lacop as an app sees it: the discovery document, read from one
// instance (base), whose endpoints are reached on that instance even when
// the deployment's public URL (the issuer) is a load balancer's.
type opView struct {
	base   string
	issuer string
	doc    map[string]any
	keys   *oidc.RemoteKeySet
	http   *http.Client
}

// createUser makes a user through the admin API with admin's session: no
// lacop process to start, as the CLI needs (the tests here make many).
func (p *portal) createUser(admin, email string) {
	p.t.Helper()
	res := p.do(request{method: "POST", path: "/api/admin/users", cookie: admin,
		body: map[string]any{"email": email, "name": "", "password": testPassword}})
	if res.StatusCode != http.StatusCreated {
		p.t.Fatalf("POST /api/admin/users %s = %d %s; want 201", email, res.StatusCode, res.Body)
	}
}

// oidcHTTP is the client the apps' own server-to-server calls use.
var oidcHTTP = &http.Client{Timeout: 30 * time.Second}

// discoverOP reads the discovery document of the instance at base, failing
// the test unless it is served and names issuer.
func discoverOP(t *testing.T, base, issuer string) *opView {
	t.Helper()
	res, err := oidcHTTP.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("discovery = %d %s; want 200", res.StatusCode, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("discovery body %s: %v", body, err)
	}
	if doc["issuer"] != issuer {
		t.Fatalf("discovery issuer = %v; want %q", doc["issuer"], issuer)
	}
	o := &opView{base: base, issuer: issuer, doc: doc, http: oidcHTTP}
	o.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), oidcHTTP), o.endpoint(t, "jwks_uri"))
	return o
}

// discoverPortal is discoverOP on a single portal, whose public URL is the
// issuer.
func discoverPortal(t *testing.T, p *portal) *opView {
	t.Helper()
	return discoverOP(t, p.URL, strings.TrimSuffix(p.publicURL(), "/"))
}

// endpoint is the discovery document's URL for name, on this instance.
func (o *opView) endpoint(t *testing.T, name string) string {
	t.Helper()
	u, _ := o.doc[name].(string)
	path, ok := strings.CutPrefix(u, o.issuer)
	if u == "" || !ok || !strings.HasPrefix(path, "/") {
		t.Fatalf("discovery %s = %q; want a URL under the issuer %s", name, u, o.issuer)
	}
	return o.base + path
}

// relyingParty is an app acting against one lacop instance.
type relyingParty struct {
	app      *rpApp
	op       *opView
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (o *opView) rp(t *testing.T, a *rpApp) *relyingParty {
	t.Helper()
	r := &relyingParty{app: a, op: o}
	r.conf = oauth2.Config{
		ClientID: a.ID, ClientSecret: a.Secret, RedirectURL: a.redirectURI(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups", oidc.ScopeOfflineAccess},
		Endpoint: oauth2.Endpoint{
			AuthURL: o.endpoint(t, "authorization_endpoint"), TokenURL: o.endpoint(t, "token_endpoint"),
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
	if a.Public {
		r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	r.verifier = oidc.NewVerifier(o.issuer, o.keys, &oidc.Config{ClientID: a.ID})
	return r
}

// rpBrowser is a person's browser: a cookie jar, no automatic redirects (each
// hop is looked at), and the credentials it types into lacop's form.
type rpBrowser struct {
	t    *testing.T
	base string
	// public is the deployment's public URL when it is not base (several
	// instances behind a load balancer): the browser reaches it at base.
	public     string
	jar        *cookiejar.Jar
	client     *http.Client
	email      string
	rememberMe bool
}

func newRPBrowser(t *testing.T, base, email string) *rpBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rpBrowser{t: t, base: base, jar: jar, email: email, client: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// adopt puts a session secret (from an API sign-in) into the jar.
func (b *rpBrowser) adopt(secret string) {
	u, _ := url.Parse(b.base + "/")
	b.jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: secret, Path: "/", Secure: true, HttpOnly: true}})
}

// secret is the session secret the jar holds ("" none).
func (b *rpBrowser) secret() string {
	u, _ := url.Parse(b.base + "/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// navigate GETs u as a top-level navigation (Sec-Fetch headers as a
// browser sends them).
func (b *rpBrowser) navigate(u string) *response {
	b.t.Helper()
	if rest, ok := strings.CutPrefix(u, b.public+"/"); ok && b.public != "" {
		u = b.base + "/" + rest // the load balancer
	}
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	return b.send(req)
}

// submit POSTs a form from one of lacop's own pages.
func (b *rpBrowser) submit(path string, form url.Values) *response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	return b.send(req)
}

func (b *rpBrowser) send(req *http.Request) *response {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if c := sessionCookie(res); c != nil {
		leaks.secret("session cookie", c.Value)
	}
	return &response{Response: res, Body: data}
}

// oidcLocation resolves a redirect's Location against the request URL.
func oidcLocation(t *testing.T, res *response) string {
	t.Helper()
	loc, err := res.Location()
	if err != nil {
		t.Fatalf("%s %s = %d without a usable Location: %v", res.Request.Method, res.Request.URL, res.StatusCode, err)
	}
	return loc.String()
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields are a page's hidden form inputs.
func hiddenFields(body []byte) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllSubmatch(body, -1) {
		v.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
	}
	return v
}

// authParams vary an authorization request.
type authParams struct {
	prompt, maxAge string
	// noPKCE leaves out code_challenge; method overrides S256.
	noPKCE bool
	method string
	// redirectURI overrides the registered one.
	redirectURI string
	// deny answers a consent page with Deny.
	deny bool
	// scopes overrides the app's usual request.
	scopes []string
}

// authResult is where an authorization request ended: at the app's
// redirect URI (code or error), or on a page of lacop's that does not lead
// on (errorPage).
type authResult struct {
	code, err, errDesc string
	verifier, nonce    string
	// pages are lacop's pages the person was shown on the way: "login" (the
	// sign-in form) and "consent".
	pages     []string
	errorPage *response
}

// authorize runs an authorization request in the browser: from the app's
// redirect to lacop, through the sign-in form and the consent page when
// they are shown, to the redirect back to the app. Any redirect to another
// place of lacop is followed; twenty hops is a loop.
func (r *relyingParty) authorize(t *testing.T, b *rpBrowser, ap authParams) *authResult {
	t.Helper()
	res := &authResult{verifier: oauth2.GenerateVerifier(), nonce: rand.Text()}
	state := rand.Text()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(res.nonce)}
	if !ap.noPKCE {
		if ap.method != "" {
			opts = append(opts, oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(res.verifier)),
				oauth2.SetAuthURLParam("code_challenge_method", ap.method))
		} else {
			opts = append(opts, oauth2.S256ChallengeOption(res.verifier))
		}
	}
	if ap.prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", ap.prompt))
	}
	if ap.maxAge != "" {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", ap.maxAge))
	}
	redirect := r.app.redirectURI()
	if ap.redirectURI != "" {
		opts = append(opts, oauth2.SetAuthURLParam("redirect_uri", ap.redirectURI))
		redirect = ap.redirectURI
	}
	conf := r.conf
	if ap.scopes != nil {
		conf.Scopes = ap.scopes
	}
	next := conf.AuthCodeURL(state, opts...)
	var trail []string
	for hop := 0; hop < 20; hop++ {
		trail = append(trail, next)
		if strings.HasPrefix(next, redirect+"?") {
			q, _ := url.Parse(next)
			v := q.Query()
			if got := v.Get("state"); got != state {
				t.Errorf("state at the redirect URI = %q; want %q (%s)", got, state, next)
			}
			res.code, res.err, res.errDesc = v.Get("code"), v.Get("error"), v.Get("error_description")
			if res.code != "" {
				leaks.secret("authorization code", res.code)
			}
			return res
		}
		page := b.navigate(next)
		u := page.Request.URL
		switch {
		case page.StatusCode >= 300 && page.StatusCode < 400:
			next = oidcLocation(t, page)
		case page.StatusCode == http.StatusOK && u.Path == "/login":
			if slices.Contains(res.pages, "login") {
				t.Fatalf("the sign-in form was shown again right after signing in on it (a loop):\n%s", strings.Join(trail, "\n"))
			}
			res.pages = append(res.pages, "login")
			if b.email == "" {
				t.Fatalf("the sign-in form was shown to a browser that has no account (%v)", trail)
			}
			form := url.Values{"email": {b.email}, "password": {testPassword}, "rd": {hiddenFields(page.Body).Get("rd")}}
			if b.rememberMe {
				form.Set("rememberMe", "1")
			}
			sent := b.submit("/login", form)
			if sent.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in form = %d %s; want 303", sent.StatusCode, sent.Body)
			}
			next = oidcLocation(t, sent)
		case page.StatusCode == http.StatusOK && u.Path == "/oauth/continue":
			res.pages = append(res.pages, "consent")
			fields := hiddenFields(page.Body)
			if fields.Get("id") == "" || !strings.Contains(string(page.Body), `value="allow"`) {
				t.Fatalf("/oauth/continue showed a page that is not a consent form:\n%s", page.Body)
			}
			decision := "allow"
			if ap.deny {
				decision = "deny"
			}
			sent := b.submit("/oauth/continue", url.Values{"id": {fields.Get("id")}, "decision": {decision}})
			if sent.StatusCode < 300 || sent.StatusCode >= 400 {
				t.Fatalf("consent %s = %d %s; want a redirect", decision, sent.StatusCode, sent.Body)
			}
			next = oidcLocation(t, sent)
		default:
			res.errorPage = page
			return res
		}
	}
	t.Fatalf("authorization did not come back to the app within 20 hops (a redirect loop?):\n%s", strings.Join(trail, "\n"))
	return nil
}

// appSession is what an app holds after a sign-in.
type appSession struct {
	rp       *relyingParty
	idToken  string
	sub, sid string
	authTime time.Time
	claims   map[string]any
	access   string
	refresh  string
}

// idClaims are the ID token's claims the tests read.
type idClaims struct {
	Sid      string   `json:"sid"`
	AuthTime *int64   `json:"auth_time"`
	Acr      string   `json:"acr"`
	Amr      []string `json:"amr"`
	Nonce    string   `json:"nonce"`
	Email    string   `json:"email"`
}

// exchange redeems a code (with its PKCE verifier) and verifies the ID
// token: signature (RS256, from the JWKS), iss, aud, exp, nonce, and the
// presence of sid and auth_time.
func (r *relyingParty) exchange(t *testing.T, ar *authResult) *appSession {
	t.Helper()
	if ar.code == "" {
		t.Fatalf("no code to exchange: error %q %q, page %v", ar.err, ar.errDesc, pageSummary(ar.errorPage))
	}
	ctx := oidc.ClientContext(context.Background(), oidcHTTP)
	tok, err := r.conf.Exchange(ctx, ar.code, oauth2.VerifierOption(ar.verifier))
	if err != nil {
		t.Fatalf("code exchange for %s: %v", r.app.ID, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatalf("token response for %s has no id_token", r.app.ID)
	}
	s := r.verifyIDToken(t, raw, ar.nonce)
	s.access, s.refresh = tok.AccessToken, tok.RefreshToken
	leaks.secret("app access token", s.access)
	leaks.secret("app refresh token", s.refresh)
	if s.access == "" {
		t.Fatalf("token response for %s has no access_token", r.app.ID)
	}
	return s
}

// verifyIDToken checks an ID token as an app would and reads it.
func (r *relyingParty) verifyIDToken(t *testing.T, raw, nonce string) *appSession {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), oidcHTTP)
	id, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token for %s does not verify: %v", r.app.ID, err)
	}
	var c idClaims
	var all map[string]any
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if err := id.Claims(&all); err != nil {
		t.Fatal(err)
	}
	if nonce != "" && c.Nonce != nonce {
		t.Errorf("ID token nonce = %q; want %q", c.Nonce, nonce)
	}
	if c.Sid == "" || c.AuthTime == nil || id.Subject == "" {
		t.Fatalf("ID token for %s lacks sub, sid or auth_time: %v", r.app.ID, all)
	}
	return &appSession{rp: r, idToken: raw, sub: id.Subject, sid: c.Sid, authTime: time.Unix(*c.AuthTime, 0), claims: all}
}

// signIn runs the whole flow for the browser's session and returns the
// app's tokens.
func (r *relyingParty) signIn(t *testing.T, b *rpBrowser) *appSession {
	t.Helper()
	return r.exchange(t, r.authorize(t, b, authParams{}))
}

func pageSummary(res *response) string {
	if res == nil {
		return "none"
	}
	body := string(res.Body)
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s %s = %d %s", res.Request.Method, res.Request.URL, res.StatusCode, body)
}

// post sends form to the endpoint named in discovery, with the app's
// client authentication (HTTP Basic; client_id alone for a public app).
func (r *relyingParty) post(t *testing.T, endpoint string, form url.Values) *response {
	t.Helper()
	if r.app.Public {
		form.Set("client_id", r.app.ID)
	}
	req, err := http.NewRequest("POST", r.op.endpoint(t, endpoint), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !r.app.Public {
		req.SetBasicAuth(url.QueryEscape(r.app.ID), url.QueryEscape(r.app.Secret))
	}
	return roundTrip(t, r.op.http, req)
}

func roundTrip(t *testing.T, c *http.Client, req *http.Request) *response {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Response: res, Body: data}
}

// refresh is the refresh_token grant.
func (r *relyingParty) refresh(t *testing.T, token string) *response {
	t.Helper()
	return r.post(t, "token_endpoint", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

// refreshOK rotates s's refresh token and takes the new pair.
func (s *appSession) refreshOK(t *testing.T, what string) {
	t.Helper()
	res := s.rp.refresh(t, s.refresh)
	if res.StatusCode != http.StatusOK {
		t.Errorf("%s: refresh for %s = %d %s; want 200", what, s.rp.app.ID, res.StatusCode, res.Body)
		return
	}
	var body struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.Access == "" || body.Refresh == "" {
		t.Errorf("%s: refresh body %s; want access_token and refresh_token", what, res.Body)
		return
	}
	if body.Refresh == s.refresh {
		t.Errorf("%s: refresh for %s returned the same refresh token; want a rotated one", what, s.rp.app.ID)
	}
	leaks.secret("app access token", body.Access)
	leaks.secret("app refresh token", body.Refresh)
	s.access, s.refresh = body.Access, body.Refresh
}

// refreshDead checks that s's refresh token gets invalid_grant.
func (s *appSession) refreshDead(t *testing.T, what string) {
	t.Helper()
	wantOAuthError(t, what+": refresh for "+s.rp.app.ID, s.rp.refresh(t, s.refresh), "invalid_grant")
}

// introspect is RFC 7662 introspection of token by the app.
func (r *relyingParty) introspect(t *testing.T, token string) map[string]any {
	t.Helper()
	res := r.post(t, "introspection_endpoint", url.Values{"token": {token}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("introspection by %s = %d %s; want 200", r.app.ID, res.StatusCode, res.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("introspection body %s: %v", res.Body, err)
	}
	if _, ok := body["active"].(bool); !ok {
		t.Fatalf("introspection body %s has no boolean active", res.Body)
	}
	return body
}

// active is the introspection's "active" for s's access token.
func (s *appSession) active(t *testing.T) bool {
	t.Helper()
	return s.rp.introspect(t, s.access)["active"] == true
}

// wantAlive checks that the app's tokens still work: introspection says
// active, and the refresh token rotates.
func (s *appSession) wantAlive(t *testing.T, what string) {
	t.Helper()
	if !s.active(t) {
		t.Errorf("%s: %s's access token introspects active:false; want active (its session was not ended)", what, s.rp.app.ID)
	}
	s.refreshOK(t, what)
}

// wantDead checks that the app's tokens are ended: refresh invalid_grant,
// introspection active:false.
func (s *appSession) wantDead(t *testing.T, what string) {
	t.Helper()
	s.refreshDead(t, what)
	if s.active(t) {
		t.Errorf("%s: %s's access token still introspects active:true; want active:false", what, s.rp.app.ID)
	}
}

// revoke is RFC 7009 revocation by the app.
func (r *relyingParty) revoke(t *testing.T, token, hint string) *response {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return r.post(t, "revocation_endpoint", form)
}

// userinfo is GET userinfo with the access token.
func (r *relyingParty) userinfo(t *testing.T, access string) *response {
	t.Helper()
	req, err := http.NewRequest("GET", r.op.endpoint(t, "userinfo_endpoint"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	return roundTrip(t, r.op.http, req)
}

// logoutReceiver is an app's back-channel logout endpoint on 127.0.0.1.
// It verifies every logout token as Back-Channel Logout 1.0 asks (a token
// that fails is recorded, answered 400, and fails the test at its end), and
// answers as the test tells it: 200, an error status, or not at all.
type logoutReceiver struct {
	t        *testing.T
	clientID string
	srv      *httptest.Server
	release  chan struct{}

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	answer   func(n int) int // n: the how-many-th attempt at this jti; noAnswer: -1
	attempts []logoutAttempt
	tries    map[string]int // jti → attempts seen
}

// noAnswer is an answer that never comes: the receiver holds the request until
// lacop gives up on it.
const noAnswer = -1

// logoutAttempt is one POST the receiver was sent.
type logoutAttempt struct {
	at       time.Time
	jti      string
	sub, sid string
	status   int           // what the receiver answered (noAnswer: -1)
	held     time.Duration // noAnswer: how long until lacop hung up
	bad      string        // why the token failed verification ("" it passed)
}

func newLogoutReceiver(t *testing.T, clientID string) *logoutReceiver {
	r := &logoutReceiver{t: t, clientID: clientID, release: make(chan struct{}), tries: map[string]int{},
		answer: func(int) int { return http.StatusOK }}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		close(r.release)
		r.srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		taken := map[string]int{} // jti → 2xx answers
		for _, a := range r.attempts {
			if a.bad != "" {
				t.Errorf("%s's back-channel receiver was sent a bad logout token: %s", clientID, a.bad)
			} else if a.status >= 200 && a.status < 300 {
				if taken[a.jti]++; taken[a.jti] == 2 {
					t.Errorf("%s's back-channel receiver took the logout %s (sid %s) twice; want once", clientID, a.jti, a.sid)
				}
			}
		}
	})
	return r
}

// URL is the receiver's backchannel_logout_uri.
func (r *logoutReceiver) URL() string { return r.srv.URL + "/backchannel-logout" }

// trust makes the receiver verify tokens against lacop's issuer and JWKS.
func (r *logoutReceiver) trust(o *opView) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verifier = oidc.NewVerifier(o.issuer, o.keys, &oidc.Config{ClientID: r.clientID})
}

// respond sets how the receiver answers the n-th attempt at a logout.
func (r *logoutReceiver) respond(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *logoutReceiver) serve(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	a := logoutAttempt{at: start}
	raw := ""
	if req.Method != http.MethodPost || req.URL.Path != "/backchannel-logout" {
		a.bad = fmt.Sprintf("%s %s; want POST /backchannel-logout", req.Method, req.URL.Path)
	} else if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		a.bad = fmt.Sprintf("Content-Type %q; want application/x-www-form-urlencoded", ct)
	} else if err := req.ParseForm(); err != nil {
		a.bad = "unreadable form: " + err.Error()
	} else if raw = req.PostForm.Get("logout_token"); raw == "" {
		a.bad = "no logout_token in the form"
	}
	r.mu.Lock()
	verifier := r.verifier
	r.mu.Unlock()
	if a.bad == "" {
		a.jti, a.sub, a.sid, a.bad = verifyLogoutToken(req.Context(), verifier, r.clientID, raw)
	}
	r.mu.Lock()
	r.tries[a.jti]++
	n, answer := r.tries[a.jti], r.answer
	r.mu.Unlock()
	a.status = answer(n)
	if a.bad != "" {
		a.status = http.StatusBadRequest
	}
	if a.status == noAnswer {
		select {
		case <-req.Context().Done():
		case <-r.release:
		}
		a.held = time.Since(start)
	} else {
		w.WriteHeader(a.status)
	}
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

// verifyLogoutToken checks a logout token (Back-Channel Logout 1.0 §2.4,
// §2.6): header typ logout+jwt and alg RS256; signature by a JWKS key;
// iss; aud the client alone; iat, exp (at most two minutes after iat), jti,
// sub and sid present; the back-channel event as an empty object; no
// nonce. bad is "" when every check passed.
func verifyLogoutToken(ctx context.Context, v *oidc.IDTokenVerifier, clientID, raw string) (jti, sub, sid, bad string) {
	if v == nil {
		return "", "", "", "a logout token arrived before the test trusted the issuer"
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", "", "", "not a compact JWS"
	}
	var header struct {
		Typ, Alg, Kid string
	}
	if data, err := b64.DecodeString(parts[0]); err != nil || json.Unmarshal(data, &header) != nil {
		return "", "", "", "unreadable JOSE header"
	}
	if header.Typ != "logout+jwt" || header.Alg != "RS256" || header.Kid == "" {
		return "", "", "", fmt.Sprintf("header %+v; want typ logout+jwt, alg RS256 and a kid", header)
	}
	lt, err := v.VerifyLogout(ctx, raw)
	if err != nil {
		return "", "", "", "VerifyLogout: " + err.Error()
	}
	var claims struct {
		Aud    any                        `json:"aud"`
		Iat    *int64                     `json:"iat"`
		Exp    *int64                     `json:"exp"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := lt.Claims(&claims); err != nil {
		return "", "", "", "claims: " + err.Error()
	}
	switch {
	case claims.Iat == nil || claims.Exp == nil:
		bad = "no iat or exp"
	case *claims.Exp <= *claims.Iat || *claims.Exp-*claims.Iat > 120:
		bad = fmt.Sprintf("exp %d is not within two minutes after iat %d", *claims.Exp, *claims.Iat)
	case time.Since(time.Unix(*claims.Iat, 0)).Abs() > time.Minute:
		bad = fmt.Sprintf("iat %d is not now", *claims.Iat)
	case lt.Subject == "" || lt.SessionID == "":
		bad = "no sub or no sid"
	case len(claims.Events) != 1 || strings.TrimSpace(string(claims.Events["http://schemas.openid.net/event/backchannel-logout"])) != "{}":
		bad = fmt.Sprintf("events = %v; want only the back-channel logout event as {}", claims.Events)
	case claims.Aud != clientID && !(slices.Equal(lt.Audience, []string{clientID})):
		bad = fmt.Sprintf("aud = %v; want %q alone", claims.Aud, clientID)
	}
	return lt.TokenID, lt.Subject, lt.SessionID, bad
}

// all is every attempt so far.
func (r *logoutReceiver) all() []logoutAttempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// delivered are the attempts answered 2xx for sid ("" any).
func (r *logoutReceiver) delivered(sid string) []logoutAttempt {
	var out []logoutAttempt
	for _, a := range r.all() {
		if a.bad == "" && a.status >= 200 && a.status < 300 && (sid == "" || a.sid == sid) {
			out = append(out, a)
		}
	}
	return out
}

// waitDelivered waits up to d until every sid in sids has a delivery, and
// reports those that have none.
func (r *logoutReceiver) waitDelivered(d time.Duration, sids ...string) (missing []string) {
	waitFor(d, func() bool {
		for _, s := range sids {
			if len(r.delivered(s)) == 0 {
				return false
			}
		}
		return true
	})
	for _, s := range sids {
		if len(r.delivered(s)) == 0 {
			missing = append(missing, s)
		}
	}
	return missing
}
