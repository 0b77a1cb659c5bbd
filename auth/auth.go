// Package auth is lacop's core: signing in, checking a session on every
// request, and ending sessions. Every rule about what an event ends lives in
// the policy table in policy.go and nowhere else; the web handlers, the CLI
// and the admin API all come through here.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/accesstoken"
	"github.com/lacop/lacop/passkey"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
)

// Config holds the rules the service enforces on every request.
type Config struct {
	// InactivityTimeout ends a session that saw no request for this long
	// (remember-me sessions are exempt and live to their absolute end).
	InactivityTimeout time.Duration
	// Lifetime is the absolute life of a session from sign-in.
	Lifetime time.Duration
	// RememberMeLifetime is the absolute life of a remember-me session.
	RememberMeLifetime time.Duration
	// MaxPerUser caps a user's live sessions; a sign-in past it ends the
	// session idle the longest. 0 means no cap.
	MaxPerUser int
	// RequireSecondFactor makes a user without TOTP enrol before anything
	// else.
	RequireSecondFactor bool
	// Issuer names lacop in authenticator apps.
	Issuer string
	// Regulation bans guessing; see Regulation.
	Regulation Regulation
	// Tokens sets access and refresh tokens; see Tokens.
	Tokens Tokens
}

// Regulation is how many failures within Window ban an account or a client
// address, and for how long. A limit of zero sets no limit (the config
// never allows it; tests of other things use it).
type Regulation struct {
	MaxFailures      int
	MaxFailuresPerIP int
	Window           time.Duration
	Ban              time.Duration
}

// Stores are the stores and the notifier the service works on.
type Stores struct {
	Users         lacop.UserStore
	Sessions      lacop.SessionStore
	Audit         lacop.AuditStore
	Setup         lacop.SetupStore
	SecondFactors lacop.SecondFactorStore
	Regulation    lacop.RegulationStore
	Tokens        lacop.TokenStore
	Keys          lacop.KeyStore
	Notify        lacop.Notifier
	// Links keeps one-time links (password resets).
	Links lacop.LinkStore
	// Devices remembers the browsers people signed in from.
	Devices lacop.DeviceStore
	// Passkeys keeps passkeys and the sessions each one signed in.
	Passkeys lacop.PasskeyStore
}

// Service performs every sign-in, check and sign-out.
type Service struct {
	Stores
	Passwords *password.Hasher
	// Sealer encrypts TOTP secrets at rest.
	Sealer *seal.Sealer
	Config Config
	Logger *slog.Logger

	// Access signs and verifies access tokens with the keys LoadKeys put
	// in it.
	Access *accesstoken.Authority

	// Apps are the grants of apps signed in through sessions; every end
	// ends them too.
	Apps Apps

	// Letters queues mail (security alerts); nil when lacop sends none.
	Letters Letters

	// WebAuthn runs passkey ceremonies; nil when the portal has no domain
	// a browser accepts as an RP ID (passkeys are off).
	WebAuthn *passkey.RP

	// Now and Rand are injectable so tests control time and randomness.
	Now  func() time.Time
	Rand io.Reader

	keys keyState
}

// NewService returns a Service with the real clock and crypto/rand. Call
// LoadKeys before issuing or verifying access tokens.
func NewService(cfg Config, st Stores, hasher *password.Hasher, sealer *seal.Sealer, logger *slog.Logger) *Service {
	s := &Service{Stores: st, Passwords: hasher, Sealer: sealer, Config: cfg, Logger: logger, Now: time.Now, Rand: rand.Reader}
	s.Access = accesstoken.New(accesstoken.Options{Issuer: cfg.Tokens.URL, Audience: cfg.Tokens.URL,
		Now: func() time.Time { return s.Now() }})
	return s
}

// Client describes where a request came from, for sessions and audit events.
type Client struct {
	IP        string
	UserAgent string
	// Via is ViaCLI for the operator's command line, "" for HTTP.
	Via string
}

