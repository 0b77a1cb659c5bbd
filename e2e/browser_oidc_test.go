package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// goRelyingParty is a small web app that signs people in through lacop
// with go-oidc and x/oauth2 (code flow, PKCE, nonce), keeps its own session
// in its own cookie, and ends it when lacop tells it to: by front-channel
// logout (a GET of /frontchannel?iss=…&sid=… the browser makes in an
// iframe) or back-channel logout (a POST of a logout_token to
// /backchannel). It is served on localhost, another site than lacop's
// 127.0.0.1.
type goRelyingParty struct {
	t      *testing.T
	name   string // its client id and display name
	secret string
	cookie string // its session cookie's name
	URL    string

	mu       sync.Mutex
	issuer   string
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	pending  map[string]rpPending  // state → what the callback checks
	sessions map[string]*rpSession // cookie value → session
	front    []rpFrontchannelHit   // every front-channel request
	back     []rpBackchannelLogout // every back-channel request
	errs     []string              // what went wrong on the app's side
	ended    map[string]string     // sid → how its sessions ended first
	// unavailable is how many valid logout tokens the app answers with 503
	// before it takes one (as an app being restarted would).
	unavailable int
}

type rpPending struct{ verifier, nonce string }

type rpSession struct {
	email, sub, sid string
	idToken         string // the hint its own sign-out sends lacop
	ended           string // "" while live, else "front-channel" or "back-channel"
}

type rpIDClaims struct {
	Email string `json:"email"`
	Sid   string `json:"sid"`
	Nonce string `json:"nonce"`
}

// rpFrontchannelHit is a front-channel logout request as the app saw it.
type rpFrontchannelHit struct {
	iss, sid   string
	withCookie bool // the browser sent the app's cookie along
}

// rpBackchannelLogout is a back-channel logout as the app received it.
type rpBackchannelLogout struct {
	typ    string // the JWT header's typ
	claims map[string]any
	err    string // why the app refused it ("" a valid logout token)
	status int    // what the app answered
}

func startGoRelyingParty(t *testing.T, name string) *goRelyingParty {
	t.Helper()
	rp := &goRelyingParty{t: t, name: name, secret: randomToken() + randomToken(), cookie: name + "_session",
		pending: map[string]rpPending{}, sessions: map[string]*rpSession{}, ended: map[string]string{}}
	leaks.secret("client secret", rp.secret)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("GET /{$}", rp.home)
	mux.HandleFunc("GET /logout", rp.logout)
	mux.HandleFunc("GET /frontchannel", rp.frontchannel)
	mux.HandleFunc("POST /backchannel", rp.backchannel)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rp.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return rp
}

// clientYAML is the app's entry in lacop's oidc.clients.
func (rp *goRelyingParty) clientYAML() string {
	return fmt.Sprintf(`    - id: %s
      name: %s
      secret: "$plaintext$%s"
      redirect_uris: [%q]
      post_logout_redirect_uris: [%q]
      frontchannel_logout_uri: %q
      backchannel_logout_uri: %q
      backchannel_logout_session_required: true
      scopes: [openid, profile, email, offline_access]
`, rp.name, rp.name, rp.secret, rp.URL+"/callback", rp.URL+"/", rp.URL+"/frontchannel", rp.URL+"/backchannel")
}

// discover points the app at lacop, as an app is given the issuer.
func (rp *goRelyingParty) discover(issuer string) {
	rp.t.Helper()
	provider, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		rp.t.Fatalf("%s: discovery: %v", rp.name, err)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.issuer = issuer
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: rp.name})
	rp.config = oauth2.Config{ClientID: rp.name, ClientSecret: rp.secret, Endpoint: provider.Endpoint(),
		RedirectURL: rp.URL + "/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}
}

func (rp *goRelyingParty) fail(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rp.mu.Lock()
	rp.errs = append(rp.errs, msg)
	rp.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (rp *goRelyingParty) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = rpPending{verifier: verifier, nonce: nonce}
	u := rp.config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	rp.mu.Unlock()
	http.Redirect(w, r, u, http.StatusFound)
}

