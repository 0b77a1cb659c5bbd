package config

import (
	"fmt"
	"net/url"
	"strings"
)

// WebAuthn says how passkeys are bound to this portal.
type WebAuthn struct {
	// RPID is the domain passkeys are registered for; "" means the public
	// URL's host. It may be a parent domain of that host (with
	// session.cookie_domain set, usually that domain), so a passkey keeps
	// working if the portal moves between its subdomains. A passkey is
	// only ever offered to pages within it.
	RPID string `yaml:"rp_id"`
	// RPName is the name authenticators show beside the account; ""
	// means "lacop (host)".
	RPName string `yaml:"rp_name"`
}

// PasskeyRPID is the RP ID passkeys use, and ok false when there is none:
// browsers refuse passkeys for an IP address, so a portal reached by one
// (the default 127.0.0.1) offers none unless webauthn.rp_id names a
// domain. A bad value is reported by Validate; here it means none.
func (c *Config) PasskeyRPID() (string, bool) {
	public, msg := parsePublicURL(c.PublicURL)
	if msg != "" {
		return "", false
	}
	host := strings.ToLower(public.Hostname())
	id := c.WebAuthn.RPID
	if id == "" {
		id = host
	}
	if rpIDProblem(id, host) != "" {
		return "", false
	}
	return id, true
}

// PasskeyOrigin is the one origin passkey ceremonies may come from: the
// public URL's scheme, host and port.
func (c *Config) PasskeyOrigin() string {
	public, msg := parsePublicURL(c.PublicURL)
	if msg != "" {
		return ""
	}
	return (&url.URL{Scheme: public.Scheme, Host: strings.ToLower(public.Host)}).String()
}

// PasskeyRPName is webauthn.rp_name or its default.
func (c *Config) PasskeyRPName() string {
	if c.WebAuthn.RPName != "" {
		return c.WebAuthn.RPName
	}
	if public, msg := parsePublicURL(c.PublicURL); msg == "" {
		return "lacop (" + public.Hostname() + ")"
	}
	return "lacop"
}

// rpIDProblem says what is wrong with id as the RP ID of a portal at host,
// or "": it must be a domain (localhost included) and host must be it or
// within it, the rule browsers apply.
func rpIDProblem(id, host string) string {
	if id != "localhost" {
		if msg := domainProblem(id); msg != "" {
			return msg
		}
	}
	if host != id && !strings.HasSuffix(host, "."+id) {
		return fmt.Sprintf("public_url's host %q is not this domain or within it: browsers would refuse every passkey", host)
	}
	return ""
}

func (c *Config) checkWebAuthn(ck *checker) {
	if c.WebAuthn.RPID == "" {
		return
	}
	public, msg := parsePublicURL(c.PublicURL)
	if msg != "" {
		return
	}
	if p := rpIDProblem(c.WebAuthn.RPID, strings.ToLower(public.Hostname())); p != "" {
		ck.add("webauthn.rp_id", "%q: %s", c.WebAuthn.RPID, p)
	}
}
