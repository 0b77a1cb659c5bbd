package lacop

import (
	"context"
	"time"
)

// Link kinds.
const (
	// LinkPasswordReset sets a new password: 30 minutes, one use, void
	// once the password changes or another is made.
	LinkPasswordReset = "password_reset"
	// LinkEmailVerify confirms a new address: 24 hours, one use; a newer
	// request voids it. Data is the new address and the asking session.
	LinkEmailVerify = "email_verify"
	// LinkNotMe is the "This wasn't me" button of a new-sign-in mail: 7
	// days, one use. Data is the session the mail was about.
	LinkNotMe = "not_me"
	// LinkPasskeyCeremony is not mailed: it keeps a passkey ceremony
	// (its challenge and purpose) between the options a browser gets and
	// its answer, 5 minutes, one use. The token lives in a cookie.
	LinkPasskeyCeremony = "passkey_ceremony"
)

// Link is a one-time link lacop mailed to a person (or an admin handed
// out). Only the SHA-256 of its token is kept: a copy of the database
// opens nothing.
type Link struct {
	Hash   []byte
	Kind   string
	UserID string
	// Data is the kind's own (an address to verify, a session to end).
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LinkStore keeps one-time links.
type LinkStore interface {
	// PutLink stores l. With replace, every other link of l's kind and
	// user goes in the same step: a second reset link voids the first.
	PutLink(ctx context.Context, l *Link, replace bool) error
	// LinkByHash returns the link if it has not expired at now; ENOTFOUND
	// otherwise.
	LinkByHash(ctx context.Context, hash []byte, now time.Time) (*Link, error)
	// UseLink deletes the link if it exists and has not expired at now,
	// and reports whether it did: of two uses at once exactly one wins.
	UseLink(ctx context.Context, hash []byte, now time.Time) (bool, error)
	// DeleteUserLinks voids userID's links of kind.
	DeleteUserLinks(ctx context.Context, userID, kind string) error
	// PruneLinks deletes the links that expired before now.
	PruneLinks(ctx context.Context, now time.Time) error
}