// ViaCLI marks actions taken with the lacop command line.
const ViaCLI = "cli"

// Identity is a live session and its user.
type Identity struct {
	User    *lacop.User
	Session *lacop.Session
	// Bearer says the identity came from an access token: Session then
	// holds only what the token says (see AuthenticateBearer).
	Bearer bool
	// stored is the session as AuthenticateBearer read it (it checks that
	// the session still exists), so SessionOf need not read it again.
	stored *lacop.Session
}

// secretLen is the byte length of session secrets: 32 bytes, 43 characters
// of unpadded base64url.
const secretLen = 32

// ErrSessionExpired is returned by Authenticate when the session existed
// but ran out; the web layer tells the person why they must sign in again.
var ErrSessionExpired = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "Your session has expired. Please sign in again."}

var errUnauthenticated = &lacop.Error{Code: lacop.EUNAUTHENTICATED, Message: "You are not signed in."}

// randomString returns n random bytes, base64url without padding.
func (s *Service) randomString(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.Rand, b); err != nil {
		// crypto/rand does not fail on supported platforms; a custom Rand
		// that does is a programming error.
		panic(fmt.Sprintf("auth: read random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSecret returns a fresh session secret and the hash that is stored.
func (s *Service) newSecret() (string, []byte) {
	secret := s.randomString(secretLen)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a session secret. Only this ever reaches
// a store.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// wellFormed rejects cookie values that cannot be one of our secrets
// without touching the store.
func wellFormed(secret string) bool {
	if len(secret) != base64.RawURLEncoding.EncodedLen(secretLen) {
		return false
	}
	for i := 0; i < len(secret); i++ {
		c := secret[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// touchInterval is how stale LastActiveAt may get before a request writes
// it: at most a minute, and a tenth of the inactivity timeout, so an active
// person is never timed out and short test timeouts still work.
func (s *Service) touchInterval() time.Duration {
	return min(time.Minute, s.Config.InactivityTimeout/10)
}

// SessionExpiry is when sess ends if nothing else happens: its absolute end,
// or earlier through inactivity.
func (s *Service) SessionExpiry(sess *lacop.Session) time.Time {
	if sess.RememberMe {
		return sess.ExpiresAt
	}
	idle := sess.LastActiveAt.Add(s.Config.InactivityTimeout)
	if idle.Before(sess.ExpiresAt) {
		return idle
	}
	return sess.ExpiresAt
}

// Authenticate returns the identity behind a session secret. It reads the
// session by hash, ends it if it has expired, and touches it at most once
// per touch interval; it never writes the session back. An unknown secret
// is EUNAUTHENTICATED; a failing store is an error that must be refused.
func (s *Service) Authenticate(ctx context.Context, secret string, c Client) (*Identity, error) {
	if !wellFormed(secret) {
		return nil, errUnauthenticated
	}
	sess, err := s.Sessions.SessionByHash(ctx, HashSecret(secret))
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errUnauthenticated
	} else if err != nil {
		return nil, unavailable("look up session", err)
	}
	now := s.Now()
	if !now.Before(s.SessionExpiry(sess)) {
		if _, err := s.end(ctx, ReasonExpired, sess.UserID, sess, "", c); err != nil {
			return nil, err
		}
		return nil, ErrSessionExpired
	}
	user, err := s.Users.UserByID(ctx, sess.UserID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errUnauthenticated
	} else if err != nil {
		return nil, unavailable("look up user", err)
	} else if user.Disabled {
		// Disabling ends every session; this only covers a race with it.
		return nil, errUnauthenticated
	}
	id := &Identity{User: user, Session: sess}
	// Only a session that owes nothing counts its requests as activity: one
	// still owing a step may use nothing but that step, so whatever it
	// sends (an app's forward-auth, the login page, round and round) does
	// not keep it alive past the inactivity timeout from its sign-in.
	if now.Sub(sess.LastActiveAt) >= s.touchInterval() && s.Pending(id) == StepNone {
		if err := s.Sessions.TouchSession(ctx, sess.ID, now); err != nil {
			// The session was read and is live; a failed activity stamp only
			// risks an early timeout, so it is logged, not refused.
			s.Logger.Warn("touch session", "session", sess.ID, "err", err)
		}
		sess.LastActiveAt = now
	}
	return id, nil
}

// Logout ends the session behind secret. With no or a dead secret it does
// nothing and succeeds: sign-out must always leave the caller signed out.
func (s *Service) Logout(ctx context.Context, secret string, c Client) error {
	if !wellFormed(secret) {
		return nil
	}
	sess, err := s.Sessions.SessionByHash(ctx, HashSecret(secret))
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil
	} else if err != nil {
		return unavailable("look up session", err)
	}
	_, err = s.end(ctx, ReasonLogout, sess.UserID, sess, sess.UserID, c)
	return err
}

// sweepGrace is how long past its end a session waits for the sweeper.
// Requests refuse an expired session at once whatever the sweeper does; the
// grace lets a person who comes back right after be told why.
const sweepGrace = time.Minute

// Sweep deletes sessions that ran out more than sweepGrace ago, so abandoned
// sessions do not linger in the store, and records each as expired.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	cutoff := s.Now().Add(-sweepGrace)
	ended, err := s.Sessions.DeleteExpiredSessions(ctx, cutoff, cutoff.Add(-s.Config.InactivityTimeout))
	if err != nil && len(ended) == 0 {
		return 0, fmt.Errorf("auth: sweep: %w", err)
	}
	// Like every end: tokens after the sessions, then one batch of audit
	// events and the news to open tabs (reason "expired").
	ids := make([]string, len(ended))
	for i, sess := range ended {
		ids[i] = sess.ID
	}
	terr := s.endTokens(ctx, false, "", ids...)
	s.announce(ctx, ReasonExpired, policy[ReasonExpired], ended, "", "", Client{})
	if err := errors.Join(err, terr); err != nil {
		return len(ended), fmt.Errorf("auth: sweep: %w", err)
	}
	return len(ended), nil
}

// record writes audit events in one batch. A failure is logged, not
// returned: the action they describe has already happened and must not be
// reported failed.
func (s *Service) record(ctx context.Context, events ...*lacop.AuditEvent) {
	now := s.Now()
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = now
		}
		e.UserAgent = truncate(e.UserAgent, 512)
	}
	if err := s.Audit.RecordEvents(context.WithoutCancel(ctx), events...); err != nil {
		s.Logger.Error("record audit events", "type", events[0].Type, "count", len(events), "user", events[0].UserID, "err", err)
	}
}

// errUnavailable marks a store failure: the request is refused (503), never
// let through.
var errUnavailable = &lacop.Error{Code: lacop.EUNAVAILABLE, Message: "The service is temporarily unavailable. Please try again."}

// unavailable wraps a store failure so it is refused as EUNAVAILABLE while
// the cause stays in the chain for the log.
func unavailable(op string, err error) error {
	return fmt.Errorf("auth: %s: %w", op, errors.Join(errUnavailable, err))
}

func itoa(n int) string { return strconv.Itoa(n) }

// StillLive re-checks a session an open stream is watching. It returns ""
// while the session lives, or the reason to give the stream: "expired" when
// it ran out (it is then ended like any expired session), "revoked" when it
// is gone without the stream having heard why. It never touches activity:
// an open tab does not keep a session alive.
func (s *Service) StillLive(ctx context.Context, sessionID string, c Client) (string, error) {
	sess, err := s.Sessions.SessionByID(ctx, sessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return policy[ReasonRevoked].notify, nil
	} else if err != nil {
		return "", unavailable("look up session", err)
	}
	if !s.Now().Before(s.SessionExpiry(sess)) {
		if _, err := s.end(ctx, ReasonExpired, sess.UserID, sess, "", c); err != nil {
			return "", err
		}
		return policy[ReasonExpired].notify, nil
	}
	return "", nil
}
