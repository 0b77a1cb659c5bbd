package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// invalidTests each break one rule; key is the only key that must be named.
var invalidTests = []struct {
	name   string
	mutate func(*Config)
	key    string
}{
	{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, "listen"},
	{"listen named port", func(c *Config) { c.Listen = "127.0.0.1:http" }, "listen"},
	{"listen port too big", func(c *Config) { c.Listen = "127.0.0.1:65536" }, "listen"},
	{"listen negative port", func(c *Config) { c.Listen = ":-1" }, "listen"},
	{"public_url relative", func(c *Config) { c.PublicURL = "auth.example.com" }, "public_url"},
	{"public_url ftp", func(c *Config) { c.PublicURL = "ftp://auth.example.com" }, "public_url"},
	{"public_url no host", func(c *Config) { c.PublicURL = "https://" }, "public_url"},
	{"public_url empty host with port", func(c *Config) { c.PublicURL = "https://:443" }, "public_url"},
	{"public_url path", func(c *Config) { c.PublicURL = "https://example.com/auth" }, "public_url"},
	{"public_url query", func(c *Config) { c.PublicURL = "https://example.com/?a=b" }, "public_url"},
	{"public_url empty query", func(c *Config) { c.PublicURL = "https://example.com/?" }, "public_url"},
	{"public_url fragment", func(c *Config) { c.PublicURL = "https://example.com/#" }, "public_url"},
	{"public_url userinfo", func(c *Config) { c.PublicURL = "https://u:p@example.com" }, "public_url"},
	{"public_url opaque", func(c *Config) { c.PublicURL = "https:example.com" }, "public_url"},
	{"data_dir empty", func(c *Config) { c.DataDir = " " }, "data_dir"},
	{"storage driver", func(c *Config) { c.Storage.Driver = "mysql" }, "storage.driver"},
	{"postgres without url", func(c *Config) { c.Storage.Driver = "postgres" }, "storage.postgres_url"},
	{"postgres url scheme", func(c *Config) { c.Storage.PostgresURL = "mysql://db/x" }, "storage.postgres_url"},
	{"redis url scheme", func(c *Config) { c.Storage.RedisURL = "http://cache:6379" }, "storage.redis_url"},
	{"redis url no host", func(c *Config) { c.Storage.RedisURL = "redis:///0" }, "storage.redis_url"},
	{"redis unix no path", func(c *Config) { c.Storage.RedisURL = "unix://" }, "storage.redis_url"},
	{"redis prefix hash tag", func(c *Config) { c.Storage.RedisPrefix = "a{b}:" }, "storage.redis_prefix"},
	{"redis prefix too long", func(c *Config) { c.Storage.RedisPrefix = strings.Repeat("p", 65) }, "storage.redis_prefix"},
	{"inactivity zero", func(c *Config) { c.Session.InactivityTimeout = 0 }, "session.inactivity_timeout"},
	{"lifetime negative", func(c *Config) { c.Session.Lifetime = -time.Hour }, "session.lifetime"},
	{"remember me zero", func(c *Config) { c.Session.RememberMeLifetime = 0 }, "session.remember_me_lifetime"},
	{"access ttl zero", func(c *Config) { c.Tokens.AccessTTL = 0 }, "tokens.access_ttl"},
	{"refresh ttl zero", func(c *Config) { c.Tokens.RefreshTTL = 0 }, "tokens.refresh_ttl"},
	{"window zero", func(c *Config) { c.Regulation.Window = 0 }, "regulation.window"},
	{"ban zero", func(c *Config) { c.Regulation.Ban = 0 }, "regulation.ban"},
	{"shutdown grace zero", func(c *Config) { c.Server.ShutdownGrace = 0 }, "server.shutdown_grace"},
	{"reuse grace negative", func(c *Config) { c.Tokens.ReuseGrace = -time.Second }, "tokens.reuse_grace"},
	{"reuse grace too long", func(c *Config) { c.Tokens.ReuseGrace = time.Minute + 1 }, "tokens.reuse_grace"},
	{"inactivity over lifetime", func(c *Config) { c.Session.InactivityTimeout = 13 * time.Hour }, "session.inactivity_timeout"},
	{"remember me under lifetime", func(c *Config) { c.Session.RememberMeLifetime = time.Hour }, "session.lifetime"},
	{"access ttl over refresh ttl", func(c *Config) { c.Tokens.AccessTTL = 721 * time.Hour }, "tokens.access_ttl"},
	{"max failures zero", func(c *Config) { c.Regulation.MaxFailures = 0 }, "regulation.max_failures"},
	{"max per user negative", func(c *Config) { c.Session.MaxPerUser = -1 }, "session.max_per_user"},
	{"cookie domain leading dot", cookieDomain(".example.com"), "session.cookie_domain"},
	{"cookie domain uppercase", cookieDomain("Example.com"), "session.cookie_domain"},
	{"cookie domain ip", cookieDomain("127.0.0.1"), "session.cookie_domain"},
	{"cookie domain one label", cookieDomain("localhost"), "session.cookie_domain"},
	{"cookie domain bad chars", cookieDomain("exa_mple.com"), "session.cookie_domain"},
	{"cookie domain empty label", cookieDomain("example..com"), "session.cookie_domain"},
	{"cookie domain trailing dot", cookieDomain("example.com."), "session.cookie_domain"},
	{"cookie domain hyphen", cookieDomain("-example.com"), "session.cookie_domain"},
	{"cookie domain numeric tld", cookieDomain("example.123"), "session.cookie_domain"},
	{"cookie domain not public host", func(c *Config) {
		c.PublicURL, c.Session.CookieDomain = "https://auth.example.org", "example.com"
	}, "session.cookie_domain"},
	{"cookie domain suffix but not subdomain", func(c *Config) {
		c.PublicURL, c.Session.CookieDomain = "https://badexample.com", "example.com"
	}, "session.cookie_domain"},
	{"allowed domain invalid", allowed("exa mple.com"), "redirect.allowed_domains[1]"},
	{"allowed domain empty", allowed(""), "redirect.allowed_domains[1]"},
	{"allowed domain bare wildcard", allowed("*."), "redirect.allowed_domains[1]"},
	{"allowed domain url", allowed("https://example.com"), "redirect.allowed_domains[1]"},
	{"allowed domain ip", allowed("10.0.0.1"), "redirect.allowed_domains[1]"},
	{"trusted proxy invalid", func(c *Config) { c.Server.TrustedProxies = []netip.Prefix{{}} }, "server.trusted_proxies[0]"},
	{"default policy", func(c *Config) { c.AccessControl.DefaultPolicy = "allow" }, "access_control.default_policy"},
	{"rule policy", rule(Rule{Domain: "example.com", Policy: "allow"}), "access_control.rules[0].policy"},
	{"rule domain empty", rule(Rule{Policy: "deny"}), "access_control.rules[0].domain"},
	{"rule domain invalid", rule(Rule{Domain: "*.exa mple.com", Policy: "deny"}), "access_control.rules[0].domain"},
	{"rule domain inner wildcard", rule(Rule{Domain: "a.*.example.com", Policy: "deny"}), "access_control.rules[0].domain"},
	{"rule resource relative", rule(Rule{Domain: "example.com", Policy: "deny", Resources: []string{"/ok", "admin"}}), "access_control.rules[0].resources[1]"},
	{"rule group empty", rule(Rule{Domain: "example.com", Policy: "deny", Groups: []string{""}}), "access_control.rules[0].groups[0]"},
	{"log level", func(c *Config) { c.Log.Level = "trace" }, "log.level"},
	{"log format", func(c *Config) { c.Log.Format = "logfmt" }, "log.format"},
}

