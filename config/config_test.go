package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file into a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lacop.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// errorLines returns the lines of a Load or Validate error, failing the
// test unless it is a *Errors.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error = %v (%T); want *Errors", err, err)
	}
	var lines []string
	for _, fe := range *errs {
		lines = append(lines, fe.Error())
	}
	return lines
}

func TestDefault(t *testing.T) {
	want := Config{
		Listen:    "127.0.0.1:9440",
		PublicURL: "http://127.0.0.1:9440",
		DataDir:   "./lacop-data",
		Storage:   Storage{Driver: "sqlite", RedisPrefix: "lacop:", SharedCache: true},
		Session: Session{
			InactivityTimeout:  30 * time.Minute,
			Lifetime:           12 * time.Hour,
			RememberMeLifetime: 720 * time.Hour,
		},
		Tokens:        Tokens{AccessTTL: 15 * time.Minute, RefreshTTL: 720 * time.Hour},
		Regulation:    Regulation{MaxFailures: 5, MaxFailuresPerIP: 20, Window: 10 * time.Minute, Ban: 15 * time.Minute, MaxUnknownCookies: 300},
		Server:        Server{ShutdownGrace: 10 * time.Second},
		AccessControl: AccessControl{DefaultPolicy: "one_factor"},
		Log:           Log{Level: "info", Format: "text"},
		OIDC:          OIDC{BackchannelRetry: 24 * time.Hour},
	}
	got := Default()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v; want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v; want nil", err)
	}
	loaded, warnings, err := Load(Source{})
	if err != nil || len(warnings) > 0 || !reflect.DeepEqual(loaded, want) {
		t.Errorf("Load(Source{}) = %+v, %q, %v; want defaults, no warnings, nil", loaded, warnings, err)
	}
}

func TestKeys(t *testing.T) {
	want := []string{
		"listen", "public_url", "data_dir",
		"storage.driver", "storage.postgres_url", "storage.redis_url", "storage.redis_prefix", "storage.shared_cache",
		"session.inactivity_timeout", "session.lifetime", "session.remember_me_lifetime",
		"session.cookie_domain", "session.max_per_user",
		"redirect.allowed_domains",
		"tokens.access_ttl", "tokens.refresh_ttl", "tokens.reuse_grace",
		"regulation.max_failures", "regulation.max_failures_per_ip", "regulation.window", "regulation.ban",
		"regulation.max_unknown_cookies",
		"server.trusted_proxies", "server.shutdown_grace", "server.max_connections", "server.max_connections_per_ip",
		"server.tls_cert", "server.tls_key", "server.tls_self_signed",
		"auth.require_second_factor",
		"access_control.default_policy", "access_control.rules",
		"log.level", "log.format",
		"oidc.clients", "oidc.backchannel_retry",
		"smtp.url", "smtp.password_file", "smtp.from",
		"webauthn.rp_id", "webauthn.rp_name",
		"metrics.listen",
		"cors.allowed_origins",
	}
	if got := Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %q; want %q", got, want)
	}
	seen := make(map[string]string)
	for _, k := range want {
		name := EnvName(k)
		if other, dup := seen[name]; dup {
			t.Errorf("EnvName(%q) = EnvName(%q) = %q", k, other, name)
		}
		seen[name] = k
	}
	if got, want := EnvName("session.inactivity_timeout"), "LACOP_SESSION_INACTIVITY_TIMEOUT"; got != want {
		t.Errorf("EnvName = %q; want %q", got, want)
	}
}

