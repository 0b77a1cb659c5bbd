package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	proto "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lacop/lacop"
)

// requestTTL is how long an authorization request may wait for its sign-in
// and, once answered, how long its code works (and a second use of it is
// recognised and punished).
const requestTTL = 10 * time.Minute

// storage is the protocol library's view of lacop: every method asks the
// stores and auth; none keeps state of its own beyond the keys.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// notFound is the library's "no such thing".
type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }
func (notFound) IsNotFound()     {}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *proto.AuthRequest, _ string) (op.AuthRequest, error) {
	c, ok := s.p.clients[req.ClientID]
	if !ok {
		return nil, proto.ErrInvalidClient()
	}
	switch {
	case req.CodeChallenge != "" && req.CodeChallengeMethod != proto.CodeChallengeMethodS256:
		return nil, proto.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge == "" && c.cfg.Public:
		return nil, proto.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	now := s.p.now()
	a := &authRequest{
		ID: s.p.randomID(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		Nonce: req.Nonce, Scopes: c.restrict(req.Scopes), ResponseType: req.ResponseType, ResponseMode: req.ResponseMode,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod,
		Prompt: req.Prompt, LoginHint: req.LoginHint, CreatedAt: now,
	}
	if req.MaxAge != nil {
		v := *req.MaxAge
		a.MaxAge = &v
	}
	data, _ := json.Marshal(a)
	err := s.p.store.CreateAuthRequest(ctx, &lacop.AuthRequest{
		ID: a.ID, ClientID: a.ClientID, Data: data, CreatedAt: now, ExpiresAt: now.Add(requestTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("oidc: store authorization request: %w", err)
	}
	return a, nil
}

// decode reads a stored request.
func decode(r *lacop.AuthRequest) (*authRequest, error) {
	a := &authRequest{}
	if err := json.Unmarshal(r.Data, a); err != nil {
		return nil, fmt.Errorf("oidc: stored request %s: %w", r.ID, err)
	}
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.p.request(ctx, id)
}

// AuthRequestByCode finds the request a code was issued for. A code that
// was exchanged already is an attack or a broken client: the grant its
// first use made is ended (RFC 6749 section 4.1.2) and the code refused.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.p.store.AuthRequestByCode(ctx, hash(code), s.p.now())
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, notFound{"code"}
	} else if err != nil {
		return nil, err
	}
	if r.GrantID != "" {
		s.p.endGrant(ctx, r.GrantID, "code_reuse")
		return nil, errors.New("code used already")
	}
	return decode(r)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.store.SetAuthRequestCode(ctx, id, hash(code))
}

// DeleteAuthRequest is called once the code was exchanged (and on
// errors). A request whose code was used stays until it expires, so a
// second use is recognised.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	r, err := s.p.store.AuthRequestByID(ctx, id, s.p.now())
	if err != nil || r.GrantID != "" {
		return nil
	}
	return s.p.store.DeleteAuthRequest(ctx, id)
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := s.tokens(ctx, req, "", false)
	return id, exp, err
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return s.tokens(ctx, req, current, true)
}

// tokens issues an access token (and a refresh token) for a code exchange,
// which creates the grant, or for a refresh, which spends the current
// refresh token.
func (s *storage) tokens(ctx context.Context, req op.TokenRequest, current string, withRefresh bool) (string, string, time.Time, error) {
	var grantID string
	switch r := req.(type) {
	case *authRequest:
		g, err := s.p.grant(ctx, r)
		if err != nil {
			return "", "", time.Time{}, err
		}
		grantID = g
	case *refreshRequest:
		grantID = r.grantID
	default:
		return "", "", time.Time{}, proto.ErrUnsupportedGrantType()
	}
	now := s.p.now()
	accessID := s.p.randomID()
	exp := now.Add(s.p.cfg.AccessTTL)
	var next *lacop.AppToken
	refresh := ""
	if withRefresh {
		refresh = s.p.randomID()
		next = &lacop.AppToken{Hash: hash(refresh), GrantID: grantID, Kind: lacop.AppTokenRefresh, CreatedAt: now, ExpiresAt: now.Add(s.p.cfg.RefreshTTL)}
	}
	if r, ok := req.(*refreshRequest); ok {
		err := s.p.store.SpendAppToken(ctx, r.hash, now, next)
		if lacop.ErrorCode(err) == lacop.ECONFLICT {
			s.p.endGrant(ctx, grantID, "refresh_reuse")
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		} else if lacop.ErrorCode(err) == lacop.ENOTFOUND {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		} else if err != nil {
			return "", "", time.Time{}, err
		}
	} else if next != nil {
		if err := s.p.store.CreateAppToken(ctx, next); err != nil {
			return "", "", time.Time{}, s.p.tokenErr(err)
		}
	}
	err := s.p.store.CreateAppToken(ctx, &lacop.AppToken{Hash: hash(accessID), GrantID: grantID, Kind: lacop.AppTokenAccess, CreatedAt: now, ExpiresAt: exp})
	if err != nil {
		return "", "", time.Time{}, s.p.tokenErr(err)
	}
	// Written, then the session read back: an end that ran meanwhile either
	// saw these tokens (and deleted them with the grant) or is seen here.
	if _, err := s.p.live(ctx, grantID); err != nil {
		return "", "", time.Time{}, err
	}
	return accessID, refresh, exp, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.p.store.AppTokenByHash(ctx, hash(token))
	if err != nil || t.Kind != lacop.AppTokenRefresh || !s.p.now().Before(t.ExpiresAt) {
		return nil, op.ErrInvalidRefreshToken
	}
	if !t.SpentAt.IsZero() {
		s.p.endGrant(ctx, t.GrantID, "refresh_reuse")
		return nil, op.ErrInvalidRefreshToken
	}
	lg, err := s.p.live(ctx, t.GrantID)
	if err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{
		grantID: t.GrantID, sessionID: lg.grant.SessionID, userID: lg.grant.UserID, clientID: lg.grant.ClientID,
		scopes: lg.grant.Scopes, authTime: lg.grant.AuthTime, authLevel: lg.session.AuthLevel, hash: t.Hash,
		amr: s.p.auth.SignInMethods(ctx, lg.session),
	}, nil
}

// TerminateSession is the library's own end-session handling, which lacop
// does not use (see EndSession).
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken ends what the app asks to end (RFC 7009): a refresh token
// ends its whole grant (the app is not sent a logout: it asked); an access
// token ends alone. Unknown tokens are no error.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *proto.Error {
	t, err := s.p.store.AppTokenByHash(ctx, hash(tokenOrID))
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil
	} else if err != nil {
		return proto.ErrServerError()
	}
	g, err := s.p.store.AppGrantByID(ctx, t.GrantID)
	if err != nil {
		return nil
	}
	if g.ClientID != clientID {
		return proto.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if t.Kind == lacop.AppTokenRefresh {
		if _, err := s.p.store.EndAppGrants(ctx, lacop.GrantSelection{GrantIDs: []string{g.ID}}, nil); err != nil {
			return proto.ErrServerError()
		}
		return nil
	}
	if err := s.p.store.DeleteAppToken(ctx, t.Hash); err != nil {
		return proto.ErrServerError()
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.p.store.AppTokenByHash(ctx, hash(token))
	if err != nil || t.Kind != lacop.AppTokenRefresh {
		return "", "", op.ErrInvalidRefreshToken
	}
	g, err := s.p.store.AppGrantByID(ctx, t.GrantID)
	if err != nil || g.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.UserID, token, nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.p.keys.current(ctx, s.p.algFor(ctx))
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return signatureAlgorithms, nil
}

// signatureAlgorithms are the ID-token algorithms lacop signs with: RS256
// first (OIDC's mandatory one), ES256 and EdDSA for apps that ask.
var signatureAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, k := range s.p.keys.all(ctx, "") {
		out = append(out, publicKey{k})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.p.clients[id]
	if !ok {
		return nil, notFound{"client"}
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client secret. A PHC hash costs an
// argon2id run (~100 ms); a secret once verified is remembered by its
// SHA-256, so an app's every token call does not pay it.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, ok := s.p.clients[id]
	if !ok || c.cfg.Public || secret == "" {
		return proto.ErrInvalidClient()
	}
	sum := sha256.Sum256([]byte(id + "\x00" + secret))
	if v, ok := s.p.verified.Load(id); ok && subtle.ConstantTimeCompare(v.([]byte), sum[:]) == 1 {
		return nil
	}
	if plain, ok := strings.CutPrefix(c.cfg.Secret, "$plaintext$"); ok {
		if subtle.ConstantTimeCompare([]byte(plain), []byte(secret)) != 1 {
			return proto.ErrInvalidClient()
		}
	} else if good, err := s.p.hasher.Verify(ctx, secret, c.cfg.Secret); err != nil || !good {
		return proto.ErrInvalidClient()
	}
	s.p.verified.Store(id, sum[:])
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, ui *proto.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.p.auth.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	setUserinfo(ui, u, scopes)
	return nil
}

// SetUserinfoFromRequest adds the session's sid to the ID token: the same
// for every app signed in through one lacop session.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *proto.UserInfo, req op.IDTokenRequest, _ []string) error {
	switch r := req.(type) {
	case *authRequest:
		ui.AppendClaims("sid", s.p.sid(r.SessionID))
	case *refreshRequest:
		ui.AppendClaims("sid", s.p.sid(r.sessionID))
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromRequest(context.Context, op.TokenRequest, []string) (map[string]any, error) {
	return nil, nil
}

// SetUserinfoFromToken answers userinfo only while the token's grant and
// session live.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *proto.UserInfo, tokenID, subject, _ string) error {
	lg, err := s.p.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if lg.user.ID != subject {
		return errors.New("token subject mismatch")
	}
	setUserinfo(ui, lg.user, lg.grant.Scopes)
	return nil
}

// SetIntrospectionFromToken makes a token active only while its grant and
// session live; an error leaves it inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *proto.IntrospectionResponse, tokenID, subject, _ string) error {
	lg, err := s.p.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if lg.user.ID != subject {
		return errors.New("token subject mismatch")
	}
	ui := &proto.UserInfo{}
	setUserinfo(ui, lg.user, lg.grant.Scopes)
	resp.SetUserInfo(ui)
	resp.Scope = lg.grant.Scopes
	resp.ClientID = lg.grant.ClientID
	resp.Audience = []string{lg.grant.ClientID}
	resp.Expiration = proto.FromTime(lg.token.ExpiresAt)
	resp.IssuedAt = proto.FromTime(lg.token.CreatedAt)
	resp.TokenType = proto.BearerToken
	resp.Issuer = s.p.cfg.Issuer
	if resp.Claims == nil {
		resp.Claims = map[string]any{}
	}
	resp.Claims["sid"] = s.p.sid(lg.grant.SessionID)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// setUserinfo fills the claims the scopes allow.
func setUserinfo(ui *proto.UserInfo, u *lacop.User, scopes []string) {
	ui.Subject = u.ID
	if slices.Contains(scopes, proto.ScopeEmail) {
		ui.Email = u.Email
		ui.EmailVerified = proto.Bool(false)
	}
	if slices.Contains(scopes, proto.ScopeProfile) {
		name := u.Name
		if name == "" {
			name = u.Email
		}
		ui.Name = name
		ui.PreferredUsername = u.Email
	}
	if slices.Contains(scopes, "groups") {
		groups := u.Groups
		if groups == nil {
			groups = []string{}
		}
		ui.AppendClaims("groups", groups)
	}
}
