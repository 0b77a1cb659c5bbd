package sessioncache

import (
	"context"
	"time"

	"github.com/lacop/lacop"
)

var (
	_ lacop.SessionStore      = (*SessionStore)(nil)
	_ lacop.UserStore         = (*UserStore)(nil)
	_ lacop.SecondFactorStore = (*SecondFactorStore)(nil)
)

// SessionStore caches SessionByHash and SessionByID.
type SessionStore struct {
	c     *Cache
	inner lacop.SessionStore
}

// Sessions wraps a session store.
func (c *Cache) Sessions(inner lacop.SessionStore) *SessionStore {
	return &SessionStore{c: c, inner: inner}
}

// SessionByHash is served from the cache while nothing changed.
func (s *SessionStore) SessionByHash(ctx context.Context, hash []byte) (*lacop.Session, error) {
	epoch, usable, now := s.c.current()
	if sess, ok := s.c.sessions.get(string(hash), epoch); ok && usable && s.c.servable(&sess, now) {
		s.c.stats.hits.Add(1)
		return &sess, nil
	}
	s.c.stats.misses.Add(1)
	sess, err := s.inner.SessionByHash(ctx, hash)
	s.c.observe(err)
	if err != nil {
		return nil, s.c.settle(ctx, err)
	}
	s.c.sessions.put(string(hash), epoch, *sess)
	s.c.byID.put(sess.ID, epoch, string(hash))
	return sess, nil
}

// TouchSession writes activity and updates this process's cached copy; it
// changes nothing a decision depends on but the inactivity clock, so it
// does not bump the epoch.
func (s *SessionStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	if err := s.inner.TouchSession(ctx, id, at); err != nil {
		s.c.observe(err)
		return err
	}
	if hash, ok := s.c.byID.get(id, s.c.epoch.Load()); ok {
		s.c.sessions.update(hash, func(sess *lacop.Session) bool {
			if sess.ID != id {
				return false
			}
			if sess.LastActiveAt.Before(at) {
				sess.LastActiveAt = at
			}
			return true
		})
	}
	return nil
}

// CreateSession stores a new session: nothing cached can be about it.
func (s *SessionStore) CreateSession(ctx context.Context, sess *lacop.Session) error {
	return s.inner.CreateSession(ctx, sess)
}

// SessionByID is served from the cache while nothing changed, through the
// id → secret hash index: every bearer request asks whether its session
// still exists.
func (s *SessionStore) SessionByID(ctx context.Context, id string) (*lacop.Session, error) {
	epoch, usable, now := s.c.current()
	if hash, ok := s.c.byID.get(id, epoch); ok && usable {
		if sess, ok := s.c.sessions.get(hash, epoch); ok && sess.ID == id && s.c.servable(&sess, now) {
			return &sess, nil
		}
	}
	sess, err := s.inner.SessionByID(ctx, id)
	s.c.observe(err)
	if err != nil {
		return nil, s.c.settle(ctx, err)
	}
	s.c.sessions.put(string(sess.SecretHash), epoch, *sess)
	s.c.byID.put(sess.ID, epoch, string(sess.SecretHash))
	return sess, nil
}

// UserSessions reads through.
func (s *SessionStore) UserSessions(ctx context.Context, userID string) ([]*lacop.Session, error) {
	return s.inner.UserSessions(ctx, userID)
}

// AllSessions reads through.
func (s *SessionStore) AllSessions(ctx context.Context) ([]*lacop.Session, error) {
	return s.inner.AllSessions(ctx)
}

// RotateSessionSecret writes through and bumps the epoch.
func (s *SessionStore) RotateSessionSecret(ctx context.Context, id string, newHash []byte) error {
	return s.c.changed(ctx, s.inner.RotateSessionSecret(ctx, id, newHash))
}

// RaiseSession writes through and bumps the epoch.
func (s *SessionStore) RaiseSession(ctx context.Context, id string, level int, newHash []byte) error {
	return s.c.changed(ctx, s.inner.RaiseSession(ctx, id, level, newHash))
}

// DeleteSession writes through and bumps the epoch.
func (s *SessionStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	v, err := s.inner.DeleteSession(ctx, id)
	return v, s.c.changed(ctx, err)
}