// fullFile sets every key to something other than its default.
const fullFile = `
listen: 0.0.0.0:8080
public_url: https://auth.example.com/
data_dir: /var/lib/lacop
storage:
  driver: postgres
  postgres_url: postgres://lacop@db:5432/lacop
  redis_url: redis://cache:6379/0
  redis_prefix: "prod:"
  shared_cache: false
session:
  inactivity_timeout: 1h
  lifetime: 24h
  remember_me_lifetime: 2160h
  cookie_domain: example.com
  max_per_user: 10
redirect:
  allowed_domains: [example.com, "*.example.org"]
tokens:
  access_ttl: 5m
  refresh_ttl: 24h
  reuse_grace: 10s
regulation:
  max_failures: 3
  max_failures_per_ip: 7
  window: 5m
  ban: 1h
  max_unknown_cookies: 50
server:
  trusted_proxies: [10.0.0.0/8, 192.168.1.1, "::1"]
  shutdown_grace: 30s
  max_connections: 5000
  max_connections_per_ip: 50
  tls_self_signed: true
auth:
  require_second_factor: true
access_control:
  default_policy: deny
  rules:
    - domain: "*.example.com"
      policy: two_factor
      groups: [admins]
      resources: [/admin]
    - domain: public.example.com
      policy: bypass
log:
  level: debug
  format: json
oidc:
  clients:
    - id: grafana
      name: Grafana
      secret: "$argon2id$v=19$m=1024,t=1,p=1$vB5AR0tsjpDjyvw0dYCQwg$FGFtYJc21jVGljho8Dv/1r527csTfgayz/xeuRX74dE"
      public: false
      redirect_uris: [https://grafana.example.com/login/generic_oauth]
      post_logout_redirect_uris: [https://grafana.example.com/]
      backchannel_logout_uri: https://grafana.example.com/oidc/backchannel
      backchannel_logout_session_required: true
      frontchannel_logout_uri: https://grafana.example.com/oidc/frontchannel
      scopes: [openid, email]
      consent: explicit
      groups: [admins]
      id_token_signed_response_alg: RS256
  backchannel_retry: 1h
smtp:
  url: smtps://lacop@mail.example.com
  password_file: testdata/smtp-password
  from: lacop <auth@example.com>
`

func TestLoadFileSetsEveryKey(t *testing.T) {
	want := Config{
		Listen:    "0.0.0.0:8080",
		PublicURL: "https://auth.example.com/",
		DataDir:   "/var/lib/lacop",
		Storage:   Storage{Driver: "postgres", PostgresURL: "postgres://lacop@db:5432/lacop", RedisURL: "redis://cache:6379/0", RedisPrefix: "prod:"},
		Session: Session{InactivityTimeout: time.Hour, Lifetime: 24 * time.Hour, RememberMeLifetime: 2160 * time.Hour,
			CookieDomain: "example.com", MaxPerUser: 10},
		Redirect:   Redirect{AllowedDomains: []string{"example.com", "*.example.org"}},
		Tokens:     Tokens{AccessTTL: 5 * time.Minute, RefreshTTL: 24 * time.Hour, ReuseGrace: 10 * time.Second},
		Regulation: Regulation{MaxFailures: 3, MaxFailuresPerIP: 7, Window: 5 * time.Minute, Ban: time.Hour, MaxUnknownCookies: 50},
		Server: Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.168.1.1/32"), netip.MustParsePrefix("::1/128")}, ShutdownGrace: 30 * time.Second,
			MaxConnections: 5000, MaxConnectionsPerIP: 50, TLSSelfSigned: true},
		Auth: Auth{RequireSecondFactor: true},
		AccessControl: AccessControl{DefaultPolicy: "deny", Rules: []Rule{
			{Domain: "*.example.com", Policy: "two_factor", Groups: []string{"admins"}, Resources: []string{"/admin"}},
			{Domain: "public.example.com", Policy: "bypass"},
		}},
		Log: Log{Level: "debug", Format: "json"},
		OIDC: OIDC{Clients: []Client{{
			ID: "grafana", Name: "Grafana", Secret: testHash,
			RedirectURIs:                     []string{"https://grafana.example.com/login/generic_oauth"},
			PostLogoutRedirectURIs:           []string{"https://grafana.example.com/"},
			BackchannelLogoutURI:             "https://grafana.example.com/oidc/backchannel",
			BackchannelLogoutSessionRequired: true,
			FrontchannelLogoutURI:            "https://grafana.example.com/oidc/frontchannel",
			Scopes:                           []string{"openid", "email"},
			Consent:                          "explicit",
			Groups:                           []string{"admins"},
			IDTokenSignedResponseAlg:         "RS256",
		}}, BackchannelRetry: time.Hour},
		SMTP: SMTP{URL: "smtps://lacop@mail.example.com", PasswordFile: "testdata/smtp-password", From: "lacop <auth@example.com>"},
	}
	got, warnings, err := Load(Source{File: writeFile(t, fullFile)})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Load = %v, %q; want no error or warnings", err, warnings)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}
}

