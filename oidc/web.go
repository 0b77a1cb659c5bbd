package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	proto "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lacop/lacop"
)

// Pending is what the web layer's continue page needs to know of a request
// waiting for its sign-in.
type Pending struct {
	ID         string
	ClientID   string
	ClientName string
	Scopes     []string
	// PromptNone: no page may be shown; answer or fail with login_required.
	PromptNone bool
	// PromptLogin / MaxAge: a sign-in older than this must be repeated.
	PromptLogin bool
	MaxAge      *uint
	// PromptConsent: ask even if the person allowed the app before.
	PromptConsent bool
	// Explicit: the app asks for consent (once per person and scopes).
	Explicit bool
	// CreatedAt is when the app sent the request.
	CreatedAt time.Time
	req       *authRequest
}

// ErrNoRequest is returned for a request that is unknown or expired.
var ErrNoRequest = lacop.Errorf(lacop.ENOTFOUND, "This sign-in request has expired or is unknown. Go back to the app and try again.")

// PendingRequest reads a request waiting for its sign-in.
func (p *Provider) PendingRequest(ctx context.Context, id string) (*Pending, error) {
	a, err := p.request(ctx, id)
	if err != nil {
		var nf notFound
		if errors.As(err, &nf) {
			return nil, ErrNoRequest
		}
		return nil, err
	}
	c, ok := p.clients[a.ClientID]
	if !ok {
		return nil, ErrNoRequest
	}
	return &Pending{
		ID: a.ID, ClientID: a.ClientID, ClientName: c.cfg.Name, Scopes: a.Scopes,
		PromptNone: a.prompts(proto.PromptNone), PromptLogin: a.prompts(proto.PromptLogin),
		PromptConsent: a.prompts(proto.PromptConsent), MaxAge: a.MaxAge,
		Explicit: c.cfg.Consent == "explicit", CreatedAt: a.CreatedAt, req: a,
	}, nil
}

// Allowed reports whether u may sign in to the request's app.
func (p *Provider) Allowed(pr *Pending, u *lacop.User) bool {
	c, ok := p.clients[pr.ClientID]
	return ok && c.allowed(u.Groups)
}

// Refusals a request can end with, sent back to the app (new values each
// time: the library's errors are changed in place by WithDescription).
func LoginRequired() *proto.Error   { return proto.ErrLoginRequired() }
func ConsentRequired() *proto.Error { return &proto.Error{ErrorType: "consent_required"} }
func AccessDenied() *proto.Error    { return proto.ErrAccessDenied() }

// Refuse ends a request by sending err back to the app's redirect URI
// (which the library checked when the request was made).
func (p *Provider) Refuse(w http.ResponseWriter, r *http.Request, pr *Pending, err *proto.Error) {
	_ = p.store.DeleteAuthRequest(r.Context(), pr.ID)
	op.AuthRequestError(w, r.WithContext(op.ContextWithIssuer(r.Context(), p.cfg.Issuer)), pr.req, err, p.op)
}

// NeedsConsent reports whether the person must be asked before the app
// signs them in.
func (p *Provider) NeedsConsent(ctx context.Context, pr *Pending, userID string) (bool, error) {
	if pr.PromptConsent {
		return true, nil
	}
	if !pr.Explicit {
		return false, nil
	}
	c, err := p.store.Consent(ctx, userID, pr.ClientID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return true, nil
	} else if err != nil {
		return false, err
	}
	for _, s := range pr.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// Consent remembers that the person allowed the app these scopes.
func (p *Provider) Consent(ctx context.Context, pr *Pending, userID string) error {
	return p.store.SaveConsent(ctx, &lacop.Consent{UserID: userID, ClientID: pr.ClientID, Scopes: pr.Scopes, CreatedAt: p.now()})
}

// App is an app signed in through a session, for the session list.
type App struct {
	ClientID string    `json:"clientId"`
	Name     string    `json:"name"`
	Since    time.Time `json:"since"`
}

// SessionApps lists, per session id, the apps signed in through it.
func (p *Provider) SessionApps(ctx context.Context, sessionIDs ...string) (map[string][]App, error) {
	out := map[string][]App{}
	if len(sessionIDs) == 0 {
		return out, nil
	}
	gs, err := p.store.AppGrants(ctx, lacop.GrantSelection{SessionIDs: sessionIDs})
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		apps := out[g.SessionID]
		if i := slices.IndexFunc(apps, func(a App) bool { return a.ClientID == g.ClientID }); i >= 0 {
			continue // one line per app, since its first sign-in
		}
		out[g.SessionID] = append(apps, App{ClientID: g.ClientID, Name: p.clientName(g.ClientID), Since: g.CreatedAt})
	}
	return out, nil
}

