package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testHash is a PHC hash (of "grafana-secret", with cheap parameters);
// config checks its form only.
const testHash = "$argon2id$v=19$m=1024,t=1,p=1$vB5AR0tsjpDjyvw0dYCQwg$FGFtYJc21jVGljho8Dv/1r527csTfgayz/xeuRX74dE"

// testClient is a valid confidential client with nothing but what is
// required.
func testClient() Client {
	return Client{ID: "grafana", Secret: testHash, RedirectURIs: []string{"https://grafana.example.com/login/generic_oauth"}}
}

// withClient sets one client: testClient changed by change.
func withClient(change func(*Client)) func(*Config) {
	return func(c *Config) {
		cl := testClient()
		change(&cl)
		c.OIDC.Clients = []Client{cl}
	}
}

// invalidClientTests each break one rule of oidc: key is the only key that
// must be named, and want a part of its message.
var invalidClientTests = []struct {
	name   string
	mutate func(*Config)
	key    string
	want   string
}{
	{"backchannel retry zero", func(c *Config) { c.OIDC.BackchannelRetry = 0 }, "oidc.backchannel_retry", "must be positive"},
	{"backchannel retry negative", func(c *Config) { c.OIDC.BackchannelRetry = -time.Hour }, "oidc.backchannel_retry", "must be positive"},
	{"id empty", withClient(func(c *Client) { c.ID = "" }), "oidc.clients[0].id", "must not be empty"},
	{"id space", withClient(func(c *Client) { c.ID = "my app" }), "oidc.clients[0].id", `"my app": must hold only`},
	{"id colon", withClient(func(c *Client) { c.ID = "my:app" }), "oidc.clients[0].id", "must hold only"},
	{"id non-ascii", withClient(func(c *Client) { c.ID = "grafanä" }), "oidc.clients[0].id", "must hold only"},
	{"id too long", withClient(func(c *Client) { c.ID = strings.Repeat("a", 65) }), "oidc.clients[0].id", "at most 64"},
	{"id twice", func(c *Config) {
		other := testClient()
		other.RedirectURIs = []string{"https://other.example.com/cb"}
		c.OIDC.Clients = []Client{testClient(), other}
	}, "oidc.clients[1].id", `"grafana": given twice (also oidc.clients[0])`},
	{"confidential without secret", withClient(func(c *Client) { c.Secret = "" }), "oidc.clients[0].secret", `client "grafana": must be set`},
	{"secret not a hash", withClient(func(c *Client) { c.Secret = "hunter2" }), "oidc.clients[0].secret", "must be a PHC argon2id hash"},
	{"secret bcrypt", withClient(func(c *Client) {
		c.Secret = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	}), "oidc.clients[0].secret", "(not a hash: want 5 fields"},
	{"secret hash cut short", withClient(func(c *Client) { c.Secret = testHash[:40] }), "oidc.clients[0].secret", "(not a hash: want 5 fields"},
	{"secret argon2i", withClient(func(c *Client) { c.Secret = strings.Replace(testHash, "argon2id", "argon2i", 1) }), "oidc.clients[0].secret", "(not a hash: not argon2id)"},
	{"secret plaintext empty", withClient(func(c *Client) { c.Secret = "$plaintext$" }), "oidc.clients[0].secret", "holds no secret"},
	{"public with secret", withClient(func(c *Client) { c.Public = true }), "oidc.clients[0].secret", "must be empty for a public client"},
	{"public with plaintext secret", withClient(func(c *Client) { c.Public, c.Secret = true, "$plaintext$x" }), "oidc.clients[0].secret", "must be empty"},
	{"no redirect uris", withClient(func(c *Client) { c.RedirectURIs = nil }), "oidc.clients[0].redirect_uris", "at least one"},
	{"redirect http off loopback", redirect("http://grafana.example.com/cb"), "oidc.clients[0].redirect_uris[1]",
		`client "grafana": "http://grafana.example.com/cb": must be https`},
	{"redirect http lan address", redirect("http://192.168.1.20:3000/cb"), "oidc.clients[0].redirect_uris[1]", "must be https"},
	{"redirect http loopback lookalike", redirect("http://localhost.example.com/cb"), "oidc.clients[0].redirect_uris[1]", "must be https"},
	{"redirect http 127 lookalike", redirect("http://127.0.0.1.nip.io/cb"), "oidc.clients[0].redirect_uris[1]", "must be https"},
	{"redirect relative", redirect("/login/generic_oauth"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect no scheme", redirect("grafana.example.com/cb"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect custom scheme", redirect("com.example.app:/cb"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect ftp", redirect("ftp://grafana.example.com/cb"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect opaque", redirect("https:grafana.example.com/cb"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect no host", redirect("https:///cb"), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"redirect port only", redirect("https://:443/cb"), "oidc.clients[0].redirect_uris[1]", "must have a host"},
	{"redirect fragment", redirect("https://grafana.example.com/cb#x"), "oidc.clients[0].redirect_uris[1]", "fragment"},
	{"redirect empty fragment", redirect("https://grafana.example.com/cb#"), "oidc.clients[0].redirect_uris[1]", "fragment"},
	{"redirect userinfo", redirect("https://u:p@grafana.example.com/cb"), "oidc.clients[0].redirect_uris[1]", "user name"},
	{"redirect empty", redirect(""), "oidc.clients[0].redirect_uris[1]", "absolute https URL"},
	{"post logout http", withClient(func(c *Client) {
		c.PostLogoutRedirectURIs = []string{"https://grafana.example.com/", "http://grafana.example.com/"}
	}), "oidc.clients[0].post_logout_redirect_uris[1]", `"http://grafana.example.com/": must be https`},
	{"post logout fragment", withClient(func(c *Client) {
		c.PostLogoutRedirectURIs = []string{"https://grafana.example.com/#bye"}
	}), "oidc.clients[0].post_logout_redirect_uris[0]", "fragment"},
	{"backchannel http", withClient(func(c *Client) { c.BackchannelLogoutURI = "http://grafana.internal/logout" }),
		"oidc.clients[0].backchannel_logout_uri", `"http://grafana.internal/logout": must be https`},
	{"backchannel relative", withClient(func(c *Client) { c.BackchannelLogoutURI = "/oidc/backchannel" }),
		"oidc.clients[0].backchannel_logout_uri", "absolute https URL"},
	{"frontchannel http", withClient(func(c *Client) { c.FrontchannelLogoutURI = "http://grafana.example.com/logout" }),
		"oidc.clients[0].frontchannel_logout_uri", "must be https"},
	{"frontchannel fragment", withClient(func(c *Client) { c.FrontchannelLogoutURI = "https://grafana.example.com/logout#x" }),
		"oidc.clients[0].frontchannel_logout_uri", "fragment"},
	{"scope unknown", withClient(func(c *Client) { c.Scopes = []string{"openid", "phone"} }), "oidc.clients[0].scopes[1]", `"phone": unknown scope`},
	{"scope case", withClient(func(c *Client) { c.Scopes = []string{"OpenID"} }), "oidc.clients[0].scopes[0]", "unknown scope"},
	{"scopes empty list", withClient(func(c *Client) { c.Scopes = []string{} }), "oidc.clients[0].scopes", "at least one scope"},
	{"consent unknown", withClient(func(c *Client) { c.Consent = "always" }), "oidc.clients[0].consent", `"always": must be one of implicit, explicit`},
	{"alg none", withClient(func(c *Client) { c.IDTokenSignedResponseAlg = "none" }), "oidc.clients[0].id_token_signed_response_alg", "must be RS256, ES256 or EdDSA"},
	{"alg hs256", withClient(func(c *Client) { c.IDTokenSignedResponseAlg = "HS256" }), "oidc.clients[0].id_token_signed_response_alg", "must be RS256, ES256 or EdDSA"},
	{"alg case", withClient(func(c *Client) { c.IDTokenSignedResponseAlg = "rs256" }), "oidc.clients[0].id_token_signed_response_alg", "must be RS256, ES256 or EdDSA"},
	{"group empty", withClient(func(c *Client) { c.Groups = []string{"admins", " "} }), "oidc.clients[0].groups[1]", "must not be empty"},
}

// redirect gives testClient a second redirect URI.
func redirect(u string) func(*Config) {
	return withClient(func(c *Client) { c.RedirectURIs = append(c.RedirectURIs, u) })
}

func TestValidateRejectsClients(t *testing.T) {
	for _, tt := range invalidClientTests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			lines := errorLines(t, c.Validate())
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.key+": ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("Validate() = %q; want one error naming %s, saying %q", lines, tt.key, tt.want)
			}
		})
	}
}

