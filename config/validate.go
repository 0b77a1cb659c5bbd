package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lacop/lacop/access"
)

// maxReuseGrace bounds tokens.reuse_grace: a longer grace would let a stolen
// refresh token be replayed unnoticed.
const maxReuseGrace = time.Minute

// Validate checks c and returns a *Errors listing every problem, or nil.
// Keys are dotted and Source is empty: Validate does not know where the
// values came from (Load does, and says so).
func (c *Config) Validate() error {
	ps := c.problems()
	if len(ps) == 0 {
		return nil
	}
	errs := make(Errors, len(ps))
	for i, p := range ps {
		errs[i] = FieldError{Key: p.key, Message: p.msg}
	}
	return &errs
}

// problem is one validation failure. A problem between two keys also names
// the other key, with the message as seen from it, so Load can blame the
// one the user actually set.
type problem struct {
	key, msg      string
	also, alsoMsg string
}

type checker []problem

func (c *checker) add(key, format string, args ...any) {
	*c = append(*c, problem{key: key, msg: fmt.Sprintf(format, args...)})
}

func (c *checker) cross(key, msg, also, alsoMsg string) {
	*c = append(*c, problem{key: key, msg: msg, also: also, alsoMsg: alsoMsg})
}

func (c *checker) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		c.add(key, "%q: must be one of %s", value, strings.Join(allowed, ", "))
	}
}

func (c *Config) problems() []problem {
	var ck checker
	if msg := listenProblem(c.Listen); msg != "" {
		ck.add("listen", "%q: %s", c.Listen, msg)
	}
	for i, o := range c.CORS.AllowedOrigins {
		if msg := originProblem(o); msg != "" {
			ck.add("cors.allowed_origins", "[%d] %q: %s", i, o, msg)
		}
	}
	if c.Metrics.Listen != "" {
		if msg := listenProblem(c.Metrics.Listen); msg != "" {
			ck.add("metrics.listen", "%q: %s", c.Metrics.Listen, msg)
		} else if c.Metrics.Listen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			ck.add("metrics.listen", "%q: is the main listen address; leave metrics.listen empty to serve /metrics there (to this machine only)", c.Metrics.Listen)
		}
	}
	public, msg := parsePublicURL(c.PublicURL)
	if msg != "" {
		ck.add("public_url", "%q: %s", c.PublicURL, msg)
	}
	c.checkScheme(&ck, public)
	if strings.TrimSpace(c.DataDir) == "" {
		ck.add("data_dir", "must not be empty")
	}
	c.Storage.check(&ck)
	c.checkDurations(&ck)
	if c.Regulation.MaxUnknownCookies < 1 {
		ck.add("regulation.max_unknown_cookies", "\"%d\": must be at least 1", c.Regulation.MaxUnknownCookies)
	}
	if c.Regulation.MaxFailuresPerIP < 1 {
		ck.add("regulation.max_failures_per_ip", "\"%d\": must be at least 1", c.Regulation.MaxFailuresPerIP)
	}
	if c.Regulation.MaxFailures < 1 {
		ck.add("regulation.max_failures", "\"%d\": must be at least 1", c.Regulation.MaxFailures)
	}
	if c.Session.MaxPerUser < 0 {
		ck.add("session.max_per_user", "\"%d\": must not be negative (0 means no cap)", c.Session.MaxPerUser)
	}
	c.checkCookieDomain(&ck, public)
	for i, d := range c.Redirect.AllowedDomains {
		name := strings.TrimPrefix(strings.TrimPrefix(d, "*."), ".")
		if msg := domainProblem(name); msg != "" {
			ck.add(fmt.Sprintf("redirect.allowed_domains[%d]", i), "%q: %s", d, msg)
		}
	}
	for i, p := range c.Server.TrustedProxies {
		if !p.IsValid() {
			ck.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "not a valid CIDR")
		}
	}
	c.Server.checkServer(&ck)
	policies := []string{PolicyBypass, PolicyOneFactor, PolicyTwoFactor, PolicyDeny}
	ck.oneOf("access_control.default_policy", c.AccessControl.DefaultPolicy, policies...)
	for i, r := range c.AccessControl.Rules {
		r.check(&ck, fmt.Sprintf("access_control.rules[%d]", i), policies)
	}
	ck.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ck.oneOf("log.format", c.Log.Format, "text", "json")
	c.OIDC.check(&ck)
	c.SMTP.check(&ck)
	c.checkWebAuthn(&ck)
	return ck
}

