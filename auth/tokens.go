package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/accesstoken"
)

// Tokens sets the lifetimes of access and refresh tokens.
type Tokens struct {
	// URL is the portal's public URL: the iss and aud of every access
	// token.
	URL string
	// AccessTTL is the life of an access token (never past its session's
	// absolute end).
	AccessTTL time.Duration
	// RefreshTTL is the absolute life of a refresh-token family from its
	// first token, never past its session's absolute end.
	RefreshTTL time.Duration
	// ReuseGrace lets an exact retry of the just-spent refresh token get
	// the same successor pair again instead of ending the family. Zero
	// turns it off.
	ReuseGrace time.Duration
}

// TokenPair is what a client gets for its session or its refresh token.
type TokenPair struct {
	Access    string
	Refresh   string
	ExpiresIn time.Duration
}

// refreshLen is the byte length of refresh-token secrets.
const refreshLen = 32

var (
	errInvalidGrant = &lacop.Error{Code: lacop.EINVALIDGRANT, Message: "The refresh token is invalid, expired or revoked."}
	errBadToken     = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "The access token is invalid or expired."}

	errTokenSessionExpired = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "The session of the access token has expired."}

	// A session that owes a step keeps its tokens, which work again once
	// the step is done; until then they are refused with a reason, since
	// only the person, in the browser, can do it.
	errTokenOwesSecondFactor = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "The session of the access token owes the second factor: enter the code in the browser first."}
	errTokenOwesEnrolment    = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "The session of the access token must set up a second factor in the browser first."}
	errGrantOwesSecondFactor = &lacop.Error{Code: lacop.EINVALIDGRANT, Message: "The session of the refresh token owes the second factor: enter the code in the browser first."}
	errGrantOwesEnrolment    = &lacop.Error{Code: lacop.EINVALIDGRANT, Message: "The session of the refresh token must set up a second factor in the browser first."}
)

// IssueTokens gives the caller's session an access token and the first
// refresh token of a new family. The tokens die with the session.
func (s *Service) IssueTokens(ctx context.Context, id *Identity, c Client) (*TokenPair, error) {
	ctx = context.WithoutCancel(ctx)
	at := s.Now().UTC()
	now := at.Truncate(time.Second) // JWT times are whole seconds
	secret := s.randomString(refreshLen)
	rt := &lacop.RefreshToken{
		Hash: HashSecret(secret), SessionID: id.Session.ID, UserID: id.User.ID, CreatedAt: at,
		ExpiresAt: earlier(at.Add(s.Config.Tokens.RefreshTTL), id.Session.ExpiresAt),
	}
	if err := s.Tokens.CreateRefreshToken(ctx, rt); err != nil {
		return nil, unavailable("create refresh token", err)
	}
	return s.handOut(ctx, id.User, id.Session, s.randomString(16), now, secret,
		&lacop.AuditEvent{Type: lacop.AuditTokenIssued}, c)
}

// handOut signs the access token jti issued at iat, confirms that the
// session and the user's version outlived the writing of both tokens,
// records the audit event e (filled in here) and returns the pair.
func (s *Service) handOut(ctx context.Context, u *lacop.User, sess *lacop.Session, jti string, iat time.Time, refresh string, e *lacop.AuditEvent, c Client) (*TokenPair, error) {
	access, exp, err := s.signAccess(ctx, u, sess, jti, iat)
	if err != nil {
		return nil, err
	}
	if err := s.confirmTokens(ctx, u, sess.ID, jti, exp); err != nil {
		return nil, err
	}
	e.UserID, e.SessionID, e.ActorID, e.IP, e.UserAgent = u.ID, sess.ID, u.ID, c.IP, c.UserAgent
	s.record(ctx, e)
	return &TokenPair{Access: access, Refresh: refresh, ExpiresIn: exp.Sub(iat)}, nil
}

// PortalClientID and PortalScope are the client_id and scope of the
// portal's own access tokens (POST /api/tokens): issued to lacop itself,
// for lacop's API on the person's behalf.
const (
	PortalClientID = "lacop"
	PortalScope    = "lacop"
)

