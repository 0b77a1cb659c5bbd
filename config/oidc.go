package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lacop/lacop/password"
)

// Signing algorithms an app may ask its ID tokens in
// (id_token_signed_response_alg).
const (
	// AlgRS256 is the default: OpenID Connect's mandatory algorithm, the
	// one every app can verify.
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// plaintextPrefix marks a client secret written as it is rather than
// hashed: allowed so a first trial needs no extra step, warned about
// because anyone who can read the configuration can then act as the app.
const plaintextPrefix = "$plaintext$"

// maxClientID bounds a client id, which travels in URLs, logs and tokens.
const maxClientID = 64

// DefaultScopes returns the scopes a client may ask for when its
// configuration lists none: every scope lacop supports, which are also the
// only ones a client may list. A new slice each time, so no caller can
// change another's default.
func DefaultScopes() []string {
	return []string{"openid", "profile", "email", "groups", "offline_access"}
}

// Confidential reports whether the client proves itself with a secret at
// the token endpoint. A public client (a single-page or native app) cannot
// keep one, so it proves itself with PKCE instead.
func (c Client) Confidential() bool { return !c.Public }

// ApplyDefaults fills in what a client may leave out, so the rest of lacop
// reads one complete Client: the name shown to people is the id, every
// supported scope is allowed, consent is implicit (an app the operator set
// up is first-party) and ID tokens are signed with RS256. Scopes given as
// an empty list are left empty: that is a mistake to report, not a
// request for every scope.
func (c *Client) ApplyDefaults() {
	if c.Name == "" {
		c.Name = c.ID
	}
	if c.Scopes == nil {
		c.Scopes = DefaultScopes()
	}
	if c.Consent == "" {
		c.Consent = ConsentImplicit
	}
	if c.IDTokenSignedResponseAlg == "" {
		c.IDTokenSignedResponseAlg = AlgRS256
	}
}

// applyDefaults fills in every client's defaults (Load does, once the
// sources are read).
func (o *OIDC) applyDefaults() {
	for i := range o.Clients {
		o.Clients[i].ApplyDefaults()
	}
}

func (o OIDC) check(ck *checker) {
	seen := make(map[string]int, len(o.Clients))
	for i, c := range o.Clients {
		key := fmt.Sprintf("oidc.clients[%d]", i)
		if first, dup := seen[c.ID]; dup && c.ID != "" {
			ck.add(key+".id", "%q: given twice (also oidc.clients[%d]); client ids must be unique", c.ID, first)
		} else {
			seen[c.ID] = i
		}
		// Checked as Load leaves it, so Validate agrees with Load about a
		// client that leaves out what has a default.
		c.ApplyDefaults()
		c.check(ck, key)
	}
	if o.BackchannelRetry <= 0 {
		ck.add("oidc.backchannel_retry", "%q: must be positive", fmtDuration(o.BackchannelRetry))
	}
}

func (c Client) check(ck *checker, key string) {
	// Every message but the id's own names the client, so a problem in a
	// long list is found by the name the operator knows.
	add := func(field, format string, args ...any) {
		ck.add(key+field, "%s"+format, append([]any{clientLabel(c.ID)}, args...)...)
	}
	if msg := clientIDProblem(c.ID); msg != "" {
		ck.add(key+".id", "%s", msg)
	}

	switch {
	case c.Public && c.Secret != "":
		// Never shown: it may be the secret itself.
		add(".secret", "must be empty for a public client (public: true), which cannot keep a secret and proves itself with PKCE")
	case c.Confidential() && c.Secret == "":
		add(".secret", "must be set for a confidential client: the hash `lacop oidc hash-secret` prints (or public: true for an app that cannot keep a secret)")
	case c.Confidential() && strings.HasPrefix(c.Secret, plaintextPrefix):
		if c.Secret == plaintextPrefix {
			add(".secret", "%q holds no secret after the prefix", plaintextPrefix)
		}
	case c.Confidential():
		if err := password.CheckHash(c.Secret); err != nil {
			why := strings.TrimPrefix(err.Error(), password.ErrMalformed.Error()+": ")
			add(".secret", "must be a PHC argon2id hash ($argon2id$…, printed by `lacop oidc hash-secret`) or %q followed by the secret (not a hash: %s)",
				plaintextPrefix, why)
		}
	}

	if len(c.RedirectURIs) == 0 {
		add(".redirect_uris", "must list at least one URI: where the app receives sign-ins")
	}
	for j, u := range c.RedirectURIs {
		if msg := appURIProblem(u); msg != "" {
			add(fmt.Sprintf(".redirect_uris[%d]", j), "%q: %s", u, msg)
		}
	}
	for j, u := range c.PostLogoutRedirectURIs {
		if msg := appURIProblem(u); msg != "" {
			add(fmt.Sprintf(".post_logout_redirect_uris[%d]", j), "%q: %s", u, msg)
		}
	}
	if u := c.BackchannelLogoutURI; u != "" {
		if msg := appURIProblem(u); msg != "" {
			add(".backchannel_logout_uri", "%q: %s", u, msg)
		}
	}
	if u := c.FrontchannelLogoutURI; u != "" {
		if msg := appURIProblem(u); msg != "" {
			add(".frontchannel_logout_uri", "%q: %s", u, msg)
		}
	}

	if c.Scopes != nil && len(c.Scopes) == 0 {
		add(".scopes", "must list at least one scope, or be left out for every scope lacop supports (%s)",
			strings.Join(DefaultScopes(), ", "))
	}
	for j, s := range c.Scopes {
		if !slices.Contains(DefaultScopes(), s) {
			add(fmt.Sprintf(".scopes[%d]", j), "%q: unknown scope; lacop supports %s", s, strings.Join(DefaultScopes(), ", "))
		}
	}
	if !slices.Contains([]string{ConsentImplicit, ConsentExplicit}, c.Consent) {
		add(".consent", "%q: must be one of %s, %s", c.Consent, ConsentImplicit, ConsentExplicit)
	}
	switch c.IDTokenSignedResponseAlg {
	case AlgRS256, AlgES256, AlgEdDSA:
	default:
		add(".id_token_signed_response_alg", "%q: must be %s, %s or %s", c.IDTokenSignedResponseAlg, AlgRS256, AlgES256, AlgEdDSA)
	}
	for j, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			add(fmt.Sprintf(".groups[%d]", j), "must not be empty")
		}
	}
}