func TestValidateAcceptsClients(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"required only", withClient(func(*Client) {})},
		{"plaintext secret", withClient(func(c *Client) { c.Secret = "$plaintext$grafana-secret" })},
		{"ES256 ID tokens", withClient(func(c *Client) { c.IDTokenSignedResponseAlg = AlgES256 })},
		{"EdDSA ID tokens", withClient(func(c *Client) { c.IDTokenSignedResponseAlg = AlgEdDSA })},
		{"hash with default params", withClient(func(c *Client) {
			c.Secret = "$argon2id$v=19$m=65536,t=3,p=2$KgIdvchlt36Lmpo99Efvlg$2emX2yejsUgl2y3n1WBn4Xrb5gauqBv1eb7NuS4MjHM"
		})},
		{"public on loopback http", withClient(func(c *Client) {
			c.Public, c.Secret = true, ""
			c.RedirectURIs = []string{"http://localhost:5173/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://LOCALHOST/cb"}
			c.PostLogoutRedirectURIs = []string{"http://localhost:5173/"}
			c.BackchannelLogoutURI = "http://127.0.0.1:5173/logout"
			c.FrontchannelLogoutURI = "http://localhost:5173/logout"
		})},
		{"every field", withClient(func(c *Client) {
			c.ID, c.Name = "my-app_2.0", "My App"
			c.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com:8443/cb?tenant=a"}
			c.PostLogoutRedirectURIs = []string{"https://app.example.com/"}
			c.BackchannelLogoutURI = "https://app.example.com/oidc/backchannel"
			c.BackchannelLogoutSessionRequired = true
			c.FrontchannelLogoutURI = "https://app.example.com/oidc/frontchannel?x=1"
			c.Scopes = []string{"openid", "email"}
			c.Consent = ConsentExplicit
			c.Groups = []string{"admins", "dev"}
			c.IDTokenSignedResponseAlg = AlgRS256
		})},
		{"two clients", func(c *Config) {
			other := testClient()
			other.ID = "wiki"
			c.OIDC.Clients = []Client{testClient(), other}
		}},
		{"longest id", withClient(func(c *Client) { c.ID = strings.Repeat("a", 64) })},
	}
	for _, tt := range tests {
		c := Default()
		tt.mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v; want nil", tt.name, err)
		}
	}
}

