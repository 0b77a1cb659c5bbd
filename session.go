package lacop

import (
	"context"
	"time"
)

// Authentication levels a session can reach.
const (
	AuthLevelOneFactor = 1 // password checked
	AuthLevelTwoFactor = 2 // password and second factor checked
)

// Session is a signed-in browser or device. The cookie carries a random
// secret; only its SHA-256 is stored, so a copy of the store cannot be
// replayed. ID is a separate public id for lists, audit events and
// revocation, and is never the secret.
type Session struct {
	ID         string
	SecretHash []byte
	UserID     string
	AuthLevel  int
	RememberMe bool

	CreatedAt    time.Time
	LastActiveAt time.Time
	// ExpiresAt is the absolute end, fixed at sign-in; activity never moves it.
	ExpiresAt time.Time

	IP        string
	UserAgent string
}

// SessionStore keeps sessions with a per-user index.
//
// A session is never written back whole: once DeleteSession or
// DeleteUserSessions has returned, no concurrent request can bring the
// session back. Activity goes through TouchSession, which updates an
// existing row only.
type SessionStore interface {
	// CreateSession stores a new session. Returns ECONFLICT on a duplicate
	// id or secret hash.
	CreateSession(ctx context.Context, s *Session) error

	// SessionByHash returns the session whose secret hashes to hash, or
	// ENOTFOUND. It is the lookup on every authenticated request.
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)

	// SessionByID returns ENOTFOUND when no session has the public id.
	SessionByID(ctx context.Context, id string) (*Session, error)

	// UserSessions lists a user's sessions, most recently active first.
	UserSessions(ctx context.Context, userID string) ([]*Session, error)

	// AllSessions lists every live session, most recently active first; for
	// administrators.
	AllSessions(ctx context.Context) ([]*Session, error)

	// TouchSession sets LastActiveAt to at if the session still exists and
	// its stored LastActiveAt is older than at. It never creates a session.
	TouchSession(ctx context.Context, id string, at time.Time) error

	// RotateSessionSecret replaces the secret hash of a live session, so a
	// copy of the old cookie stops working. Returns ENOTFOUND if the session
	// is gone: rotation never recreates it.
	RotateSessionSecret(ctx context.Context, id string, newHash []byte) error

	// RaiseSession sets a live session's auth level and replaces its secret
	// hash in one step, for the step-up after a second factor. ENOTFOUND if
	// the session is gone.
	RaiseSession(ctx context.Context, id string, level int, newHash []byte) error

	// DeleteSession ends one session. It reports whether the session existed,
	// so that concurrent enders agree on who ended it.
	DeleteSession(ctx context.Context, id string) (bool, error)

	// DeleteUserSessions ends every session of a user except keepID (""
	// keeps none) and returns the ended sessions.
	DeleteUserSessions(ctx context.Context, userID, keepID string) ([]*Session, error)

	// DeleteExpiredSessions ends every session whose ExpiresAt is at or
	// before now, or that is not remember-me and was last active at or before
	// idleCutoff, and returns them.
	DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) ([]*Session, error)
}