// DeleteUserSessions writes through and bumps the epoch.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]*lacop.Session, error) {
	v, err := s.inner.DeleteUserSessions(ctx, userID, keepID)
	return v, s.c.changed(ctx, err)
}

// DeleteExpiredSessions writes through and bumps the epoch.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) ([]*lacop.Session, error) {
	v, err := s.inner.DeleteExpiredSessions(ctx, now, idleCutoff)
	return v, s.c.changed(ctx, err)
}

// UserStore caches UserByID.
type UserStore struct {
	c     *Cache
	inner lacop.UserStore
}

// Users wraps a user store.
func (c *Cache) Users(inner lacop.UserStore) *UserStore { return &UserStore{c: c, inner: inner} }

// UserByID is served from the cache while nothing changed.
func (s *UserStore) UserByID(ctx context.Context, id string) (*lacop.User, error) {
	epoch, usable, _ := s.c.current()
	if u, ok := s.c.users.get(id, epoch); ok && usable {
		return &u, nil
	}
	u, err := s.inner.UserByID(ctx, id)
	s.c.observe(err)
	if err != nil {
		return nil, err
	}
	s.c.users.put(id, epoch, *u)
	return u, nil
}

// CreateUser writes through: nothing cached can be about a new user.
func (s *UserStore) CreateUser(ctx context.Context, u *lacop.User) error {
	return s.inner.CreateUser(ctx, u)
}

// UserByEmail reads through.
func (s *UserStore) UserByEmail(ctx context.Context, email string) (*lacop.User, error) {
	return s.inner.UserByEmail(ctx, email)
}

// Users reads through.
func (s *UserStore) Users(ctx context.Context) ([]*lacop.User, error) { return s.inner.Users(ctx) }

// CountUsers reads through.
func (s *UserStore) CountUsers(ctx context.Context) (int, error) { return s.inner.CountUsers(ctx) }

// SetPasswordHash writes through and bumps the epoch.
func (s *UserStore) SetPasswordHash(ctx context.Context, id, hash string) error {
	return s.c.changed(ctx, s.inner.SetPasswordHash(ctx, id, hash))
}

// SetEmail writes through and bumps the epoch.
func (s *UserStore) SetEmail(ctx context.Context, id, email string) error {
	return s.c.changed(ctx, s.inner.SetEmail(ctx, id, email))
}

// SetDisabled writes through and bumps the epoch.
func (s *UserStore) SetDisabled(ctx context.Context, id string, disabled bool) error {
	return s.c.changed(ctx, s.inner.SetDisabled(ctx, id, disabled))
}

// ListUsers reads through.
func (s *UserStore) ListUsers(ctx context.Context, q lacop.UserQuery) ([]*lacop.User, int, error) {
	return s.inner.ListUsers(ctx, q)
}

// SetName writes through and bumps the epoch.
func (s *UserStore) SetName(ctx context.Context, id, name string) error {
	return s.c.changed(ctx, s.inner.SetName(ctx, id, name))
}

// SetGroups writes through and bumps the epoch: groups decide access rules.
func (s *UserStore) SetGroups(ctx context.Context, id string, groups []string) error {
	return s.c.changed(ctx, s.inner.SetGroups(ctx, id, groups))
}

// SetAdmin writes through and bumps the epoch.
func (s *UserStore) SetAdmin(ctx context.Context, id string, admin bool) error {
	return s.c.changed(ctx, s.inner.SetAdmin(ctx, id, admin))
}

// DeleteUser writes through and bumps the epoch.
func (s *UserStore) DeleteUser(ctx context.Context, id string) error {
	return s.c.changed(ctx, s.inner.DeleteUser(ctx, id))
}

// BumpTokenVersion writes through and bumps the epoch.
func (s *UserStore) BumpTokenVersion(ctx context.Context, id string) (int64, error) {
	v, err := s.inner.BumpTokenVersion(ctx, id)
	return v, s.c.changed(ctx, err)
}

// SecondFactorStore bumps the epoch on writes that change a user's second
// factor, which decides whether a session still owes a step.
type SecondFactorStore struct {
	c     *Cache
	inner lacop.SecondFactorStore
}