func (p *Provider) clientName(id string) string {
	if c, ok := p.clients[id]; ok && c.cfg.Name != "" {
		return c.cfg.Name
	}
	return id
}

// AllowedApp is an app a person has allowed (consented to or signed in to).
type AllowedApp struct {
	ClientID string    `json:"clientId"`
	Name     string    `json:"name"`
	Since    time.Time `json:"since"`
}

// AllowedApps lists the apps a person allowed: those with a remembered
// consent and those holding a grant.
func (p *Provider) AllowedApps(ctx context.Context, userID string) ([]AllowedApp, error) {
	cs, err := p.store.UserConsents(ctx, userID)
	if err != nil {
		return nil, err
	}
	gs, err := p.store.AppGrants(ctx, lacop.GrantSelection{UserID: userID})
	if err != nil {
		return nil, err
	}
	var out []AllowedApp
	add := func(id string, since time.Time) {
		if slices.ContainsFunc(out, func(a AllowedApp) bool { return a.ClientID == id }) {
			return
		}
		out = append(out, AllowedApp{ClientID: id, Name: p.clientName(id), Since: since})
	}
	for _, c := range cs {
		add(c.ClientID, c.CreatedAt)
	}
	for _, g := range gs {
		add(g.ClientID, g.CreatedAt)
	}
	return out, nil
}

// RemoveAccess ends an app's tokens in every session of the person, forgets
// their consent and sends the app a back-channel logout for each grant.
func (p *Provider) RemoveAccess(ctx context.Context, userID, clientID, actorID string) error {
	if err := p.auth.EndAppGrants(ctx, lacop.GrantSelection{UserID: userID, ClientID: clientID, DropConsent: true}); err != nil {
		return err
	}
	p.auth.Record(ctx, &lacop.AuditEvent{
		Type: lacop.AuditOIDCConsentRevoked, UserID: userID, ActorID: actorID,
		Detail: map[string]string{"client": clientID},
	})
	return nil
}

// FrontchannelURLs are the front-channel logout URIs of the apps signed in
// through a session, with iss and sid, for the signed-out page's iframes.
// They must be read before the session ends (its grants end with it).
func (p *Provider) FrontchannelURLs(ctx context.Context, sessionID string) []string {
	if p == nil { // no apps configured
		return nil
	}
	gs, err := p.store.AppGrants(ctx, lacop.GrantSelection{SessionIDs: []string{sessionID}})
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range gs {
		c, ok := p.clients[g.ClientID]
		if !ok || c.cfg.FrontchannelLogoutURI == "" {
			continue
		}
		u, err := url.Parse(c.cfg.FrontchannelLogoutURI)
		if err != nil {
			continue
		}
		q := u.Query()
		q.Set("iss", p.cfg.Issuer)
		q.Set("sid", p.sid(sessionID))
		u.RawQuery = q.Encode()
		if !slices.Contains(out, u.String()) {
			out = append(out, u.String())
		}
	}
	return out
}

// Discovery is the provider's metadata document: the library's, with
// lacop's own end-session and front-channel support added and only what
// lacop does listed (code flow, S256).
func (p *Provider) Discovery(ctx context.Context) []byte {
	d := op.CreateDiscoveryConfig(op.ContextWithIssuer(ctx, p.cfg.Issuer), p.op, p.storage)
	d.ResponseTypesSupported = []string{string(proto.ResponseTypeCode)}
	d.GrantTypesSupported = []proto.GrantType{proto.GrantTypeCode, proto.GrantTypeRefreshToken}
	d.CodeChallengeMethodsSupported = []proto.CodeChallengeMethod{proto.CodeChallengeMethodS256}
	d.CheckSessionIframe = ""
	d.DeviceAuthorizationEndpoint = ""
	d.RequestParameterSupported = false
	d.ResponseModesSupported = []string{"query"}
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["frontchannel_logout_supported"] = true
	m["frontchannel_logout_session_supported"] = true
	m["end_session_endpoint"] = p.cfg.Issuer + PathEndSession
	m["id_token_signing_alg_values_supported"] = signatureAlgorithms
	m["subject_types_supported"] = []string{"public"}
	m["claims_parameter_supported"] = false
	out, _ := json.Marshal(m)
	return out
}