// warnings are what Load accepts but the operator should change: a client
// secret written in plain text.
func (o OIDC) warnings() []problem {
	var ps []problem
	for i, c := range o.Clients {
		if c.Confidential() && strings.HasPrefix(c.Secret, plaintextPrefix) && c.Secret != plaintextPrefix {
			ps = append(ps, problem{
				key: fmt.Sprintf("oidc.clients[%d].secret", i),
				msg: clientLabel(c.ID) + "written in plain text, so anyone who can read the configuration can act as this app; " +
					"store its hash: lacop oidc hash-secret",
			})
		}
	}
	return ps
}

// clientLabel starts a message about client id: `client "grafana": `, or
// nothing when there is no id to name.
func clientLabel(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("client %q: ", id)
}

// clientIDProblem says what is wrong with a client id, or "". The id is
// sent in URLs, in HTTP Basic credentials (where a colon would split it),
// as the aud of tokens and in logs, so it is kept to characters that need
// no escaping anywhere.
func clientIDProblem(id string) string {
	if id == "" {
		return "must not be empty"
	}
	if len(id) > maxClientID {
		return fmt.Sprintf("%q: must be at most %d characters", id, maxClientID)
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.' {
			return fmt.Sprintf("%q: must hold only letters, digits, '-', '_' and '.'", id)
		}
	}
	return ""
}

// appURIProblem says what is wrong with a URI of an app (where lacop sends
// a person with a code, or after sign-out, or where it sends a logout), or
// "". Codes, sids and logout tokens travel to these URIs, so they must be
// https; plain http only reaches this machine, for development. A fragment
// is not allowed (RFC 6749 §3.1.2): the code would be added after it.
func appURIProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "must be an absolute https URL, like https://app.example.com/callback"
	case u.Hostname() == "":
		return "must have a host"
	case u.User != nil:
		return "must not contain a user name or password"
	case strings.Contains(s, "#"):
		return "must not have a fragment"
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return "must be https; plain http is allowed only to this machine (localhost, 127.0.0.1, [::1]), for development"
	}
	return ""
}