// SecondFactors wraps a second-factor store.
func (c *Cache) SecondFactors(inner lacop.SecondFactorStore) *SecondFactorStore {
	return &SecondFactorStore{c: c, inner: inner}
}

// SetPendingTOTP writes through: a pending secret decides nothing.
func (s *SecondFactorStore) SetPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error {
	return s.inner.SetPendingTOTP(ctx, userID, sealed, at)
}

// PendingTOTP reads through.
func (s *SecondFactorStore) PendingTOTP(ctx context.Context, userID string) ([]byte, time.Time, error) {
	return s.inner.PendingTOTP(ctx, userID)
}

// EnableTOTP writes through and bumps the epoch.
func (s *SecondFactorStore) EnableTOTP(ctx context.Context, userID string, sealed []byte, step int64, recoveryHashes [][]byte) error {
	return s.c.changed(ctx, s.inner.EnableTOTP(ctx, userID, sealed, step, recoveryHashes))
}

// DisableTOTP writes through and bumps the epoch.
func (s *SecondFactorStore) DisableTOTP(ctx context.Context, userID string) (bool, error) {
	v, err := s.inner.DisableTOTP(ctx, userID)
	return v, s.c.changed(ctx, err)
}

// UseTOTPStep writes through and bumps the epoch (the user's last step).
func (s *SecondFactorStore) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	v, err := s.inner.UseTOTPStep(ctx, userID, step)
	return v, s.c.changed(ctx, err)
}

// UseRecoveryCode writes through: recovery codes are not cached.
func (s *SecondFactorStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	return s.inner.UseRecoveryCode(ctx, userID, hash)
}

// RecoveryCodesLeft reads through.
func (s *SecondFactorStore) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return s.inner.RecoveryCodesLeft(ctx, userID)
}

// TokenStore caches "not denied" answers of AccessTokenDenied, the read on
// every bearer request; every write that denies a token bumps the epoch.
type TokenStore struct {
	c     *Cache
	inner lacop.TokenStore
}

var _ lacop.TokenStore = (*TokenStore)(nil)

// Tokens wraps a token store.
func (c *Cache) Tokens(inner lacop.TokenStore) *TokenStore { return &TokenStore{c: c, inner: inner} }

// AccessTokenDenied is served from the cache while nothing was denied. A
// cached "not denied" needs no expiry of its own: the caller checks the
// token's exp, and denylist entries only ever end at it.
func (s *TokenStore) AccessTokenDenied(ctx context.Context, jti string, now time.Time) (bool, error) {
	epoch, usable, _ := s.c.current()
	if _, ok := s.c.allowed.get(jti, epoch); ok && usable {
		return false, nil
	}
	denied, err := s.inner.AccessTokenDenied(ctx, jti, now)
	s.c.observe(err)
	if err == nil && !denied {
		s.c.allowed.put(jti, epoch, struct{}{})
	}
	return denied, err
}

// DenyAccessToken writes through and bumps the epoch.
func (s *TokenStore) DenyAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.c.changed(ctx, s.inner.DenyAccessToken(ctx, jti, expiresAt))
}

// DenySessionAccessTokens writes through and bumps the epoch.
func (s *TokenStore) DenySessionAccessTokens(ctx context.Context, now time.Time, sessionIDs ...string) error {
	return s.c.changed(ctx, s.inner.DenySessionAccessTokens(ctx, now, sessionIDs...))
}

// DenyUserAccessTokens writes through and bumps the epoch.
func (s *TokenStore) DenyUserAccessTokens(ctx context.Context, userID string, now time.Time) error {
	return s.c.changed(ctx, s.inner.DenyUserAccessTokens(ctx, userID, now))
}

// PruneTokens writes through and bumps the epoch.
func (s *TokenStore) PruneTokens(ctx context.Context, now time.Time) error {
	return s.c.changed(ctx, s.inner.PruneTokens(ctx, now))
}

// RecordAccessToken writes through: a new record denies nothing.
func (s *TokenStore) RecordAccessToken(ctx context.Context, jti, sessionID, userID string, expiresAt time.Time) error {
	return s.inner.RecordAccessToken(ctx, jti, sessionID, userID, expiresAt)
}

