package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestOIDCAlgorithms: an app configured for ES256 or EdDSA gets its ID
// tokens and its logout tokens signed that way, verifiable with the JWKS
// by go-oidc; the others keep RS256; an EdDSA id_token_hint signs out;
// discovery lists RS256 first.
func TestOIDCAlgorithms(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	logouts := map[string]string{} // client -> logout_token
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		logouts[strings.TrimPrefix(r.URL.Path, "/bc/")] = r.PostForm.Get("logout_token")
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	var cfg strings.Builder
	cfg.WriteString("oidc:\n  clients:\n")
	algs := map[string]string{"app-rs": "RS256", "app-es": "ES256", "app-ed": "EdDSA"}
	for id, alg := range algs {
		cfg.WriteString(`    - id: ` + id + `
      secret: "$plaintext$` + confSecret + `"
      redirect_uris: ["` + confRedirect + `"]
      post_logout_redirect_uris: ["` + confAfter + `"]
      backchannel_logout_uri: ` + receiver.URL + `/bc/` + id + `
      id_token_signed_response_alg: ` + alg + "\n")
	}
	p := startPortal(t, cfg.String())
	p.addUser("algs@example.com")

	res := p.do(request{method: "GET", path: "/.well-known/openid-configuration"})
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(res.Body, &disc); err != nil || len(disc.Algs) == 0 || disc.Algs[0] != "RS256" {
		t.Errorf("discovery id_token_signing_alg_values_supported = %v (%v); want RS256 first", disc.Algs, err)
	}
	ctx := context.Background()
	provider, err := oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, p.URL), p.URL)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	keys := oidc.NewRemoteKeySet(ctx, p.URL+"/.well-known/jwks.json")

	secret := p.login("algs@example.com")
	idTokens := map[string]string{}
	for id, alg := range algs {
		c := confRP{t: t, p: p, id: id}
		tk := c.tokens(id, c.exchange(c.code(secret, nil), ""))
		if got := parseJWT(t, tk.ID).header["alg"]; got != alg {
			t.Errorf("%s: ID token alg %v; want %s", id, got, alg)
		}
		v := provider.Verifier(&oidc.Config{ClientID: id, SupportedSigningAlgs: []string{alg}})
		if _, err := v.Verify(ctx, tk.ID); err != nil {
			t.Errorf("%s: go-oidc does not verify its %s ID token: %v", id, alg, err)
		}
		idTokens[id] = tk.ID
	}

	// RP-initiated logout with the EdDSA app's hint, as a navigation.
	res = p.do(request{method: "GET", path: "/oauth/logout?" + url.Values{"id_token_hint": {idTokens["app-ed"]},
		"post_logout_redirect_uri": {confAfter}}.Encode(), cookie: secret,
		header: map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}})
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "http://127.0.0.1:9/after") {
		t.Errorf("end session with an EdDSA hint: %d to %q; want straight to the registered URI\n%s", res.StatusCode, loc, res.Body)
	}
	if p.meStatus(secret) == http.StatusOK {
		t.Fatalf("the session lives on after RP-initiated logout with an EdDSA hint")
	}
	if !waitFor(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(logouts) == len(algs) }) {
		t.Fatalf("back-channel logouts received: %v; want one per app", logouts)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, alg := range algs {
		token := logouts[id]
		if got := parseJWT(t, token).header["alg"]; got != alg {
			t.Errorf("%s: logout token alg %v; want %s, as its ID tokens", id, got, alg)
		}
		payload, err := keys.VerifySignature(ctx, token)
		if err != nil {
			t.Errorf("%s: the %s logout token does not verify with the JWKS: %v", id, alg, err)
			continue
		}
		var claims map[string]any
		_ = json.Unmarshal(payload, &claims)
		if claims["aud"] != id || claims["sid"] != parseJWT(t, idTokens[id]).claims["sid"] {
			t.Errorf("%s: logout token aud %v sid %v; want %s and the ID token's sid", id, claims["aud"], claims["sid"], id)
		}
	}
}