func (rp *goRelyingParty) callback(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	p, ok := rp.pending[r.FormValue("state")]
	delete(rp.pending, r.FormValue("state"))
	config, verifier := rp.config, rp.verifier
	rp.mu.Unlock()
	if !ok {
		rp.fail(w, "%s: callback with an unknown state %q", rp.name, r.FormValue("state"))
		return
	}
	token, err := config.Exchange(r.Context(), r.FormValue("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		rp.fail(w, "%s: code exchange: %v", rp.name, err)
		return
	}
	raw, _ := token.Extra("id_token").(string)
	idToken, err := verifier.Verify(r.Context(), raw)
	if err != nil {
		rp.fail(w, "%s: ID token: %v", rp.name, err)
		return
	}
	var claims rpIDClaims
	if err := idToken.Claims(&claims); err != nil || claims.Nonce != p.nonce || claims.Sid == "" || claims.Email == "" {
		rp.fail(w, "%s: ID token claims %+v (%v); want the nonce sent, a sid and an email", rp.name, claims, err)
		return
	}
	value := randomToken()
	rp.mu.Lock()
	rp.sessions[value] = &rpSession{email: claims.Email, sub: idToken.Subject, sid: claims.Sid, idToken: raw}
	rp.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: rp.cookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusFound)
}

// home is the app's page: who is signed in, or 401.
func (rp *goRelyingParty) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var s *rpSession
	if c, err := r.Cookie(rp.cookie); err == nil {
		rp.mu.Lock()
		s = rp.sessions[c.Value]
		rp.mu.Unlock()
	}
	switch {
	case s == nil:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `<p id="status">%s: nobody is signed in</p>`, rp.name)
	case s.ended != "":
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `<p id="status">%s: signed out (%s)</p>`, rp.name, s.ended)
	default:
		fmt.Fprintf(w, `<p id="status">%s: signed in as %s</p>`, rp.name, html.EscapeString(s.email))
	}
}

// logout is the app's own Sign out: it ends its session and sends the
// browser to lacop's end-session endpoint (RP-initiated logout) with its
// ID token as the hint, to come back to its home page.
func (rp *goRelyingParty) logout(w http.ResponseWriter, r *http.Request) {
	var hint string
	if c, err := r.Cookie(rp.cookie); err == nil {
		rp.mu.Lock()
		if s := rp.sessions[c.Value]; s != nil {
			hint = s.idToken
			if s.ended == "" {
				s.ended = "its own sign-out"
			}
		}
		rp.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: rp.cookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, rp.issuer+"/oauth/logout?"+url.Values{"id_token_hint": {hint}, "client_id": {rp.name},
		"post_logout_redirect_uri": {rp.URL + "/"}, "state": {"bye"}}.Encode(), http.StatusFound)
}

// endSid ends the app's sessions with the given lacop sid.
func (rp *goRelyingParty) endSid(sid, how string) int {
	n := 0
	for _, s := range rp.sessions {
		if s.sid == sid && s.ended == "" {
			s.ended = how
			n++
		}
	}
	if _, ok := rp.ended[sid]; !ok && n > 0 {
		rp.ended[sid] = how
	}
	return n
}

// frontchannel is Front-Channel Logout 1.0 §2: the iss must be lacop's,
// the sid names the sessions to end. The app's own cookie is not needed
// (a third-party iframe does not get a SameSite=Lax cookie).
func (rp *goRelyingParty) frontchannel(w http.ResponseWriter, r *http.Request) {
	_, err := r.Cookie(rp.cookie)
	hit := rpFrontchannelHit{iss: r.URL.Query().Get("iss"), sid: r.URL.Query().Get("sid"), withCookie: err == nil}
	rp.mu.Lock()
	rp.front = append(rp.front, hit)
	if hit.iss == rp.issuer {
		rp.endSid(hit.sid, "front-channel")
	}
	rp.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, &http.Cookie{Name: rp.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	fmt.Fprint(w, "signed out")
}

// backchannel is Back-Channel Logout 1.0 §2.6: the logout token is
// checked like an ID token (signature, iss, aud, exp) and for what makes it
// a logout token (typ, the event, a sid, no nonce).
func (rp *goRelyingParty) backchannel(w http.ResponseWriter, r *http.Request) {
	raw := r.PostFormValue("logout_token")
	got := rpBackchannelLogout{claims: map[string]any{}}
	if header, _, ok := strings.Cut(raw, "."); ok {
		var h struct {
			Typ string `json:"typ"`
		}
		if b, err := base64.RawURLEncoding.DecodeString(header); err == nil && json.Unmarshal(b, &h) == nil {
			got.typ = h.Typ
		}
	}
	rp.mu.Lock()
	verifier := rp.verifier
	rp.mu.Unlock()
	tok, err := verifier.Verify(r.Context(), raw)
	if err == nil {
		err = tok.Claims(&got.claims)
	}
	events, _ := got.claims["events"].(map[string]any)
	sid, _ := got.claims["sid"].(string)
	_, hasEvent := events["http://schemas.openid.net/event/backchannel-logout"]
	_, hasNonce := got.claims["nonce"]
	switch {
	case err != nil:
		got.err = err.Error()
	case got.typ != "logout+jwt" || !hasEvent || hasNonce || sid == "":
		got.err = "not a logout token with a sid"
	}
	rp.mu.Lock()
	switch {
	case got.err != "":
		got.status = http.StatusBadRequest
	case rp.unavailable > 0:
		rp.unavailable--
		got.status = http.StatusServiceUnavailable
	default:
		got.status = http.StatusOK
		rp.endSid(sid, "back-channel")
	}
	rp.back = append(rp.back, got)
	rp.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	if got.status != http.StatusOK {
		http.Error(w, got.err, got.status)
	}
}

// taken reports whether the app took a back-channel logout (answered 200).
func (rp *goRelyingParty) taken() bool {
	for _, l := range rp.back {
		if l.status == http.StatusOK {
			return true
		}
	}
	return false
}

// only returns the app's single session (failing otherwise).
func (rp *goRelyingParty) only() rpSession {
	rp.t.Helper()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.sessions) != 1 || len(rp.errs) > 0 {
		rp.t.Fatalf("%s: sessions %v, errors %q; want one session", rp.name, rp.sessions, rp.errs)
	}
	for _, s := range rp.sessions {
		return *s
	}
	return rpSession{}
}

