// Package oidc makes lacop an OpenID Connect provider for the apps behind
// it. The protocol surface (authorization, token, userinfo, introspection,
// revocation, discovery) is zitadel/oidc's certified op package; this
// package is its storage, which asks auth and the stores for everything,
// and what is lacop's own: every app token bound to the lacop session it
// was issued in, the logout tokens, and RP-initiated logout.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/config"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
)

// Paths of the endpoints lacop serves; discovery lists them.
const (
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token"
	PathUserinfo   = "/oauth/userinfo"
	PathIntrospect = "/oauth/introspect"
	PathRevoke     = "/oauth/revoke"
	PathEndSession = "/oauth/logout"
	PathJWKS       = "/.well-known/jwks.json"
	// PathContinue is the web layer's page that answers a request with the
	// signed-in session (after sign-in and consent when needed).
	PathContinue = "/oauth/continue"
)

// Config is what the provider needs from lacop's configuration.
type Config struct {
	// Issuer is the public URL, without a trailing slash.
	Issuer     string
	Clients    []config.Client
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// IDTokenTTL is how long an ID token is valid.
	IDTokenTTL time.Duration
}

// Provider is lacop's OpenID Connect provider.
type Provider struct {
	cfg     Config
	auth    *auth.Service
	store   lacop.AppStore
	hasher  *password.Hasher
	sealer  *seal.Sealer
	logger  *slog.Logger
	now     func() time.Time
	clients map[string]*client
	keys    *keyRing
	op      *op.Provider
	storage *storage
	// verified remembers, per client, the SHA-256 of the secret last
	// verified, so only a changed secret pays for argon2id again.
	verified sync.Map
	// http sends back-channel logouts; each attempt's context carries its
	// timeout.
	http *http.Client
}

// New builds the provider and loads (or makes) its ID-token key.
func New(ctx context.Context, cfg Config, a *auth.Service, store lacop.AppStore, hasher *password.Hasher, sealer *seal.Sealer, logger *slog.Logger) (*Provider, error) {
	p := &Provider{
		cfg: cfg, auth: a, store: store, hasher: hasher, sealer: sealer, logger: logger, now: a.Now,
		clients: make(map[string]*client, len(cfg.Clients)),
		http:    &http.Client{CheckRedirect: noRedirects, Transport: backchannelTransport()},
	}
	if p.cfg.IDTokenTTL == 0 {
		p.cfg.IDTokenTTL = time.Hour
	}
	for _, c := range cfg.Clients {
		c.ApplyDefaults() // Load has, but a Config built in code may not have
		p.clients[c.ID] = &client{cfg: c, loginURL: cfg.Issuer + PathContinue + "?id=", idTTL: p.cfg.IDTokenTTL}
	}
	p.keys = &keyRing{store: a.Keys, sealer: sealer, now: a.Now, algs: []jose.SignatureAlgorithm{jose.RS256}}
	for _, c := range p.clients {
		if alg := jose.SignatureAlgorithm(c.cfg.IDTokenSignedResponseAlg); !slices.Contains(p.keys.algs, alg) {
			p.keys.algs = append(p.keys.algs, alg)
		}
	}
	if err := p.keys.load(ctx); err != nil {
		return nil, err
	}
	p.storage = &storage{p: p}
	// The library encrypts opaque access tokens (id:subject) with this key;
	// every instance derives the same one from secret.key.
	var key [32]byte
	copy(key[:], sealer.MAC([]byte("oidc access token key")))
	opCfg := &op.Config{
		CryptoKey:                         key,
		CodeMethodS256:                    true,
		AuthMethodPost:                    true,
		GrantTypeRefreshToken:             true,
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
		SupportedScopes:                   config.DefaultScopes(),
		SupportedClaims: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "acr", "amr",
			"at_hash", "c_hash", "azp", "email", "email_verified", "name", "preferred_username", "groups"},
	}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(PathAuthorize)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(PathToken)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(PathUserinfo)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(PathRevoke)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(PathEndSession)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(PathJWKS)),
		op.WithLogger(logger),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(
			string(jose.RS256), string(jose.ES256), string(jose.EdDSA))),
	}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		// Allowed by config only on loopback (development).
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(opCfg, p.storage, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.op = prov
	return p, nil
}

// Handler serves the library's endpoints (authorize and its callback,
// token, userinfo, introspection, revocation). It notes which app a
// request names, so that the ID token the library then signs uses that
// app's algorithm (the library asks its storage for one signing key,
// without saying for whom).
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := requestClient(r); id != "" {
			r = r.WithContext(context.WithValue(r.Context(), clientKey{}, id))
		}
		p.op.ServeHTTP(w, r)
	})
}

// clientKey is the context key of the app a request names.
type clientKey struct{}

// requestClient is the app a token request names: the Basic user
// (form-encoded, RFC 6749 §2.3.1) or the form's client_id. The library
// authenticates it; here it only picks a signing algorithm.
func requestClient(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
	}
	return r.PostForm.Get("client_id")
}

// algFor is the ID-token algorithm of the app ctx names, RS256 by default.
func (p *Provider) algFor(ctx context.Context) jose.SignatureAlgorithm {
	id, _ := ctx.Value(clientKey{}).(string)
	return p.alg(id)
}

// alg is the ID-token algorithm of the app id, RS256 by default.
func (p *Provider) alg(id string) jose.SignatureAlgorithm {
	if c, ok := p.clients[id]; ok && c.cfg.IDTokenSignedResponseAlg != "" {
		return jose.SignatureAlgorithm(c.cfg.IDTokenSignedResponseAlg)
	}
	return jose.RS256
}