func TestLoadPrecedence(t *testing.T) {
	const file = "listen: 127.0.0.2:1\ndata_dir: /file\nsession:\n  lifetime: 2h\n"
	tests := []struct {
		name    string
		file    string
		environ []string
		flags   map[string]string
		want    func(*Config)
	}{
		{"defaults", "", nil, nil, func(*Config) {}},
		{"file overrides default", file, nil, nil, func(c *Config) {
			c.Listen, c.PublicURL, c.DataDir, c.Session.Lifetime = "127.0.0.2:1", "http://127.0.0.2:1", "/file", 2*time.Hour
		}},
		{"env overrides file", file, []string{"LACOP_DATA_DIR=/env", "LACOP_SESSION_LIFETIME=3h"}, nil, func(c *Config) {
			c.Listen, c.PublicURL, c.DataDir, c.Session.Lifetime = "127.0.0.2:1", "http://127.0.0.2:1", "/env", 3*time.Hour
		}},
		{"flags override env", file, []string{"LACOP_DATA_DIR=/env", "LACOP_SESSION_LIFETIME=3h"},
			map[string]string{"data_dir": "/flag", "storage.driver": "postgres", "storage.postgres_url": "postgres://db/x"},
			func(c *Config) {
				c.Listen, c.PublicURL, c.DataDir, c.Session.Lifetime = "127.0.0.2:1", "http://127.0.0.2:1", "/flag", 3*time.Hour
				c.Storage = Storage{Driver: "postgres", PostgresURL: "postgres://db/x", RedisPrefix: "lacop:", SharedCache: true}
			}},
		{"last env entry wins", "", []string{"LACOP_LISTEN=:1", "LACOP_LISTEN=:2"}, nil, func(c *Config) {
			c.Listen, c.PublicURL = ":2", "http://127.0.0.1:2"
		}},
		{"public_url set is kept", "listen: 127.0.0.2:1\npublic_url: https://auth.example.com\n", nil, nil, func(c *Config) {
			c.Listen, c.PublicURL = "127.0.0.2:1", "https://auth.example.com"
		}},
		{"public_url from env is kept", "listen: 127.0.0.2:1\n", []string{"LACOP_PUBLIC_URL=http://localhost:9"}, nil, func(c *Config) {
			c.Listen, c.PublicURL = "127.0.0.2:1", "http://localhost:9"
		}},
		{"public_url follows listen with TLS", "", nil, map[string]string{"listen": "0.0.0.0:9443", "server.tls_self_signed": "true"},
			func(c *Config) {
				c.Listen, c.PublicURL, c.Server.TLSSelfSigned = "0.0.0.0:9443", "https://127.0.0.1:9443", true
			}},
		{"null in file keeps default", "listen: ~\nstorage:\n", nil, nil, func(*Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Environ: tt.environ, Flags: tt.flags}
			if tt.file != "" {
				src.File = writeFile(t, tt.file)
			}
			want := Default()
			tt.want(&want)
			got, _, err := Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestLoadErrors checks the exact lines of the error; FILE stands for the
// path of the config file.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // "-" means a file that does not exist
		environ []string
		flags   map[string]string
		want    []string
	}{
		{"unknown top-level key", "sesion:\n  lifetime: 1h\n", nil, nil,
			[]string{"sesion: unknown key [file FILE]"}},
		{"unknown key at depth", "session:\n  inactivty_timeout: 1m\naccess_control:\n  rules:\n    - domain: a.com\n      polcy: deny\n", nil, nil,
			[]string{
				"session.inactivty_timeout: unknown key [file FILE]",
				"access_control.rules[0].polcy: unknown key [file FILE]",
				`access_control.rules[0].policy: "": must be one of bypass, one_factor, two_factor, deny [file FILE]`,
			}},
		{"bad duration", "session:\n  inactivity_timeout: ten minutes\n", nil, nil,
			[]string{`session.inactivity_timeout: "ten minutes" is not a duration (use Go syntax like 90s, 15m, 720h) [file FILE]`}},
		{"type errors name the key", "listen: [a, b]\nregulation:\n  max_failures: abc\nauth:\n  require_second_factor: yes please\nredirect:\n  allowed_domains: a.com\nsession: 5\n", nil, nil,
			[]string{
				"listen: expected a string, got a list [file FILE]",
				`regulation.max_failures: "abc" is not an integer [file FILE]`,
				`auth.require_second_factor: "yes please" is not a boolean (use true or false) [file FILE]`,
				`redirect.allowed_domains: expected a list, got "a.com" [file FILE]`,
				`session: expected a mapping of keys, got "5" [file FILE]`,
			}},
		{"several problems in one error", "log:\n  level: loud\n  format: xml\nregulation:\n  max_failures: 0\n", nil, nil,
			[]string{
				`regulation.max_failures: "0": must be at least 1 [file FILE]`,
				`log.level: "loud": must be one of debug, info, warn, error [file FILE]`,
				`log.format: "xml": must be one of text, json [file FILE]`,
			}},
		{"repeated key", "listen: :1\nlisten: :2\n", nil, nil,
			[]string{"listen: given twice (lines 1 and 2) [file FILE]"}},
		{"bad YAML names the line", "listen: :1\nsession:\n  lifetime: 1h\n    x: y\n", nil, nil,
			[]string{"not valid YAML: line 4: mapping values are not allowed in this context [file FILE]"}},
		{"top level not a mapping", "- a\n- b\n", nil, nil,
			[]string{"expected a mapping of keys at the top, got a list (line 1) [file FILE]"}},
		{"a bad part is reported once", "server:\n  trusted_proxies: [10.0.0.0/8, nope]\naccess_control:\n  rules:\n    - {domain: [a.com], policy: deny}\n    - 5\n", nil, nil,
			[]string{
				`server.trusted_proxies[1]: "nope" is not an IP address or CIDR [file FILE]`,
				"access_control.rules[0].domain: expected a string, got a list [file FILE]",
				`access_control.rules[1]: expected a mapping of keys, got "5" [file FILE]`,
			}},
		{"missing file", "-", nil, nil, []string{"file does not exist [file FILE]"}},
		{"env value invalid", "", []string{"LACOP_SESSION_LIFETIME=-1h"}, nil,
			[]string{`LACOP_SESSION_LIFETIME: "-1h": must be positive [env]`}},
		{"env type errors", "", []string{"LACOP_AUTH_REQUIRE_SECOND_FACTOR=yes please", "LACOP_REGULATION_MAX_FAILURES=abc",
			"LACOP_TOKENS_ACCESS_TTL=15", "LACOP_SERVER_TRUSTED_PROXIES=10.0.0.0/8,nope"}, nil,
			[]string{
				`LACOP_AUTH_REQUIRE_SECOND_FACTOR: "yes please" is not a boolean (use true or false) [env]`,
				`LACOP_REGULATION_MAX_FAILURES: "abc" is not an integer [env]`,
				`LACOP_SERVER_TRUSTED_PROXIES[1]: "nope" is not an IP address or CIDR [env]`,
				`LACOP_TOKENS_ACCESS_TTL: "15" is not a duration (use Go syntax like 90s, 15m, 720h) [env]`,
			}},
		{"env rules are checked", "", []string{"LACOP_ACCESS_CONTROL_RULES=[{domain: a.com, polcy: deny}, {domain: b.com, policy: never}]"}, nil,
			[]string{
				"LACOP_ACCESS_CONTROL_RULES[0].polcy: unknown key [env]",
				`LACOP_ACCESS_CONTROL_RULES[0].policy: "": must be one of bypass, one_factor, two_factor, deny [env]`,
				`LACOP_ACCESS_CONTROL_RULES[1].policy: "never": must be one of bypass, one_factor, two_factor, deny [env]`,
			}},
		{"env rules not YAML", "", []string{"LACOP_ACCESS_CONTROL_RULES=[{domain: a.com"}, nil,
			[]string{"LACOP_ACCESS_CONTROL_RULES: not a YAML list: line 1: did not find expected ',' or '}' [env]"}},
		{"flag value invalid", "", nil, map[string]string{"session.max_per_user": "-1", "nope": "x"},
			[]string{
				"nope: unknown key [flag]",
				`session.max_per_user: "-1": must not be negative (0 means no cap) [flag]`,
			}},
		{"cross-field problem blames the key that was set", "", []string{"LACOP_SESSION_LIFETIME=10m"}, nil,
			[]string{`LACOP_SESSION_LIFETIME: "10m": must not be shorter than session.inactivity_timeout ("30m") [env]`}},
		{"postgres without URL blames the driver", "", nil, map[string]string{"storage.driver": "postgres"},
			[]string{`storage.driver: "postgres": needs storage.postgres_url [flag]`}},
		{"every source at once", "sesion: {}\n", []string{"LACOP_LISTEN=nope"}, map[string]string{"log.level": "loud"},
			[]string{
				"sesion: unknown key [file FILE]",
				`LACOP_LISTEN: "nope": must be host:port, like 127.0.0.1:9440 [env]`,
				`log.level: "loud": must be one of debug, info, warn, error [flag]`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Environ: tt.environ, Flags: tt.flags}
			switch tt.file {
			case "":
			case "-":
				src.File = filepath.Join(t.TempDir(), "missing.yaml")
			default:
				src.File = writeFile(t, tt.file)
			}
			got, _, err := Load(src)
			if !reflect.DeepEqual(got, Config{}) {
				t.Errorf("Load returned a config with its error: %+v", got)
			}
			lines := errorLines(t, err)
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "FILE", src.File))
			}
			if !slices.Equal(lines, want) {
				t.Errorf("Load errors:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