// TestClientSecretNotShown: a secret that is not a hash may be the secret
// itself, typed where its hash belongs; no message repeats it.
func TestClientSecretNotShown(t *testing.T) {
	for _, mutate := range []func(*Client){
		func(c *Client) { c.Secret = "hunter2-hunter2" },
		func(c *Client) { c.Public, c.Secret = true, "hunter2-hunter2" },
		func(c *Client) { c.Public, c.Secret = true, "$plaintext$hunter2-hunter2" },
		func(c *Client) { c.Secret = "$argon2id$v=19$m=1024,t=1,p=1$hunter2-hunter2" },
	} {
		c := Default()
		withClient(mutate)(&c)
		if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate() = %v; want an error without the secret", err)
		}
	}
	path := writeFile(t, "oidc:\n  clients:\n    - id: grafana\n      secret: $plaintext$hunter2-hunter2\n"+
		"      redirect_uris: [https://grafana.example.com/cb]\n")
	_, warnings, err := Load(Source{File: path})
	if err != nil || len(warnings) != 1 || strings.Contains(warnings[0], "hunter2") {
		t.Errorf("Load = %q, %v; want one warning without the secret", warnings, err)
	}
}

func TestApplyDefaults(t *testing.T) {
	c := Client{ID: "grafana"}
	c.ApplyDefaults()
	want := Client{ID: "grafana", Name: "grafana", Scopes: []string{"openid", "profile", "email", "groups", "offline_access"},
		Consent: "implicit", IDTokenSignedResponseAlg: "RS256"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("ApplyDefaults() = %+v; want %+v", c, want)
	}

	set := Client{ID: "grafana", Name: "Grafana", Scopes: []string{"openid"}, Consent: "explicit", IDTokenSignedResponseAlg: "ES256"}
	got := set
	got.ApplyDefaults()
	if !reflect.DeepEqual(got, set) {
		t.Errorf("ApplyDefaults() changed what was set: %+v; want %+v", got, set)
	}

	empty := Client{ID: "grafana", Scopes: []string{}}
	empty.ApplyDefaults()
	if empty.Scopes == nil || len(empty.Scopes) != 0 {
		t.Errorf("ApplyDefaults() made scopes: [] %q; want it left empty, for validation to report", empty.Scopes)
	}

	// Each client gets its own list: changing one changes no other.
	a, b := Client{}, Client{}
	a.ApplyDefaults()
	b.ApplyDefaults()
	a.Scopes[0] = "changed"
	if b.Scopes[0] != "openid" || DefaultScopes()[0] != "openid" {
		t.Errorf("clients share their default scopes")
	}
}