// signAccess records and signs an access token for the session. The record
// comes first: an end of the session that runs meanwhile denies it, or
// confirmTokens sees the session gone.
func (s *Service) signAccess(ctx context.Context, u *lacop.User, sess *lacop.Session, jti string, iat time.Time) (string, time.Time, error) {
	exp := earlier(iat.Add(s.Config.Tokens.AccessTTL), sess.ExpiresAt.Truncate(time.Second))
	if err := s.Tokens.RecordAccessToken(ctx, jti, sess.ID, u.ID, exp); err != nil {
		return "", time.Time{}, unavailable("record access token", err)
	}
	token, err := s.Access.Sign(accesstoken.Claims{
		Issuer: s.Config.Tokens.URL, Audience: s.Config.Tokens.URL, Subject: u.ID,
		IssuedAt: iat, ExpiresAt: exp, ID: jti, SessionID: sess.ID, Version: u.TokenVersion, AuthLevel: sess.AuthLevel,
		ClientID: PortalClientID, Scope: PortalScope,
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign access token: %w", err)
	}
	return token, exp, nil
}

// confirmTokens closes the window between writing tokens and an event that
// ends their session: the tokens were written first, then the session and
// the user's version are read back. Events delete the session (or bump the
// version) before they end its tokens, so one of the two always sees the
// other. Tokens that lost the race are ended here.
func (s *Service) confirmTokens(ctx context.Context, before *lacop.User, sessionID, jti string, exp time.Time) error {
	_, serr := s.Sessions.SessionByID(ctx, sessionID)
	u, uerr := s.Users.UserByID(ctx, before.ID)
	if serr == nil && uerr == nil && !u.Disabled && u.TokenVersion == before.TokenVersion {
		return nil
	}
	if err := s.Tokens.DeleteRefreshTokens(ctx, sessionID); err != nil {
		return unavailable("withdraw refresh tokens", err)
	}
	if err := s.Tokens.DenyAccessToken(ctx, jti, exp); err != nil {
		return unavailable("withdraw access token", err)
	}
	for _, err := range []error{serr, uerr} {
		if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
			return unavailable("confirm tokens", err)
		}
	}
	return errInvalidGrant
}

// successor is the refresh token that follows secret. It is derived, not
// drawn, so that a retry within the grace can be handed the same one again
// without any token being stored; only the holder of the key file can
// compute it.
func (s *Service) successor(secret string) string {
	return base64.RawURLEncoding.EncodeToString(s.Sealer.MAC([]byte("refresh successor\x00" + secret)))
}

// Refresh exchanges a refresh token for a new pair and spends it. A spent
// token presented again is theft or a broken client: the family and its
// session end (an exact retry within the grace gets the same pair again).
func (s *Service) Refresh(ctx context.Context, secret string, c Client) (*TokenPair, error) {
	ctx = context.WithoutCancel(ctx)
	if !wellFormed(secret) {
		return nil, errInvalidGrant
	}
	hash := HashSecret(secret)
	for range 2 { // a second pass when a concurrent use spent it first
		rt, err := s.Tokens.RefreshTokenByHash(ctx, hash)
		if lacop.ErrorCode(err) == lacop.ENOTFOUND {
			return nil, errInvalidGrant
		} else if err != nil {
			return nil, unavailable("look up refresh token", err)
		}
		now := s.Now().UTC()
		if !now.Before(rt.ExpiresAt) {
			return nil, errInvalidGrant
		}
		if !rt.SpentAt.IsZero() {
			return s.spentAgain(ctx, rt, secret, now, c)
		}
		u, sess, err := s.tokenOwner(ctx, rt, now, c)
		if err != nil {
			return nil, err
		}
		next := s.successor(secret)
		iat := now.Truncate(time.Second)
		jti := s.randomString(16)
		err = s.Tokens.SpendRefreshToken(ctx, hash, now, jti, iat, &lacop.RefreshToken{
			Hash: HashSecret(next), SessionID: rt.SessionID, UserID: rt.UserID, CreatedAt: now, ExpiresAt: rt.ExpiresAt,
		})
		switch lacop.ErrorCode(err) {
		case "":
		case lacop.ECONFLICT:
			continue
		case lacop.ENOTFOUND:
			return nil, errInvalidGrant
		default:
			return nil, unavailable("spend refresh token", err)
		}
		pair, err := s.handOut(ctx, u, sess, jti, iat, next, &lacop.AuditEvent{Type: lacop.AuditTokenRefreshed}, c)
		if err != nil {
			return nil, err
		}
		if now.Sub(sess.LastActiveAt) >= s.touchInterval() {
			// An app refreshing its tokens is the session in use.
			if err := s.Sessions.TouchSession(ctx, sess.ID, now); err != nil {
				s.Logger.Warn("touch session", "session", sess.ID, "err", err)
			}
		}
		return pair, nil
	}
	return nil, errInvalidGrant
}

