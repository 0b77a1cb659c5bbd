package config

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func TestEnvLists(t *testing.T) {
	tests := []struct {
		value string
		want  []string
	}{
		{"a.com,b.com", []string{"a.com", "b.com"}},
		{" a.com , *.b.com ", []string{"a.com", "*.b.com"}},
		{"a.com", []string{"a.com"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		// A file value is there to be replaced, not appended to.
		src := Source{
			File:    writeFile(t, "redirect:\n  allowed_domains: [file.com]\n"),
			Environ: []string{"LACOP_REDIRECT_ALLOWED_DOMAINS=" + tt.value},
		}
		c, _, err := Load(src)
		if err != nil {
			t.Fatalf("LACOP_REDIRECT_ALLOWED_DOMAINS=%q: %v", tt.value, err)
		}
		if got := c.Redirect.AllowedDomains; !slices.Equal(got, tt.want) || got == nil {
			t.Errorf("LACOP_REDIRECT_ALLOWED_DOMAINS=%q: got %q; want %q", tt.value, got, tt.want)
		}
	}

	c, _, err := Load(Source{Environ: []string{"LACOP_SERVER_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.7,fd00::/8,10.1.2.3/16"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("10.1.0.0/16"),
	}
	if got := c.Server.TrustedProxies; !slices.Equal(got, want) {
		t.Errorf("trusted proxies = %v; want %v", got, want)
	}
}

func TestEnvRules(t *testing.T) {
	want := []Rule{
		{Domain: "*.example.com", Policy: "two_factor", Groups: []string{"admins"}},
		{Domain: "example.com", Policy: "bypass", Resources: []string{"/public"}},
	}
	tests := []struct{ name, value string }{
		{"yaml flow", `[{domain: "*.example.com", policy: two_factor, groups: [admins]}, {domain: example.com, policy: bypass, resources: [/public]}]`},
		{"json", `[{"domain":"*.example.com","policy":"two_factor","groups":["admins"]},{"domain":"example.com","policy":"bypass","resources":["/public"]}]`},
	}
	for _, tt := range tests {
		c, _, err := Load(Source{Environ: []string{"LACOP_ACCESS_CONTROL_RULES=" + tt.value}})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := c.AccessControl.Rules; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: rules = %+v; want %+v", tt.name, got, want)
		}
	}

	src := Source{
		File:    writeFile(t, "access_control:\n  rules: [{domain: a.com, policy: deny}]\n"),
		Environ: []string{"LACOP_ACCESS_CONTROL_RULES="},
	}
	c, _, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AccessControl.Rules; len(got) != 0 {
		t.Errorf("empty LACOP_ACCESS_CONTROL_RULES: rules = %+v; want none", got)
	}
}

func TestEnvWarnings(t *testing.T) {
	environ := []string{
		"HOME=/root",
		"LACOP_TEST_ADMIN_PASSWORD=x",
		"LACOP_TEST_=x",
		"LACOP_SESION_LIFETIME=1h",
		"LACOP_SESSION=x",
		"LACOP_LISTEN=127.0.0.1:1",
	}
	c, warnings, err := Load(Source{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"LACOP_SESION_LIFETIME: matches no config key; ignored [env]",
		"LACOP_SESSION: matches no config key; ignored [env]",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings = %q; want %q", warnings, want)
	}
	if got, want := c.Listen, "127.0.0.1:1"; got != want {
		t.Errorf("listen = %q; want %q", got, want)
	}
}

func TestBools(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"true", true}, {"TRUE", true}, {"1", true},
		{"false", false}, {"False", false}, {"0", false},
	}
	for _, tt := range tests {
		for _, src := range []Source{
			{Environ: []string{"LACOP_AUTH_REQUIRE_SECOND_FACTOR=" + tt.value}},
			{Flags: map[string]string{"auth.require_second_factor": tt.value}},
			{File: writeFile(t, "auth:\n  require_second_factor: "+tt.value+"\n")},
		} {
			c, _, err := Load(src)
			if err != nil {
				t.Fatalf("%+v: %v", src, err)
			}
			if got := c.Auth.RequireSecondFactor; got != tt.want {
				t.Errorf("%+v: require_second_factor = %v; want %v", src, got, tt.want)
			}
		}
	}
}

func TestEveryKeyHasAnEnvVar(t *testing.T) {
	// Setting each key from the environment must be accepted, which also
	// proves the name table covers every key.
	cert, key := writeKeyPair(t, t.TempDir())
	values := map[string]string{
		"listen":                         ":1",
		"public_url":                     "https://auth.example.com",
		"data_dir":                       "/d",
		"storage.driver":                 "postgres",
		"storage.postgres_url":           "postgresql://db/lacop",
		"storage.redis_url":              "rediss://cache:6380",
		"storage.redis_prefix":           "staging:",
		"storage.shared_cache":           "false",
		"session.inactivity_timeout":     "1m",
		"session.lifetime":               "1h",
		"session.remember_me_lifetime":   "2h",
		"session.cookie_domain":          "example.com",
		"session.max_per_user":           "3",
		"redirect.allowed_domains":       ".example.org",
		"tokens.access_ttl":              "1m",
		"tokens.refresh_ttl":             "1h",
		"tokens.reuse_grace":             "1m",
		"regulation.max_failures":        "1",
		"regulation.max_failures_per_ip": "9",
		"regulation.max_unknown_cookies": "11",
		"regulation.window":              "1s",
		"regulation.ban":                 "1s",
		"server.trusted_proxies":         "::1",
		"server.shutdown_grace":          "1s",
		"server.max_connections":         "100",
		"server.max_connections_per_ip":  "10",
		"server.tls_cert":                cert,
		"server.tls_key":                 key,
		"server.tls_self_signed":         "0",
		"auth.require_second_factor":     "1",
		"access_control.default_policy":  "two_factor",
		"access_control.rules":           "[]",
		"log.level":                      "warn",
		"log.format":                     "json",
		"oidc.clients":                   `[{id: grafana, secret: "` + testHash + `", redirect_uris: [https://grafana.example.com/cb]}]`,
		"oidc.backchannel_retry":         "1h",
		"smtp.url":                       "smtp://127.0.0.1:1025?starttls=false",
		"smtp.password_file":             "",
		"smtp.from":                      "auth@example.com",
		"webauthn.rp_id":                 "example.com",
		"webauthn.rp_name":               "Example Inc.",
		"metrics.listen":                 "127.0.0.1:9441",
		"cors.allowed_origins":           "https://app.example.com",
	}
	var environ []string
	for _, k := range Keys() {
		v, ok := values[k]
		if !ok {
			t.Fatalf("no test value for %s", k)
		}
		environ = append(environ, EnvName(k)+"="+v)
	}
	if _, warnings, err := Load(Source{Environ: environ}); err != nil || len(warnings) > 0 {
		t.Errorf("Load = %q, %v; want no warnings or error", warnings, err)
	}
}
