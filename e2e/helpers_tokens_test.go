package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// b64 is the JWT segment encoding: base64url without padding.
var b64 = base64.RawURLEncoding

// formHeader marks a body as an HTML form, as the OAuth endpoints expect.
var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// tokenPair is what one issue or one rotation hands out.
type tokenPair struct {
	access, refresh string
	expiresIn       int64 // seconds, as the answer says
}

// postForm POSTs form url-encoded to path, with no cookie, as an OAuth
// client would.
func (p *portal) postForm(path string, form url.Values) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: path, header: formHeader, body: form.Encode()})
}

// issueTokens is POST /api/tokens with the session secret, failing the test
// unless it answers 200 with the whole body the contract names.
func (p *portal) issueTokens(secret string) tokenPair {
	p.t.Helper()
	res := p.do(request{method: "POST", path: "/api/tokens", cookie: secret})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /api/tokens = %d %s; want 200", res.StatusCode, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		p.t.Errorf("POST /api/tokens: Cache-Control = %q; want no-store", cc)
	}
	var body struct {
		AccessToken  string      `json:"accessToken"`
		RefreshToken string      `json:"refreshToken"`
		TokenType    string      `json:"tokenType"`
		ExpiresIn    json.Number `json:"expiresIn"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		p.t.Fatalf("POST /api/tokens body %s: %v", res.Body, err)
	}
	if body.AccessToken == "" || body.RefreshToken == "" || body.TokenType != "Bearer" {
		p.t.Fatalf("POST /api/tokens body %s; want accessToken, refreshToken and tokenType Bearer", res.Body)
	}
	n, err := body.ExpiresIn.Int64()
	if err != nil || n <= 0 {
		p.t.Errorf("POST /api/tokens: expiresIn = %q; want a positive whole number of seconds", body.ExpiresIn)
	}
	leaks.secret("access token", body.AccessToken)
	leaks.secret("refresh token", body.RefreshToken)
	return tokenPair{body.AccessToken, body.RefreshToken, n}
}

// refresh is POST /oauth/token with the refresh_token grant.
func (p *portal) refresh(refreshToken string) *response {
	p.t.Helper()
	return p.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// refreshOK rotates refreshToken and fails the test unless the answer is a
// complete 200 token response.
func (p *portal) refreshOK(refreshToken string) tokenPair {
	p.t.Helper()
	res := p.refresh(refreshToken)
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /oauth/token (refresh) = %d %s; want 200", res.StatusCode, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		p.t.Errorf("POST /oauth/token: Cache-Control = %q; want no-store (RFC 6749 5.1)", cc)
	}
	var body struct {
		AccessToken  string      `json:"access_token"`
		RefreshToken string      `json:"refresh_token"`
		TokenType    string      `json:"token_type"`
		ExpiresIn    json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		p.t.Fatalf("POST /oauth/token body %s: %v", res.Body, err)
	}
	if body.AccessToken == "" || body.RefreshToken == "" || body.TokenType != "Bearer" {
		p.t.Fatalf("POST /oauth/token body %s; want access_token, refresh_token and token_type Bearer", res.Body)
	}
	n, err := body.ExpiresIn.Int64()
	if err != nil || n <= 0 {
		p.t.Errorf("POST /oauth/token: expires_in = %q; want a positive whole number of seconds", body.ExpiresIn)
	}
	leaks.secret("access token", body.AccessToken)
	leaks.secret("refresh token", body.RefreshToken)
	return tokenPair{body.AccessToken, body.RefreshToken, n}
}

// wantOAuthError checks an RFC 6749 section 5.2 error: 400 with a JSON body
// whose "error" is code (and whose error_description, if any, is text).
func wantOAuthError(t *testing.T, what string, res *response, code string) {
	t.Helper()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("%s = %d %s; want 400 %s", what, res.StatusCode, res.Body, code)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Errorf("%s: body %q is not JSON: %v", what, res.Body, err)
		return
	}
	if got, _ := body["error"].(string); got != code {
		t.Errorf("%s: error = %q (%s); want %q", what, got, res.Body, code)
	}
	if d, ok := body["error_description"]; ok {
		if _, isText := d.(string); !isText {
			t.Errorf("%s: error_description = %v; want a string", what, d)
		}
	}
}

// refreshDead checks that refreshToken no longer rotates.
func (p *portal) refreshDead(what, refreshToken string) {
	p.t.Helper()
	wantOAuthError(p.t, what, p.refresh(refreshToken), "invalid_grant")
}

// revoke is POST /oauth/revoke (RFC 7009) with token and an optional hint.
func (p *portal) revoke(token, hint string) *response {
	p.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	return p.postForm("/oauth/revoke", form)
}

// revokeOK revokes and fails the test unless the answer is 200 with an
// empty or {} body.
func (p *portal) revokeOK(what, token, hint string) {
	p.t.Helper()
	res := p.revoke(token, hint)
	if b := strings.TrimSpace(string(res.Body)); res.StatusCode != http.StatusOK || (b != "" && b != "{}") {
		p.t.Errorf("revoke %s = %d %q; want 200 with an empty body or {}", what, res.StatusCode, res.Body)
	}
}

// bearerMe is GET /api/me with only an Authorization header (no cookie).
func (p *portal) bearerMe(authorization string) *response {
	p.t.Helper()
	var h map[string]string
	if authorization != "" {
		h = map[string]string{"Authorization": authorization}
	}
	return p.do(request{method: "GET", path: "/api/me", header: h})
}

// bearerOK checks that the access token authenticates /api/me and returns
// the public session id it shows.
func (p *portal) bearerOK(what, access string) string {
	p.t.Helper()
	res := p.bearerMe("Bearer " + access)
	if res.StatusCode != http.StatusOK {
		p.t.Errorf("%s: bearer /api/me = %d %s; want 200", what, res.StatusCode, res.Body)
		return ""
	}
	s, _ := res.json(p.t)["session"].(map[string]any)
	id, _ := s["id"].(string)
	return id
}

// bearerDead checks that the access token gets 401 unauthenticated with a
// Bearer challenge (RFC 6750 section 3).
func (p *portal) bearerDead(what, access string) {
	p.t.Helper()
	wantBearerRefused(p.t, what, p.bearerMe("Bearer "+access), true)
}

// wantBearerRefused checks a 401 unauthenticated answer; challenge also
// asks for a WWW-Authenticate: Bearer header.
func wantBearerRefused(t *testing.T, what string, res *response, challenge bool) {
	t.Helper()
	wantError(t, what, res, http.StatusUnauthorized, "unauthenticated")
	if wa := res.Header.Get("WWW-Authenticate"); challenge && !strings.HasPrefix(wa, "Bearer") {
		t.Errorf("%s: WWW-Authenticate = %q; want a Bearer challenge", what, wa)
	}
}

// jwt is a decoded compact JWS.
type jwt struct {
	header, claims map[string]any // numbers as json.Number
	signingInput   string         // the first two segments as sent
	sig            []byte
}

// parseJWT splits and decodes a compact JWS, failing the test on anything
// that is not three base64url segments with JSON objects in the first two.
func parseJWT(t *testing.T, token string) jwt {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q: %d segments; want 3", token, len(parts))
	}
	var j jwt
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("access token segment %d: %v", i, err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("access token segment %d %s: %v", i, raw, err)
		}
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("access token signature: %v", err)
	}
	j.signingInput, j.sig = parts[0]+"."+parts[1], sig
	return j
}

// segment encodes v as a JWT segment.
func segment(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(data)
}

// forgeJWT builds a compact JWS from header and claims, signed by sign
// (nil for an empty signature).
func forgeJWT(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := segment(t, header) + "." + segment(t, claims)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

// withClaim returns a copy of m with key set to v.
func withClaim(m map[string]any, key string, v any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, x := range m {
		c[k] = x
	}
	c[key] = v
	return c
}

// claimInt reads a whole-number claim, failing the test if it is not one.
func claimInt(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %q = %#v; want a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %q = %s; want a whole number", name, n)
	}
	return v
}

// jwk is one key of the JWKS.
type jwk struct {
	Kty, Crv, X, Kid, Alg, Use string
	D                          string // a private key: must never be served
}

// jwks is GET /.well-known/jwks.json, failing the test on anything but a
// 200 JSON key set.
func (p *portal) jwks() []jwk {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/.well-known/jwks.json"})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /.well-known/jwks.json = %d %s; want 200", res.StatusCode, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		p.t.Errorf("JWKS Content-Type = %q; want JSON", ct)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(res.Body, &set); err != nil || set.Keys == nil {
		p.t.Fatalf("JWKS body %s: %v; want {\"keys\":[…]}", res.Body, err)
	}
	return set.Keys
}

// publicKey returns the Ed25519 key of the JWKS entry with kid.
func publicKey(t *testing.T, keys []jwk, kid string) ed25519.PublicKey {
	t.Helper()
	for _, k := range keys {
		if k.Kid == kid {
			x, err := b64.DecodeString(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				t.Fatalf("JWKS key %s: x %q is not a base64url Ed25519 key (%v)", kid, k.X, err)
			}
			return ed25519.PublicKey(x)
		}
	}
	t.Fatalf("kid %q is not in the JWKS %+v", kid, keys)
	return nil
}

// verifyEdDSA checks the token's signature with the JWKS key its kid names.
func verifyEdDSA(t *testing.T, token string, keys []jwk) {
	t.Helper()
	j := parseJWT(t, token)
	kid, _ := j.header["kid"].(string)
	if !ed25519.Verify(publicKey(t, keys, kid), []byte(j.signingInput), j.sig) {
		t.Errorf("access token signature does not verify with JWKS key %s", kid)
	}
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key.
func thumbprint(pub ed25519.PublicKey) string {
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}

var publicURLLine = regexp.MustCompile(`\(public URL ([^ )]+)\)`)

// publicURL is the public URL the portal announced when it started (the
// issuer of its tokens), which is not p.URL unless configured so.
func (p *portal) publicURL() string {
	p.t.Helper()
	m := publicURLLine.FindStringSubmatch(p.out.String())
	if m == nil {
		p.t.Fatalf("no public URL in the start-up output:\n%s", p.out.String())
	}
	return m[1]
}

// waitFor polls cond every 50 ms until it holds or d has passed, and
// reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// auditCount is how many events of type typ lacop audit shows for the user.
func (p *portal) auditCount(email, typ string) int {
	p.t.Helper()
	return len(p.auditEvents("--user", email, "--type", typ, "--limit", "10000"))
}

// wantAudience checks that aud is the issuer, as a string or a one-element
// array (RFC 7519 allows both).
func wantAudience(t *testing.T, aud any, iss string) {
	t.Helper()
	switch a := aud.(type) {
	case string:
		if a == iss {
			return
		}
	case []any:
		if len(a) == 1 && a[0] == iss {
			return
		}
	}
	t.Errorf("aud = %#v; want %q", aud, iss)
}
