package lacop

import (
	"context"
	"time"
)

// RefreshToken is one opaque refresh token. Only the SHA-256 of its secret
// is stored. The tokens of one session form its family: each use spends the
// token and stores its successor, and presenting a spent one again is taken
// as theft and ends the family and the session.
type RefreshToken struct {
	Hash      []byte
	SessionID string
	UserID    string
	CreatedAt time.Time
	// ExpiresAt is the absolute end: tokens.refresh_ttl from issue, never
	// beyond the session's own end.
	ExpiresAt time.Time
	// SpentAt is when the token was exchanged; zero while unspent.
	SpentAt time.Time
	// SuccessorJTI and SuccessorIssuedAt name the access token handed out
	// when the token was spent, so an exact retry within the grace gets the
	// same pair again (the access token is re-signed, never stored).
	SuccessorJTI      string
	SuccessorIssuedAt time.Time
}

// TokenStore keeps refresh-token families and the access tokens issued to
// each session, so that ending a session can deny its live access tokens.
//
// Denied access tokens are kept only until their own expiry: the denylist
// never grows without bound.
type TokenStore interface {
	// CreateRefreshToken stores a new unspent token.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error

	// RefreshTokenByHash returns the token, spent or not, or ENOTFOUND.
	RefreshTokenByHash(ctx context.Context, hash []byte) (*RefreshToken, error)

	// SpendRefreshToken marks the token with hash spent at at, recording
	// the successor's access token, and stores next, in one step. It
	// returns ECONFLICT if the token was spent already (a concurrent use)
	// and ENOTFOUND if it is gone.
	SpendRefreshToken(ctx context.Context, hash []byte, at time.Time, successorJTI string, successorIssuedAt time.Time, next *RefreshToken) error

	// DeleteRefreshTokens ends the families of the given sessions.
	DeleteRefreshTokens(ctx context.Context, sessionIDs ...string) error

	// DeleteUserRefreshTokens ends every family of a user.
	DeleteUserRefreshTokens(ctx context.Context, userID string) error

	// RecordAccessToken notes an access token issued to a session, until
	// its expiry.
	RecordAccessToken(ctx context.Context, jti, sessionID, userID string, expiresAt time.Time) error

	// DenyAccessToken puts one access token on the denylist until its
	// expiry.
	DenyAccessToken(ctx context.Context, jti string, expiresAt time.Time) error

	// DenySessionAccessTokens denies every access token recorded for the
	// given sessions that is still live at now.
	DenySessionAccessTokens(ctx context.Context, now time.Time, sessionIDs ...string) error

	// DenyUserAccessTokens denies every access token recorded for the user
	// that is still live at now.
	DenyUserAccessTokens(ctx context.Context, userID string, now time.Time) error

	// AccessTokenDenied reports whether jti is on the denylist at now. It is
	// on the hot path of every bearer request.
	AccessTokenDenied(ctx context.Context, jti string, now time.Time) (bool, error)

	// PruneTokens deletes refresh tokens, access-token records and denylist
	// entries that expired before now.
	PruneTokens(ctx context.Context, now time.Time) error
}

// SigningKey is one access-token signing key as stored: its private part
// sealed with the data directory's key.
type SigningKey struct {
	ID        string
	Sealed    []byte
	CreatedAt time.Time
}

// KeyStore keeps the access-token signing keys, so every instance signs and
// verifies with the same set and a rotation outlives a restart.
type KeyStore interface {
	// AddSigningKey stores a new key; ECONFLICT on a duplicate id.
	AddSigningKey(ctx context.Context, k *SigningKey) error

	// SigningKeys lists every key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)

	// DeleteSigningKey removes a key that no live token can carry.
	DeleteSigningKey(ctx context.Context, id string) error
}