// tokenOwner returns the live session and user a refresh token belongs to.
// A family whose session is gone or expired is ended on the way. A session
// that owes a step gets nothing, but keeps its family: it has not ended,
// and its tokens work again once the step is done.
func (s *Service) tokenOwner(ctx context.Context, rt *lacop.RefreshToken, now time.Time, c Client) (*lacop.User, *lacop.Session, error) {
	sess, err := s.Sessions.SessionByID(ctx, rt.SessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		if err := s.Tokens.DeleteRefreshTokens(ctx, rt.SessionID); err != nil {
			return nil, nil, unavailable("end orphan family", err)
		}
		return nil, nil, errInvalidGrant
	} else if err != nil {
		return nil, nil, unavailable("look up session", err)
	}
	if !now.Before(s.SessionExpiry(sess)) {
		if _, err := s.end(ctx, ReasonExpired, sess.UserID, sess, "", c); err != nil {
			return nil, nil, err
		}
		return nil, nil, errInvalidGrant
	}
	u, err := s.Users.UserByID(ctx, rt.UserID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, nil, errInvalidGrant
	} else if err != nil {
		return nil, nil, unavailable("look up user", err)
	} else if u.Disabled {
		return nil, nil, errInvalidGrant
	}
	switch s.Pending(&Identity{User: u, Session: sess}) {
	case StepSecondFactor:
		return nil, nil, errGrantOwesSecondFactor
	case StepEnrol:
		return nil, nil, errGrantOwesEnrolment
	}
	return u, sess, nil
}

// spentAgain handles a spent refresh token presented again: within the
// grace, an exact retry of the latest rotation gets the same pair; anything
// else ends the family and its session.
func (s *Service) spentAgain(ctx context.Context, rt *lacop.RefreshToken, secret string, now time.Time, c Client) (*TokenPair, error) {
	grace := s.Config.Tokens.ReuseGrace
	if grace > 0 && now.Before(rt.SpentAt.Add(grace)) && rt.SuccessorJTI != "" {
		next := s.successor(secret)
		succ, err := s.Tokens.RefreshTokenByHash(ctx, HashSecret(next))
		if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
			return nil, unavailable("look up successor", err)
		}
		if err == nil && succ.SpentAt.IsZero() { // only the latest rotation may be retried
			u, sess, err := s.tokenOwner(ctx, rt, now, c)
			if err != nil {
				return nil, err
			}
			return s.handOut(ctx, u, sess, rt.SuccessorJTI, rt.SuccessorIssuedAt, next,
				&lacop.AuditEvent{Type: lacop.AuditTokenRefreshed, Detail: map[string]string{"retry": "true"}}, c)
		}
	}

	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditTokenReuseDetected, UserID: rt.UserID, SessionID: rt.SessionID,
		IP: c.IP, UserAgent: c.UserAgent}}, s.reuseLetter(ctx, rt, c)...)...)
	s.Logger.Warn("refresh token reuse: ending its session", "session", rt.SessionID, "user", rt.UserID, "ip", c.IP)
	sess, err := s.Sessions.SessionByID(ctx, rt.SessionID)
	switch lacop.ErrorCode(err) {
	case "":
		if _, err := s.end(ctx, ReasonTokenReuse, sess.UserID, sess, "", c); err != nil {
			return nil, err
		}
	case lacop.ENOTFOUND:
		if err := s.endTokens(ctx, false, rt.UserID, rt.SessionID); err != nil {
			return nil, err
		}
	default:
		return nil, unavailable("look up session", err)
	}
	return nil, errInvalidGrant
}

// endTokens ends the refresh-token families and live access tokens of the
// given sessions, or of every session of the user when all is set, and the
// grants of the apps signed in through them.
func (s *Service) endTokens(ctx context.Context, all bool, userID string, sessionIDs ...string) error {
	now := s.Now()
	if all {
		if err := s.Tokens.DeleteUserRefreshTokens(ctx, userID); err != nil {
			return unavailable("end refresh tokens", err)
		}
		if err := s.Tokens.DenyUserAccessTokens(ctx, userID, now); err != nil {
			return unavailable("deny access tokens", err)
		}
		return s.endApps(ctx, true, userID)
	}
	if err := s.Tokens.DeleteRefreshTokens(ctx, sessionIDs...); err != nil {
		return unavailable("end refresh tokens", err)
	}
	if err := s.Tokens.DenySessionAccessTokens(ctx, now, sessionIDs...); err != nil {
		return unavailable("deny access tokens", err)
	}
	return s.endApps(ctx, false, userID, sessionIDs...)
}