func cookieDomain(d string) func(*Config) {
	return func(c *Config) { c.PublicURL, c.Session.CookieDomain = "https://auth.example.com", d }
}

func allowed(d string) func(*Config) {
	return func(c *Config) { c.Redirect.AllowedDomains = []string{"example.com", d} }
}

func rule(r Rule) func(*Config) {
	return func(c *Config) { c.AccessControl.Rules = []Rule{r} }
}

func TestValidateRejects(t *testing.T) {
	for _, tt := range invalidTests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			lines := errorLines(t, c.Validate())
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.key+": ") {
				t.Errorf("Validate() = %q; want one error naming %s", lines, tt.key)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"listen all interfaces", func(c *Config) { c.Listen = ":9440" }},
		{"listen ipv6", func(c *Config) { c.Listen = "[::1]:0" }},
		{"public_url https with slash", func(c *Config) { c.PublicURL = "https://auth.example.com/" }},
		{"public_url with port", func(c *Config) { c.PublicURL = "http://localhost:8080" }},
		{"postgres", func(c *Config) {
			c.Storage = Storage{Driver: "postgres", PostgresURL: "postgres://u:p@db:5432/lacop?sslmode=disable"}
		}},
		{"redis unix", func(c *Config) { c.Storage.RedisURL = "unix:///run/redis.sock" }},
		{"reuse grace max", func(c *Config) { c.Tokens.ReuseGrace = time.Minute }},
		{"equal durations", func(c *Config) {
			c.Session.InactivityTimeout, c.Session.Lifetime, c.Session.RememberMeLifetime = time.Hour, time.Hour, time.Hour
			c.Tokens.AccessTTL, c.Tokens.RefreshTTL = time.Hour, time.Hour
		}},
		{"cookie domain equals host", cookieDomain("auth.example.com")},
		{"cookie domain parent", cookieDomain("example.com")},
		{"cookie domain host case", func(c *Config) {
			c.PublicURL, c.Session.CookieDomain = "https://Auth.Example.com", "example.com"
		}},
		{"allowed domains forms", func(c *Config) {
			c.Redirect.AllowedDomains = []string{"example.com", "*.example.org", ".example.net", "intranet", "xn--bcher-kva.de"}
		}},
		{"rules", func(c *Config) {
			c.AccessControl.Rules = []Rule{
				{Domain: "*.example.com", Policy: "two_factor", Groups: []string{"admins"}, Resources: []string{"/admin"}},
				{Domain: "example.com", Policy: "bypass"},
			}
		}},
		{"max per user", func(c *Config) { c.Session.MaxPerUser = 5 }},
	}
	for _, tt := range tests {
		c := Default()
		tt.mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v; want nil", tt.name, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Listen, c.DataDir, c.Log.Level = "nope", "", "loud"
	c.AccessControl.Rules = []Rule{{Domain: "a.com", Policy: "x"}, {Domain: "", Policy: "deny"}}
	want := []string{
		`listen: "nope": must be host:port, like 127.0.0.1:9440`,
		"data_dir: must not be empty",
		`access_control.rules[0].policy: "x": must be one of bypass, one_factor, two_factor, deny`,
		"access_control.rules[1].domain: must not be empty",
		`log.level: "loud": must be one of debug, info, warn, error`,
	}
	err := c.Validate()
	if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Validate() = %q; want %q", got, want)
	}
	if got, want := err.Error(), strings.Join(want, "\n"); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestURLSecretsNotShown(t *testing.T) {
	c := Default()
	c.Storage.PostgresURL = "mysql://u:hunter2@db/x"
	c.Storage.RedisURL = "http://u:hunter2@cache"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate() = %v; want an error without the password", err)
	}
}

func TestFmtDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "1h"}, {-time.Hour, "-1h"}, {90 * time.Minute, "1h30m"}, {10 * time.Minute, "10m"},
		{90 * time.Second, "1m30s"}, {0, "0s"}, {time.Hour + time.Second, "1h0m1s"}, {1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