func (s Storage) check(ck *checker) {
	ck.oneOf("storage.driver", s.Driver, DriverSQLite, DriverPostgres)
	// URLs may hold passwords, so messages show them redacted or not at all.
	switch {
	case s.PostgresURL != "":
		u, err := url.Parse(s.PostgresURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			ck.add("storage.postgres_url", "must be a postgres:// or postgresql:// URL")
		}
	case s.Driver == DriverPostgres:
		ck.cross("storage.postgres_url", "must be set when storage.driver is postgres",
			"storage.driver", `"postgres": needs storage.postgres_url`)
	}
	if s.RedisURL != "" {
		if msg := redisProblem(s.RedisURL); msg != "" {
			ck.add("storage.redis_url", "%s", msg)
		}
	}
	// Braces would start a Redis Cluster hash tag of their own and split
	// lacop's keys over slots its scripts cannot span.
	if len(s.RedisPrefix) > 64 || strings.ContainsAny(s.RedisPrefix, "{} \t\r\n") {
		ck.add("storage.redis_prefix", "must be at most 64 characters without braces or spaces")
	}
}

func redisProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "must be a redis://, rediss:// or unix:// URL"
	}
	// Only the scheme and host are shown: user info, path, query and an
	// opaque part may all carry a password.
	shown := u.Scheme + "://" + u.Host
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return fmt.Sprintf("%q: must name a host", shown)
		}
	case "unix":
		if u.Path == "" {
			return fmt.Sprintf("%q: must name a socket path, like unix:///run/redis.sock", shown)
		}
	default:
		// Not a Redis URL at all: which part is the host, or the password,
		// cannot be known, so nothing of it is shown.
		return "must be a redis://, rediss:// or unix:// URL"
	}
	return ""
}

func (c *Config) checkDurations(ck *checker) {
	s, t := c.Session, c.Tokens
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"session.inactivity_timeout", s.InactivityTimeout},
		{"session.lifetime", s.Lifetime},
		{"session.remember_me_lifetime", s.RememberMeLifetime},
		{"tokens.access_ttl", t.AccessTTL},
		{"tokens.refresh_ttl", t.RefreshTTL},
		{"regulation.window", c.Regulation.Window},
		{"regulation.ban", c.Regulation.Ban},
		{"server.shutdown_grace", c.Server.ShutdownGrace},
	}
	for _, p := range positive {
		if p.d <= 0 {
			ck.add(p.key, "%q: must be positive", fmtDuration(p.d))
		}
	}
	switch {
	case t.ReuseGrace < 0:
		ck.add("tokens.reuse_grace", "%q: must not be negative", fmtDuration(t.ReuseGrace))
	case t.ReuseGrace > maxReuseGrace:
		ck.add("tokens.reuse_grace", "%q: must be at most %s", fmtDuration(t.ReuseGrace), fmtDuration(maxReuseGrace))
	}
	// Orderings between two durations, checked only when both are positive
	// so one bad value is reported once.
	order := func(shortKey string, short time.Duration, longKey string, long time.Duration) {
		if short > 0 && long > 0 && short > long {
			ck.cross(shortKey, fmt.Sprintf("%q: must not be longer than %s (%q)", fmtDuration(short), longKey, fmtDuration(long)),
				longKey, fmt.Sprintf("%q: must not be shorter than %s (%q)", fmtDuration(long), shortKey, fmtDuration(short)))
		}
	}
	order("session.inactivity_timeout", s.InactivityTimeout, "session.lifetime", s.Lifetime)
	order("session.lifetime", s.Lifetime, "session.remember_me_lifetime", s.RememberMeLifetime)
	order("tokens.access_ttl", t.AccessTTL, "tokens.refresh_ttl", t.RefreshTTL)
}