// RevokeToken revokes an access token (its jti is denied until it expires)
// or a refresh token (its family ends, with the family's session's access
// tokens; the session itself stays signed in). Unknown and malformed tokens
// are ignored, as RFC 7009 asks: the answer never says whether a token
// existed.
func (s *Service) RevokeToken(ctx context.Context, token string, c Client) error {
	ctx = context.WithoutCancel(ctx)
	if strings.Count(token, ".") == 2 {
		claims, err := s.verifyAccess(ctx, token)
		if err != nil {
			return nil // invalid or expired: nothing to revoke
		}
		if err := s.Tokens.DenyAccessToken(ctx, claims.ID, claims.ExpiresAt); err != nil {
			return unavailable("deny access token", err)
		}
		s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditTokenRevoked, UserID: claims.Subject, SessionID: claims.SessionID,
			IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"kind": "access"}})
		return nil
	}
	if !wellFormed(token) {
		return nil
	}
	rt, err := s.Tokens.RefreshTokenByHash(ctx, HashSecret(token))
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil
	} else if err != nil {
		return unavailable("look up refresh token", err)
	}
	if err := s.endTokens(ctx, false, rt.UserID, rt.SessionID); err != nil {
		return err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditTokenRevoked, UserID: rt.UserID, SessionID: rt.SessionID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"kind": "refresh"}})
	return nil
}

// AuthenticateBearer returns the identity behind an access token. The
// signature is checked once and cached; the denylist, the user's token
// version and the session are checked on every call, so an ended session's
// tokens stop at once. The token is refused, as the session's cookie is,
// from the instant the session passes its inactivity or absolute deadline
// (the session is then ended as Authenticate ends it, for c) and while the
// session owes a step (the second factor, or an enrolment the policy
// requires); the latter leaves the session and its tokens in place, to
// work again once the person has done the step in the browser. Using a
// token is not activity: it never moves the inactivity deadline (an app
// that refreshes its tokens does). Identity.Session holds what the token
// says (ID, user, level, expiry).
func (s *Service) AuthenticateBearer(ctx context.Context, token string, c Client) (*Identity, error) {
	claims, err := s.verifyAccess(ctx, token)
	if err != nil {
		return nil, errBadToken
	}
	denied, err := s.Tokens.AccessTokenDenied(ctx, claims.ID, s.Now())
	if err != nil {
		return nil, unavailable("check denylist", err)
	} else if denied {
		return nil, errBadToken
	}
	u, err := s.Users.UserByID(ctx, claims.Subject)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errBadToken
	} else if err != nil {
		return nil, unavailable("look up user", err)
	} else if u.Disabled || claims.Version != u.TokenVersion {
		return nil, errBadToken
	}
	// A token lives only while its session does. Ending a session denies
	// its tokens, but this holds even where a denylist entry was lost (a
	// Redis restarted without persistence loses its sessions too), and
	// for an end nobody has acted on yet: an expiry.
	sess, err := s.Sessions.SessionByID(ctx, claims.SessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errBadToken
	} else if err != nil {
		return nil, unavailable("look up session", err)
	} else if sess.UserID != u.ID {
		return nil, errBadToken
	}
	if !s.Now().Before(s.SessionExpiry(sess)) {
		if _, err := s.end(ctx, ReasonExpired, sess.UserID, sess, "", c); err != nil {
			return nil, err
		}
		return nil, errTokenSessionExpired
	}
	// The session's level, not the token's: the step may have been done
	// since the token was issued.
	switch s.Pending(&Identity{User: u, Session: sess}) {
	case StepSecondFactor:
		return nil, errTokenOwesSecondFactor
	case StepEnrol:
		return nil, errTokenOwesEnrolment
	}
	return &Identity{User: u, Bearer: true, stored: sess, Session: &lacop.Session{
		ID: claims.SessionID, UserID: u.ID, AuthLevel: claims.AuthLevel, ExpiresAt: claims.ExpiresAt,
	}}, nil
}

// SessionOf returns the whole session behind an identity: as it is for a
// cookie, as AuthenticateBearer read it for a bearer token (read from the
// store for an identity made elsewhere; ENOTFOUND-free: a gone session is
// EUNAUTHENTICATED).
func (s *Service) SessionOf(ctx context.Context, id *Identity) (*lacop.Session, error) {
	if !id.Bearer {
		return id.Session, nil
	} else if id.stored != nil {
		return id.stored, nil
	}
	sess, err := s.Sessions.SessionByID(ctx, id.Session.ID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errBadToken
	} else if err != nil {
		return nil, unavailable("look up session", err)
	}
	return sess, nil
}

// PruneTokens drops expired refresh tokens, access-token records and
// denylist entries, so the store stays bounded.
func (s *Service) PruneTokens(ctx context.Context) error {
	if err := s.Tokens.PruneTokens(ctx, s.Now()); err != nil {
		return fmt.Errorf("auth: prune tokens: %w", err)
	}
	return nil
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
