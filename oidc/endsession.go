package oidc

import (
	"context"
	"errors"
	"net/url"
	"slices"

	proto "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lacop/lacop"
)

// EndSession is a checked RP-initiated logout request (RP-Initiated Logout
// 1.0).
type EndSession struct {
	ClientID   string
	ClientName string
	// Redirect is the registered post_logout_redirect_uri with state added,
	// or "" when none was asked for.
	Redirect string
	// Subject and SID are those of a valid id_token_hint ("" without one).
	Subject string
	SID     string
	// Params are the request's parameters, to carry through a confirmation.
	Params url.Values
}

// Names this session: the hint was issued to an app signed in through it.
func (e *EndSession) Names(p *Provider, s *lacop.Session) bool {
	return s != nil && e.SID != "" && e.Subject == s.UserID && e.SID == p.sid(s.ID)
}

// errEndSession is an end-session request that cannot be honoured; shown
// as an error page, never a redirect.
func errEndSession(msg string) error { return lacop.Errorf(lacop.EINVALID, "%s", msg) }

// ParseEndSession checks an end-session request: a hint must carry a valid
// signature of ours (an expired one is accepted), a client_id must agree
// with it, and a post_logout_redirect_uri must be registered for the
// client exactly.
func (p *Provider) ParseEndSession(ctx context.Context, form url.Values) (*EndSession, error) {
	e := &EndSession{Params: url.Values{}}
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"} {
		if v := form[k]; len(v) > 1 {
			return nil, errEndSession(k + " is repeated.")
		} else if len(v) == 1 && v[0] != "" {
			e.Params.Set(k, v[0])
		}
	}
	clientID := e.Params.Get("client_id")
	if hint := e.Params.Get("id_token_hint"); hint != "" {
		ctx = op.ContextWithIssuer(ctx, p.cfg.Issuer)
		claims, err := op.VerifyIDTokenHint[*proto.IDTokenClaims](ctx, hint, p.op.IDTokenHintVerifier(ctx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			return nil, errEndSession("The id_token_hint is not a valid ID token from this server.")
		}
		azp := claims.GetAuthorizedParty()
		if azp == "" && len(claims.Audience) == 1 {
			azp = claims.Audience[0]
		}
		if clientID != "" && clientID != azp {
			return nil, errEndSession("client_id does not match the id_token_hint.")
		}
		clientID = azp
		e.Subject = claims.GetSubject()
		if sid, ok := claims.Claims["sid"].(string); ok {
			e.SID = sid
		}
	}
	if clientID != "" {
		c, ok := p.clients[clientID]
		if !ok {
			return nil, errEndSession("The app is not known to this server.")
		}
		e.ClientID, e.ClientName = clientID, p.clientName(clientID)
		if rd := e.Params.Get("post_logout_redirect_uri"); rd != "" {
			if !slices.Contains(c.cfg.PostLogoutRedirectURIs, rd) {
				return nil, errEndSession("The post_logout_redirect_uri is not registered for this app.")
			}
			e.Redirect = withState(rd, e.Params.Get("state"))
		}
	} else if e.Params.Get("post_logout_redirect_uri") != "" {
		return nil, errEndSession("A post_logout_redirect_uri needs an id_token_hint or a client_id.")
	}
	return e, nil
}

// withState adds state to a redirect URI, keeping its own query.
func withState(rd, state string) string {
	if state == "" {
		return rd
	}
	u, err := url.Parse(rd)
	if err != nil {
		return rd
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}