// RotateKey adds a new ID-token key for each algorithm the apps use
// (lacop keys rotate) and returns their ids.
func (p *Provider) RotateKey(ctx context.Context) (string, error) {
	ids, err := p.keys.rotate(ctx)
	return strings.Join(ids, ", "), err
}

// Client returns a configured client's settings.
func (p *Provider) Client(id string) (config.Client, bool) {
	c, ok := p.clients[id]
	if !ok {
		return config.Client{}, false
	}
	return c.cfg, true
}

// HasClient reports whether any client sent the request: the token and
// revocation endpoints are shared with lacop's own token flows, and a
// request with client authentication (Basic, or client_id in the form)
// is an app's. The form must have been parsed.
func HasClient(r *http.Request) bool {
	if _, _, ok := r.BasicAuth(); ok {
		return true
	}
	return r.PostForm.Get("client_id") != "" || r.PostForm.Get("grant_type") == "authorization_code"
}

// randomID is 32 random bytes, base64url: request ids, token ids, tokens.
func (p *Provider) randomID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sid is the session's id for apps: the same for every app signed in
// through one session, and not the public id the session API shows (a
// leaked logout token or ID token names no session a person could be
// asked about).
func (p *Provider) sid(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(p.sealer.MAC([]byte("oidc sid " + sessionID))[:18])
}

// request reads a stored authorization request.
func (p *Provider) request(ctx context.Context, id string) (*authRequest, error) {
	r, err := p.store.AuthRequestByID(ctx, id, p.now())
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, notFound{"authorization request"}
	} else if err != nil {
		return nil, err
	}
	return decode(r)
}

// liveGrant is a grant whose session and user may act.
type liveGrant struct {
	grant   *lacop.AppGrant
	session *lacop.Session
	user    *lacop.User
	token   *lacop.AppToken
}

// live checks that a grant and its session live.
func (p *Provider) live(ctx context.Context, grantID string) (*liveGrant, error) {
	g, err := p.store.AppGrantByID(ctx, grantID)
	if err != nil {
		return nil, errors.New("grant ended")
	}
	u, sess, err := p.auth.LiveSession(ctx, g.SessionID)
	if err != nil {
		return nil, err
	}
	if u.ID != g.UserID {
		return nil, errors.New("grant ended")
	}
	return &liveGrant{grant: g, session: sess, user: u}, nil
}

// liveToken checks an access token by its id.
func (p *Provider) liveToken(ctx context.Context, tokenID string) (*liveGrant, error) {
	t, err := p.store.AppTokenByHash(ctx, hash(tokenID))
	if err != nil || t.Kind != lacop.AppTokenAccess || !p.now().Before(t.ExpiresAt) {
		return nil, errors.New("token ended")
	}
	lg, err := p.live(ctx, t.GrantID)
	if err != nil {
		return nil, err
	}
	lg.token = t
	return lg, nil
}

// tokenErr turns a store's refusal to write a token for a grant that has
// ended into invalid_grant.
func (p *Provider) tokenErr(err error) error {
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return op.ErrInvalidRefreshToken
	}
	return err
}

// grant creates the grant of a code exchange and claims the code for it.
// Of two exchanges of one code exactly one claims it; the other ends the
// winner's grant as well as its own.
func (p *Provider) grant(ctx context.Context, r *authRequest) (string, error) {
	if _, _, err := p.auth.LiveSession(ctx, r.SessionID); err != nil {
		return "", errors.New("the session that signed in has ended")
	}
	now := p.now()
	g := &lacop.AppGrant{
		ID: p.randomID(), SessionID: r.SessionID, UserID: r.UserID, ClientID: r.ClientID,
		Scopes: r.Scopes, AuthTime: r.AuthTime, CreatedAt: now,
	}
	if err := p.store.CreateAppGrant(ctx, g); err != nil {
		return "", err
	}
	if err := p.store.ClaimAuthRequest(ctx, r.ID, g.ID); err != nil {
		p.endGrant(ctx, g.ID, "code_reuse")
		if prev, perr := p.store.AuthRequestByID(ctx, r.ID, now); perr == nil && prev.GrantID != "" {
			p.endGrant(ctx, prev.GrantID, "code_reuse")
		}
		return "", errors.New("code used already")
	}
	p.auth.Record(ctx, &lacop.AuditEvent{
		Type: lacop.AuditOIDCAuthorized, UserID: g.UserID, SessionID: g.SessionID,
		Detail: map[string]string{"client": g.ClientID},
	})
	return g.ID, nil
}

// endGrant ends one grant and tells its app (a code or refresh token used
// twice: the app's tokens may be in other hands).
func (p *Provider) endGrant(ctx context.Context, grantID, why string) {
	if err := p.auth.EndAppGrants(ctx, lacop.GrantSelection{GrantIDs: []string{grantID}}); err != nil {
		p.logger.Error("end app grant", "why", why, "err", err)
		return
	}
	p.logger.Warn("ended an app grant: a code or refresh token was used twice", "why", why)
}

// Answer records that the signed-in session answers request id and
// returns where the browser goes next: the library's callback, which
// issues the code and redirects to the app.
func (p *Provider) Answer(ctx context.Context, id string, u *lacop.User, sess *lacop.Session) (string, error) {
	r, err := p.store.AuthRequestByID(ctx, id, p.now())
	if err != nil {
		return "", err
	}
	a, err := decode(r)
	if err != nil {
		return "", err
	}
	a.UserID, a.SessionID, a.AuthLevel, a.Answered = u.ID, sess.ID, sess.AuthLevel, true
	a.AMR = p.auth.SignInMethods(ctx, sess)
	a.AuthTime = sess.CreatedAt
	data, _ := json.Marshal(a)
	if err := p.store.UpdateAuthRequest(ctx, id, data); err != nil {
		return "", err
	}
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.cfg.Issuer), id), nil
}