// CreateRefreshToken writes through: refresh tokens are not cached.
func (s *TokenStore) CreateRefreshToken(ctx context.Context, t *lacop.RefreshToken) error {
	return s.inner.CreateRefreshToken(ctx, t)
}

// RefreshTokenByHash reads through.
func (s *TokenStore) RefreshTokenByHash(ctx context.Context, hash []byte) (*lacop.RefreshToken, error) {
	return s.inner.RefreshTokenByHash(ctx, hash)
}

// SpendRefreshToken writes through.
func (s *TokenStore) SpendRefreshToken(ctx context.Context, hash []byte, at time.Time, successorJTI string, successorIssuedAt time.Time, next *lacop.RefreshToken) error {
	return s.inner.SpendRefreshToken(ctx, hash, at, successorJTI, successorIssuedAt, next)
}

// DeleteRefreshTokens writes through.
func (s *TokenStore) DeleteRefreshTokens(ctx context.Context, sessionIDs ...string) error {
	return s.inner.DeleteRefreshTokens(ctx, sessionIDs...)
}

// DeleteUserRefreshTokens writes through.
func (s *TokenStore) DeleteUserRefreshTokens(ctx context.Context, userID string) error {
	return s.inner.DeleteUserRefreshTokens(ctx, userID)
}

// PasskeyStore bumps the epoch on the writes that change a cached user
// (the passkey count decides whether a session owes a second factor).
// Passkeys themselves are not cached: they are read at sign-in only.
type PasskeyStore struct {
	c     *Cache
	inner lacop.PasskeyStore
}

var _ lacop.PasskeyStore = (*PasskeyStore)(nil)

// Passkeys wraps a passkey store.
func (c *Cache) Passkeys(inner lacop.PasskeyStore) *PasskeyStore {
	return &PasskeyStore{c: c, inner: inner}
}

// AddPasskey writes through and bumps the epoch.
func (s *PasskeyStore) AddPasskey(ctx context.Context, p *lacop.Passkey) error {
	return s.c.changed(ctx, s.inner.AddPasskey(ctx, p))
}

// UserPasskeys reads through.
func (s *PasskeyStore) UserPasskeys(ctx context.Context, userID string) ([]*lacop.Passkey, error) {
	return s.inner.UserPasskeys(ctx, userID)
}

// PasskeyByCredentialID reads through.
func (s *PasskeyStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*lacop.Passkey, error) {
	return s.inner.PasskeyByCredentialID(ctx, credentialID)
}

// UsePasskey writes through: the counter is not cached.
func (s *PasskeyStore) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	return s.inner.UsePasskey(ctx, id, count, at)
}

// BindPasskeySession writes through.
func (s *PasskeyStore) BindPasskeySession(ctx context.Context, id, sessionID string, passwordless bool) error {
	return s.inner.BindPasskeySession(ctx, id, sessionID, passwordless)
}

// SessionPasskey reads through.
func (s *PasskeyStore) SessionPasskey(ctx context.Context, sessionID string) (*lacop.Passkey, bool, error) {
	return s.inner.SessionPasskey(ctx, sessionID)
}

// PasskeySessions reads through.
func (s *PasskeyStore) PasskeySessions(ctx context.Context, id string) ([]string, error) {
	return s.inner.PasskeySessions(ctx, id)
}

// RenamePasskey writes through.
func (s *PasskeyStore) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return s.inner.RenamePasskey(ctx, userID, id, name)
}

// DeletePasskey writes through and bumps the epoch.
func (s *PasskeyStore) DeletePasskey(ctx context.Context, userID, id string) (*lacop.Passkey, []string, error) {
	p, sessions, err := s.inner.DeletePasskey(ctx, userID, id)
	return p, sessions, s.c.changed(ctx, err)
}

// DeleteUserPasskeys writes through and bumps the epoch.
func (s *PasskeyStore) DeleteUserPasskeys(ctx context.Context, userID string) (int, error) {
	n, err := s.inner.DeleteUserPasskeys(ctx, userID)
	return n, s.c.changed(ctx, err)
}
