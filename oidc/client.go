package oidc

import (
	"slices"
	"time"

	proto "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lacop/lacop/config"
)

// client is a configured app as the protocol library sees it: code flow
// only, opaque access tokens (so every use is checked against the grant,
// and through it the session), redirect URIs matched exactly.
type client struct {
	cfg config.Client
	// loginURL is where the library sends a request to be answered by a
	// sign-in: the web layer's continue page.
	loginURL string
	idTTL    time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.cfg.ID }
func (c *client) RedirectURIs() []string           { return c.cfg.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.cfg.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType {
	if c.cfg.Public {
		// A user-agent app: PKCE required, no secret, https redirects (the
		// library allows loopback http for development only in DevMode,
		// which config check decides instead).
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() proto.AuthMethod {
	if c.cfg.Public {
		return proto.AuthMethodNone
	}
	return proto.AuthMethodBasic
}

func (c *client) ResponseTypes() []proto.ResponseType {
	return []proto.ResponseType{proto.ResponseTypeCode}
}

func (c *client) GrantTypes() []proto.GrantType {
	g := []proto.GrantType{proto.GrantTypeCode}
	if slices.Contains(c.cfg.Scopes, proto.ScopeOfflineAccess) {
		g = append(g, proto.GrantTypeRefreshToken)
	}
	return g
}

func (c *client) LoginURL(id string) string            { return c.loginURL + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return c.idTTL }
func (c *client) DevMode() bool                        { return true } // config check decides which redirect URIs are allowed
func (c *client) IsScopeAllowed(scope string) bool     { return slices.Contains(c.cfg.Scopes, scope) }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true } // most apps read email and name from the ID token
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return c.restrict
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return c.restrict
}

// restrict keeps the scopes the client is allowed.
func (c *client) restrict(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if c.IsScopeAllowed(s) {
			out = append(out, s)
		}
	}
	return out
}

// allowed reports whether a user may sign in to the client: every user
// when the client names no groups, otherwise members of one of them.
func (c *client) allowed(groups []string) bool {
	if len(c.cfg.Groups) == 0 {
		return true
	}
	for _, g := range groups {
		if slices.Contains(c.cfg.Groups, g) {
			return true
		}
	}
	return false
}