func TestConfidential(t *testing.T) {
	if !(Client{}).Confidential() || (Client{Public: true}).Confidential() {
		t.Errorf("Confidential() is not !Public")
	}
}

// TestLoadClients: Load fills in each client's defaults, warns about a
// secret written in plain text, and names the client, the URI and where it
// came from when a redirect URI is not allowed.
func TestLoadClients(t *testing.T) {
	const file = `
oidc:
  clients:
    - id: grafana
      secret: "$plaintext$grafana-secret"
      redirect_uris: [https://grafana.example.com/login/generic_oauth]
    - id: wiki
      name: Team wiki
      public: true
      redirect_uris: ["http://127.0.0.1:3000/cb"]
      scopes: [openid, email]
      consent: explicit
`
	path := writeFile(t, file)
	cfg, warnings, err := Load(Source{File: path})
	if err != nil {
		t.Fatal(err)
	}
	wantWarnings := []string{`oidc.clients[0].secret: client "grafana": written in plain text, so anyone who can read ` +
		`the configuration can act as this app; store its hash: lacop oidc hash-secret [file ` + path + `]`}
	if !slices.Equal(warnings, wantWarnings) {
		t.Errorf("warnings = %q; want %q", warnings, wantWarnings)
	}
	want := []Client{
		{ID: "grafana", Name: "grafana", Secret: "$plaintext$grafana-secret",
			RedirectURIs: []string{"https://grafana.example.com/login/generic_oauth"},
			Scopes:       DefaultScopes(), Consent: ConsentImplicit, IDTokenSignedResponseAlg: AlgRS256},
		{ID: "wiki", Name: "Team wiki", Public: true, RedirectURIs: []string{"http://127.0.0.1:3000/cb"},
			Scopes: []string{"openid", "email"}, Consent: ConsentExplicit, IDTokenSignedResponseAlg: AlgRS256},
	}
	if !reflect.DeepEqual(cfg.OIDC.Clients, want) {
		t.Errorf("clients = %+v\nwant %+v", cfg.OIDC.Clients, want)
	}

	bad := strings.Replace(file, "https://grafana.example.com/", "http://grafana.example.com/", 1)
	path = writeFile(t, bad)
	_, _, err = Load(Source{File: path})
	wantLines := []string{`oidc.clients[0].redirect_uris[0]: client "grafana": "http://grafana.example.com/login/generic_oauth": ` +
		`must be https; plain http is allowed only to this machine (localhost, 127.0.0.1, [::1]), for development [file ` + path + `]`}
	if got := errorLines(t, err); !slices.Equal(got, wantLines) {
		t.Errorf("Load = %q; want %q", got, wantLines)
	}

	environ := []string{`LACOP_OIDC_CLIENTS=[{id: grafana, secret: "` + testHash + `", redirect_uris: ["http://grafana.lan/cb"]}]`}
	_, _, err = Load(Source{Environ: environ})
	if got := errorLines(t, err); len(got) != 1 || !strings.HasPrefix(got[0], `LACOP_OIDC_CLIENTS[0].redirect_uris[0]: client "grafana": "http://grafana.lan/cb"`) ||
		!strings.HasSuffix(got[0], "[env]") {
		t.Errorf("Load = %q; want the error on LACOP_OIDC_CLIENTS[0].redirect_uris[0] from env", got)
	}
}
