package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// TestCORSForBrowserApps: a browser app on a listed origin refreshes and
// revokes its tokens and reads the keys, preflight included, without
// credentials ever being allowed; another origin gets no CORS headers and
// its posts are refused; every other route keeps refusing cross-origin
// state changes from the listed origin too.
func TestCORSForBrowserApps(t *testing.T) {
	t.Parallel()
	const app, evil = "https://app.example.com", "https://evil.example.net"
	p := startPortal(t, "cors:\n  allowed_origins: [\""+app+"\"]\n")
	p.addUser("spa@example.com")
	secret := p.login("spa@example.com")
	pair := p.issueTokens(secret)

	fromBrowser := func(origin string, extra map[string]string) map[string]string {
		h := map[string]string{"Origin": origin, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	wantCORS := func(what string, res *response, origin string) {
		t.Helper()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q; want %q", what, got, origin)
		}
		if res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", what)
		}
		if !slices.Contains(res.Header.Values("Vary"), "Origin") && !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("%s: Vary = %q; want Origin", what, res.Header.Values("Vary"))
		}
	}

	// Preflights.
	for _, pf := range []struct{ path, method string }{{"/oauth/token", "POST"}, {"/oauth/revoke", "POST"}, {"/.well-known/jwks.json", "GET"}} {
		res := p.do(request{method: "OPTIONS", path: pf.path, header: fromBrowser(app, map[string]string{
			"Access-Control-Request-Method": pf.method, "Access-Control-Request-Headers": "content-type"})})
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Methods") != pf.method ||
			!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight %s = %d %v", pf.path, res.StatusCode, res.Header)
		}
		wantCORS("preflight "+pf.path, res, app)
		res = p.do(request{method: "OPTIONS", path: pf.path, header: fromBrowser(evil, map[string]string{"Access-Control-Request-Method": pf.method})})
		if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s from %s = %d, ACAO %q; want 403 without CORS headers", pf.path, evil, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	// Refresh from the app's origin; the same from another origin is refused.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair.refresh}}.Encode()
	res := p.do(request{method: "POST", path: "/oauth/token", body: form, header: fromBrowser(evil, formHeader)})
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refresh from %s = %d %s; want 403 without CORS headers", evil, res.StatusCode, res.Body)
	}
	res = p.do(request{method: "POST", path: "/oauth/token", body: form, header: fromBrowser(app, formHeader)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("refresh from %s = %d %s", app, res.StatusCode, res.Body)
	}
	wantCORS("refresh", res, app)
	var fresh struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(res.Body, &fresh); err != nil || fresh.AccessToken == "" {
		t.Fatalf("refresh body %s: %v", res.Body, err)
	}
	leaks.secret("access token", fresh.AccessToken)
	leaks.secret("refresh token", fresh.RefreshToken)

	// The keys, read cross-origin; the access token validated with them by
	// an independent JOSE library, with RFC 9068's rules.
	res = p.do(request{method: "GET", path: "/.well-known/jwks.json", header: fromBrowser(app, nil)})
	wantCORS("jwks", res, app)
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(res.Body, &keys); err != nil || len(keys.Keys) == 0 {
		t.Fatalf("jwks %s: %v", res.Body, err)
	}
	tok, err := josejwt.ParseSigned(fresh.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("parse the access token: %v", err)
	}
	if typ, _ := tok.Headers[0].ExtraHeaders["typ"].(string); typ != "at+jwt" {
		t.Errorf("typ = %q; want at+jwt (RFC 9068 2.1)", typ)
	}
	found := keys.Key(tok.Headers[0].KeyID)
	if len(found) != 1 {
		t.Fatalf("the token's kid %q is not in the JWKS", tok.Headers[0].KeyID)
	}
	var std josejwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := tok.Claims(found[0].Key, &std, &extra); err != nil {
		t.Fatalf("the access token's signature does not verify with the JWKS: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: p.URL, AnyAudience: josejwt.Audience{p.URL}, Time: time.Now()}, time.Minute); err != nil {
		t.Errorf("RFC 9068 claims: %v", err)
	}
	if std.Subject == "" || std.ID == "" || std.IssuedAt == nil || std.Expiry == nil || extra.ClientID != "lacop" || extra.Scope != "lacop" {
		t.Errorf("RFC 9068 requires iss exp aud sub client_id iat jti: sub %q jti %q iat %v exp %v client_id %q scope %q",
			std.Subject, std.ID, std.IssuedAt, std.Expiry, extra.ClientID, extra.Scope)
	}

	// Revoke from the app's origin; the token then fails.
	res = p.do(request{method: "POST", path: "/oauth/revoke", body: url.Values{"token": {fresh.RefreshToken}}.Encode(), header: fromBrowser(app, formHeader)})
	if res.StatusCode != http.StatusOK {
		t.Errorf("revoke from %s = %d %s", app, res.StatusCode, res.Body)
	}
	wantCORS("revoke", res, app)
	if res := p.refresh(fresh.RefreshToken); res.StatusCode == http.StatusOK {
		t.Errorf("the revoked refresh token still works")
	}

	// Any other route refuses a cross-origin state change, from the listed
	// origin too, and answers it without CORS headers.
	res = p.do(request{method: "POST", path: "/api/logout", cookie: secret, header: fromBrowser(app, nil)})
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" || p.meStatus(secret) != http.StatusOK {
		t.Errorf("cross-origin POST /api/logout from %s = %d; want 403 and the session alive", app, res.StatusCode)
	}
	res = p.do(request{method: "POST", path: "/api/tokens", cookie: secret, header: fromBrowser(app, nil)})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST /api/tokens (cookie) from %s = %d; want 403", app, res.StatusCode)
	}
}