// TestBrowserOIDCSignOutReachesApps: in chromium, a person signs in to two
// apps (go-oidc relying parties on localhost, another site than lacop's
// 127.0.0.1) through one lacop session, then clicks Sign out at lacop. The
// signed-out page loads each app's front-channel logout URI with lacop's
// iss and the session's sid, lacop's back-channel logout reaches each app
// with a valid logout token for that sid, and each app's own session
// cookie, still in the browser, is refused afterwards. Beta answers the
// first two back-channel attempts with 503, so its session is ended by the
// front-channel request alone, and the back-channel logout still arrives
// (retried, with the same jti). The sign-out answer is held a second on
// its way to the browser, so that the session's end reaches the signing-out
// status is what the app's page says in the browser.
func (rp *goRelyingParty) status(t *testing.T, step context.Context) string {
	t.Helper()
	if err := chromedp.Do(step, chromedp.Navigate(rp.URL+"/")); err != nil {
		t.Fatalf("%s's page: %v", rp.name, err)
	}
	text, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("#status")))
	if err != nil {
		t.Fatalf("%s's page: %v", rp.name, err)
	}
	return text
}

// signInBoth signs in to first on lacop's login form; second then needs no
// form (one lacop session).
func signInBoth(t *testing.T, step context.Context, first, second *goRelyingParty, email string) {
	t.Helper()
	err := chromedp.Do(step,
		chromedp.Navigate(first.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#status")),
	)
	if err != nil {
		t.Fatalf("sign in to %s through lacop: %v", first.name, err)
	}
	if err := chromedp.Do(step, chromedp.Navigate(second.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
		t.Fatalf("sign in to %s through lacop: %v", second.name, err)
	}
}

// page's own event stream first, as it may on any slow link.
func TestBrowserOIDCSignOutReachesApps(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	alpha, beta := startGoRelyingParty(t, "alpha"), startGoRelyingParty(t, "beta")
	beta.mu.Lock()
	beta.unavailable = 2
	beta.mu.Unlock()
	p := startPortal(t, "oidc:\n  clients:\n"+alpha.clientYAML()+beta.clientYAML())
	p.addUser("carol@example.com", "--name", "Carol")
	issuer := p.providerMetadata().Issuer
	alpha.discover(issuer)
	beta.discover(issuer)

	step, cancel := within(browser, 60*time.Second)
	defer cancel()
	status := func(rp *goRelyingParty) string { return rp.status(t, step) }
	signInBoth(t, step, alpha, beta, "carol@example.com")
	for _, rp := range []*goRelyingParty{alpha, beta} {
		if got, want := status(rp), rp.name+": signed in as carol@example.com"; got != want {
			t.Fatalf("%s's page says %q; want %q", rp.name, got, want)
		}
	}
	a, b := alpha.only(), beta.only()
	if a.sid != b.sid || a.sub != b.sub {
		t.Fatalf("alpha's sid/sub %q/%q, beta's %q/%q; want the same lacop session", a.sid, a.sub, b.sid, b.sub)
	}

	// Sign out at lacop, with the sidebar's button, keeping the answer.
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/"), chromedp.WaitVisible(chromedp.CSS("nav.sidebar"))); err != nil {
		t.Fatalf("lacop's dashboard: %v", err)
	}
	// The sign-out answer is held a second on its way to the page, as a
	// slow link or a buffering proxy would hold it: by then the session's
	// end has reached the page's own event stream. The page must still
	// show the signed-out page, whose frames tell the apps. (The headers
	// are read here too, as they came over the wire.)
	const hold = time.Second
	var mu sync.Mutex
	var answered network.RequestID // the sign-out answer, once the page has it
	raw := map[network.RequestID]network.Headers{}
	if err := chromedp.Listen(browser, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *fetch.EventRequestPaused:
			go func() {
				time.Sleep(hold)
				chromedp.Run(browser, func(ctx context.Context, tgt *chromedp.Target) (cdp.Empty, error) {
					return cdp.Call(ctx, tgt, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
				})
			}()
		case *network.EventResponseReceived:
			if e.Type == network.ResourceTypeDocument && e.Response.URL == p.URL+"/logout" {
				answered = e.RequestID
			}
		case *network.EventResponseReceivedExtraInfo:
			// Headers as they came over the wire: the browser leaves
			// Set-Cookie and Clear-Site-Data out of the others.
			raw[e.RequestID] = e.Headers
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(step, func(ctx context.Context, tgt *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tgt, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: p.URL + "/logout", RequestStage: fetch.RequestStageResponse},
		}})
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("form.signout button"))); err != nil {
		t.Fatalf("sign out at lacop: %v", err)
	}
	loc := waitForLogin(t, browser, 10*time.Second, "after signing out")
	if !strings.Contains(loc, "loggedOut=1") {
		t.Errorf("after signing out the browser is at %s; want the signed-out login page", loc)
	}
	t.Logf("the browser reached %s %v after the click", loc, time.Since(start))
	mu.Lock()
	if headers := raw[answered]; answered == "" || headers == nil {
		t.Errorf("the sign-out answer never reached the page (its navigation was cancelled)")
	} else {
		var csd string
		for k, v := range headers {
			if strings.EqualFold(k, "Clear-Site-Data") {
				csd = fmt.Sprint(v)
			}
		}
		t.Logf("the sign-out answer's Clear-Site-Data: %s", csd)
		if !strings.Contains(csd, `"cache"`) || !strings.Contains(csd, `"storage"`) {
			t.Errorf("the sign-out answer has Clear-Site-Data %q; want \"cache\" and \"storage\"", csd)
		}
	}
	mu.Unlock()
	framed := waitFor(10*time.Second, func() bool {
		alpha.mu.Lock()
		defer alpha.mu.Unlock()
		beta.mu.Lock()
		defer beta.mu.Unlock()
		return len(alpha.front) > 0 && len(beta.front) > 0
	})
	if !framed {
		t.Errorf("the signed-out page did not load the apps' front-channel logout URIs; the browser went to %s", loc)
	}

	// Both apps are told both ways, for the session's sid, and end it.
	for _, rp := range []*goRelyingParty{alpha, beta} {
		taken := waitFor(15*time.Second, func() bool {
			rp.mu.Lock()
			defer rp.mu.Unlock()
			return rp.taken()
		})
		rp.mu.Lock()
		front, back, ended := slices.Clone(rp.front), slices.Clone(rp.back), rp.ended[a.sid]
		rp.mu.Unlock()
		if !taken {
			t.Errorf("%s: back-channel logouts %+v; want one taken", rp.name, back)
		}
		for _, l := range back {
			c := l.claims
			if l.err != "" || c["sid"] != a.sid || c["sub"] != a.sub || c["iss"] != issuer || c["jti"] != back[0].claims["jti"] ||
				fmt.Sprint(c["aud"]) != rp.name && fmt.Sprint(c["aud"]) != "["+rp.name+"]" {
				t.Errorf("%s: back-channel logout %+v (typ %q, %s); want a valid logout token for sid %q, sub %q, the same jti each time", rp.name, c, l.typ, l.err, a.sid, a.sub)
			}
		}
		if !framed {
			continue // said above
		}
		if len(front) != 1 || front[0].iss != issuer || front[0].sid != a.sid {
			t.Errorf("%s: front-channel requests %+v; want one with iss %q and sid %q", rp.name, front, issuer, a.sid)
		}
		if rp == beta && (len(back) != 3 || ended != "front-channel") {
			t.Errorf("beta: %d back-channel attempts, its session ended first by %q; want 3 (two answered 503) and the front-channel request", len(back), ended)
		}
		t.Logf("%s: %d back-channel attempts; its session ended first by %s; the front-channel request carried its cookie: %v", rp.name, len(back), ended, front[0].withCookie)
	}

	// The apps' cookies, still in the browser or not, no longer sign in.
	cookies, err := chromedp.Run(step, func(ctx context.Context, tgt *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tgt, network.GetCookies, network.GetCookiesParams{URLs: []string{alpha.URL + "/", beta.URL + "/"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range cookies.Cookies {
		kept = append(kept, c.Name)
	}
	t.Logf("cookies the browser still holds for the apps: %q", kept)
	for _, rp := range []*goRelyingParty{alpha, beta} {
		if got := status(rp); !strings.HasPrefix(got, rp.name+": signed out") && got != rp.name+": nobody is signed in" {
			t.Errorf("%s's page after signing out at lacop says %q; want signed out", rp.name, got)
		}
	}
	// Signing in to an app again needs the password again.
	if err := chromedp.Do(step, chromedp.Navigate(alpha.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#password"))); err != nil {
		t.Fatalf("alpha's sign-in after signing out: %v", err)
	}
	url, err := chromedp.Run(step, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, p.URL+"/login") {
		t.Errorf("alpha's sign-in after signing out went to %s; want lacop's login page", url)
	}
}

// TestBrowserOIDCAppSignOut: signed in to two apps through one lacop
// session, the person signs out in one of them (RP-initiated logout with
// its ID token as the hint): the lacop session ends at once, the signed-out
// page loads the other app's front-channel URI, the other app receives its
// back-channel logout, and its page is signed out; the browser lands on the
// first app's registered post-logout page.
func TestBrowserOIDCAppSignOut(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	alpha, beta := startGoRelyingParty(t, "alpha"), startGoRelyingParty(t, "beta")
	p := startPortal(t, "oidc:\n  clients:\n"+alpha.clientYAML()+beta.clientYAML())
	p.addUser("dora@example.com", "--name", "Dora")
	issuer := p.providerMetadata().Issuer
	alpha.discover(issuer)
	beta.discover(issuer)
	step, cancel := within(browser, 60*time.Second)
	defer cancel()
	status := func(rp *goRelyingParty) string { return rp.status(t, step) }
	signInBoth(t, step, alpha, beta, "dora@example.com")
	if got := status(beta); got != "beta: signed in as dora@example.com" {
		t.Fatalf("beta's page says %q; want signed in", got)
	}
	a := alpha.only()

	// alpha's own Sign out.
	if err := chromedp.Do(step, chromedp.Navigate(alpha.URL+"/logout")); err != nil {
		t.Fatalf("alpha's sign-out: %v", err)
	}
	if !waitFor(10*time.Second, func() bool {
		loc, err := chromedp.Run(step, chromedp.Location())
		return err == nil && strings.HasPrefix(loc, alpha.URL+"/?") && strings.Contains(loc, "state=bye")
	}) {
		loc, _ := chromedp.Run(step, chromedp.Location())
		t.Errorf("after alpha's sign-out the browser is at %s; want alpha's registered post-logout page with state=bye", loc)
	}
	framed := waitFor(10*time.Second, func() bool {
		beta.mu.Lock()
		defer beta.mu.Unlock()
		return len(beta.front) > 0
	})
	if !framed {
		t.Errorf("the signed-out page did not load beta's front-channel logout URI")
	}
	if !waitFor(10*time.Second, func() bool { beta.mu.Lock(); defer beta.mu.Unlock(); return beta.taken() }) {
		t.Errorf("beta received no back-channel logout")
	}
	beta.mu.Lock()
	for _, l := range beta.back {
		if l.err != "" || l.claims["sid"] != a.sid || l.claims["sub"] != a.sub {
			t.Errorf("beta: back-channel logout %+v (%s); want a valid one for sid %q", l.claims, l.err, a.sid)
		}
	}
	if framed && (len(beta.front) != 1 || beta.front[0].sid != a.sid || beta.front[0].iss != issuer) {
		t.Errorf("beta: front-channel requests %+v; want one with iss %q and sid %q", beta.front, issuer, a.sid)
	}
	beta.mu.Unlock()
	if got := status(beta); !strings.HasPrefix(got, "beta: signed out") {
		t.Errorf("beta's page after signing out in alpha says %q; want signed out", got)
	}
	// lacop asks for the password again.
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#password"))); err != nil {
		t.Errorf("lacop after the app's sign-out: %v; want its login form", err)
	}
}