func (c *Config) checkCookieDomain(ck *checker, public *url.URL) {
	const key = "session.cookie_domain"
	cd := c.Session.CookieDomain
	if cd == "" {
		return
	}
	msg := ""
	switch {
	case strings.HasPrefix(cd, "."):
		msg = "must not start with a dot (the cookie covers subdomains anyway)"
	case domainProblem(cd) != "":
		msg = domainProblem(cd)
	case !strings.Contains(cd, "."):
		msg = "must have at least two labels, like example.com"
	}
	if msg != "" {
		ck.add(key, "%q: %s", cd, msg)
		return
	}
	if public == nil {
		return
	}
	// A cookie for another domain would never reach the portal.
	host := strings.ToLower(public.Hostname())
	if host != cd && !strings.HasSuffix(host, "."+cd) {
		ck.cross(key, fmt.Sprintf("%q: public_url's host %q is not this domain or a subdomain of it", cd, host),
			"public_url", fmt.Sprintf("%q: host is not session.cookie_domain (%q) or a subdomain of it", c.PublicURL, cd))
	}
}

func (r Rule) check(ck *checker, key string, policies []string) {
	switch {
	case r.Domain == "":
		ck.add(key+".domain", "must not be empty")
	default:
		if msg := domainProblem(strings.TrimPrefix(r.Domain, "*.")); msg != "" {
			ck.add(key+".domain", "%q: %s (use example.com or *.example.com)", r.Domain, msg)
		}
	}
	ck.oneOf(key+".policy", r.Policy, policies...)
	for j, g := range r.Groups {
		if strings.TrimSpace(g) == "" {
			ck.add(fmt.Sprintf("%s.groups[%d]", key, j), "must not be empty")
		}
	}
	for j, res := range r.Resources {
		var pe *access.PathError
		switch _, err := access.ParseResource(res); {
		case !strings.HasPrefix(res, "/"):
			ck.add(fmt.Sprintf("%s.resources[%d]", key, j), "%q: must start with /", res)
		case errors.As(err, &pe):
			// Requests are compared decoded and resolved; a prefix that is
			// not could never match the path an upstream serves.
			ck.add(fmt.Sprintf("%s.resources[%d]", key, j), "%q: must be a plain path prefix, not %s", res, pe.Reason)
		}
	}
}

// listenProblem checks a host:port listen address. The host may be empty
// (":9440" listens on every interface).
func listenProblem(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "must be host:port, like 127.0.0.1:9440"
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "port must be a number from 0 to 65535"
	}
	return ""
}

// parsePublicURL checks the portal's public URL: the origin it is served
// at, with nothing after it. It returns the parsed URL when it is valid.
func parsePublicURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https"):
		return nil, "must be an absolute http or https URL, like https://auth.example.com"
	case u.Hostname() == "":
		return nil, "must have a host"
	case u.User != nil:
		return nil, "must not contain a user name or password"
	case u.Path != "" && u.Path != "/":
		return nil, "must not have a path: lacop is served at the root of its host"
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#"):
		return nil, "must not have a query or fragment"
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return nil, "port must be a number from 0 to 65535"
		}
	}
	return u, ""
}

// domainProblem says what is wrong with a lowercase DNS name, or "".
func domainProblem(s string) string {
	if _, err := netip.ParseAddr(s); err == nil {
		return "must be a domain name, not an IP address"
	}
	if strings.ToLower(s) != s {
		return "must be lowercase"
	}
	if s == "" || len(s) > 253 {
		return "not a valid domain name"
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "not a valid domain name"
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return "not a valid domain name"
			}
		}
	}
	// An all-digit top label would read as an IPv4 address (1.2.3).
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "must be a domain name, not an IP address"
	}
	return ""
}

// fmtDuration writes d as a person would: 1h rather than 1h0m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// originProblem says why s is not an origin a browser app can have:
// scheme and host (and port), nothing else; https, or http on a loopback
// host.
func originProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "*" || strings.Contains(s, "*"):
		return "must name one origin; wildcards are not allowed"
	case err != nil || u.Opaque != "" || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return "must be an origin like https://app.example.com"
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "/"):
		return "must be only scheme://host[:port], without a path, query or trailing slash"
	case strings.ToLower(s) != s:
		return "must be lowercase"
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return "must be https (http only for localhost or a loopback address)"
	}
	return ""
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}
