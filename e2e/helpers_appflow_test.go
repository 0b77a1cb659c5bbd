package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// This file drives lacop's authorization code flow as a person's user
// agent without a browser: an http.Client with a cookie jar that follows
// redirects by hand and signs in on lacop's login form when it is shown.
// The relying-party tests (oauth2proxy_test.go, admin_apps_test.go) use it.

// providerMetadata is the part of lacop's discovery document these tests use.
type providerMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// providerMetadata reads the discovery document: the tests find endpoints
// there, as apps do.
func (p *portal) providerMetadata() providerMetadata {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/.well-known/openid-configuration"})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("discovery = %d %s", res.StatusCode, res.Body)
	}
	var m providerMetadata
	if err := json.Unmarshal(res.Body, &m); err != nil || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		p.t.Fatalf("discovery: %v %s", err, res.Body)
	}
	return m
}

// userAgent is one person's cookie jar and the lacop password it signs in
// with.
type userAgent struct {
	t      *testing.T
	p      *portal
	email  string
	client *http.Client
}

func newUserAgent(t *testing.T, p *portal, email string) *userAgent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &userAgent{t: t, p: p, email: email, client: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get is one GET with the jar, not following redirects.
func (u *userAgent) get(rawURL string) *response {
	u.t.Helper()
	res, err := u.client.Get(rawURL)
	if err != nil {
		u.t.Fatalf("GET %s: %v", rawURL, err)
	}
	return readResponse(u.t, res)
}

func readResponse(t *testing.T, res *http.Response) *response {
	t.Helper()
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Response: res, Body: data}
}

// follow GETs start and follows redirects, signing in on lacop's login
// form when a page of it is reached, until stop says a URL is the end (it
// is not requested) or an answer is not a redirect. It returns the last
// answer (nil when stopped) and the last URL.
func (u *userAgent) follow(start string, stop func(*url.URL) bool) (*response, *url.URL) {
	u.t.Helper()
	next, err := url.Parse(start)
	if err != nil {
		u.t.Fatal(err)
	}
	lacopURL, _ := url.Parse(u.p.URL)
	signedIn := false
	for hop := 0; hop < 20; hop++ {
		if stop != nil && stop(next) {
			return nil, next
		}
		res := u.get(next.String())
		if loc := res.Header.Get("Location"); res.StatusCode >= 300 && res.StatusCode < 400 && loc != "" {
			if next, err = next.Parse(loc); err != nil {
				u.t.Fatalf("bad Location %q from %s", loc, res.Request.URL)
			}
			continue
		}
		if res.StatusCode == http.StatusOK && next.Host == lacopURL.Host && next.Path == "/login" && !signedIn {
			// lacop's login form, as a person fills it in.
			signedIn = true
			form := url.Values{"email": {u.email}, "password": {testPassword}, "rd": {next.Query().Get("rd")}}
			post, err := u.client.PostForm(u.p.URL+"/login", form)
			if err != nil {
				u.t.Fatalf("sign in on the login form: %v", err)
			}
			sub := readResponse(u.t, post)
			loc := sub.Header.Get("Location")
			if sub.StatusCode != http.StatusSeeOther || loc == "" {
				u.t.Fatalf("login form as %s = %d %q; want 303", u.email, sub.StatusCode, sub.Body)
			}
			if next, err = lacopURL.Parse(loc); err != nil {
				u.t.Fatal(err)
			}
			continue
		}
		return res, next
	}
	u.t.Fatalf("more than 20 redirects from %s", start)
	return nil, nil
}

// lacopCookie is the session secret lacop set in the jar ("" none).
func (u *userAgent) lacopCookie() string {
	lacopURL, _ := url.Parse(u.p.URL)
	for _, c := range u.client.Jar.Cookies(lacopURL) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// pkcePair is a PKCE verifier and its S256 challenge.
func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// appTokens is a token endpoint answer of the code exchange.
type appTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// signInToApp runs the code flow with PKCE for a client (secret "" for a
// public client) whose redirect URI nobody serves: the code is taken from
// the redirect and exchanged here. The person signs in on the login form
// unless the jar holds a live lacop session already.
func (u *userAgent) signInToApp(meta providerMetadata, clientID, secret, redirectURI string) appTokens {
	u.t.Helper()
	verifier, challenge := pkcePair()
	state := randomToken()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid email profile offline_access"}, "state": {state}, "nonce": {randomToken()},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	res, at := u.follow(meta.AuthorizationEndpoint+"?"+q.Encode(), func(l *url.URL) bool {
		return strings.HasPrefix(l.String(), redirectURI+"?")
	})
	if res != nil {
		u.t.Fatalf("sign in to %s: ended at %s with %d %.300s; want a redirect to %s", clientID, at, res.StatusCode, res.Body, redirectURI)
	}
	code := at.Query().Get("code")
	if code == "" || at.Query().Get("state") != state {
		u.t.Fatalf("sign in to %s: redirected to %s; want a code and state %q", clientID, at, state)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, err := http.NewRequest("POST", meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	tok := readResponse(u.t, tr)
	var out appTokens
	if tok.StatusCode != http.StatusOK || json.Unmarshal(tok.Body, &out) != nil || out.AccessToken == "" || out.IDToken == "" {
		u.t.Fatalf("code exchange for %s = %d %s", clientID, tok.StatusCode, tok.Body)
	}
	leaks.secret("app access token", out.AccessToken)
	if out.RefreshToken != "" {
		leaks.secret("app refresh token", out.RefreshToken)
	}
	return out
}
