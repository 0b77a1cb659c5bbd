package lacop

import (
	"context"
	"time"
)

// Passkey is a WebAuthn credential a person registered to sign in with,
// without a password or as the second factor after one. Only public data
// is kept: the credential's id and public key. A copy of the store lets
// nobody sign in.
type Passkey struct {
	// ID is lacop's public id for the passkey (lists, URLs, audit events);
	// never the credential id.
	ID     string
	UserID string
	// CredentialID is the authenticator's id for the credential, unique
	// across every person.
	CredentialID []byte
	// Name is what the person called it ("Work laptop").
	Name string
	// Record is the WebAuthn credential record (public key, flags, AAGUID,
	// transports) as the auth package encodes it; opaque to stores.
	Record []byte
	// SignCount is the authenticator's signature counter at the last use;
	// a later use must report a greater one unless both are 0.
	SignCount uint32
	// UserVerified says the registration verified the person (PIN or
	// biometrics), not only their presence.
	UserVerified bool
	CreatedAt    time.Time
	// LastUsedAt is the zero time until the passkey is first used.
	LastUsedAt time.Time
}

// PasskeyStore keeps passkeys and which sessions each one signed in, so that
// removing one ends exactly those sessions.
type PasskeyStore interface {
	// AddPasskey stores p. ECONFLICT when its credential id is registered
	// already (to anyone); ENOTFOUND for an unknown user.
	AddPasskey(ctx context.Context, p *Passkey) error

	// UserPasskeys lists userID's passkeys, oldest first.
	UserPasskeys(ctx context.Context, userID string) ([]*Passkey, error)

	// PasskeyByCredentialID returns the passkey with this credential id,
	// or ENOTFOUND.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)

	// UsePasskey records a use at at with the authenticator's counter,
	// only if the counter went forward (count > stored, or both 0), in one
	// step so that two uses at once cannot both pass with one count. It
	// reports whether it did: false means the counter did not move
	// forward, the sign of a cloned authenticator. ENOTFOUND when the
	// passkey is gone.
	UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error)

	// BindPasskeySession records that sessionID signed in (or passed its
	// second factor) with passkey id, only if the passkey still exists:
	// ENOTFOUND when it is gone, so a sign-in that raced the removal
	// withdraws its session. Atomic with DeletePasskey: a binding is
	// either refused or among the sessions DeletePasskey returns.
	// passwordless says the session signed in with the passkey alone
	// (else the passkey was its second factor, after a password).
	BindPasskeySession(ctx context.Context, id, sessionID string, passwordless bool) error

	// SessionPasskey returns the passkey sessionID is bound to (the
	// latest, should there be several) and whether it signed in with it
	// alone; ENOTFOUND when the session used none.
	SessionPasskey(ctx context.Context, sessionID string) (*Passkey, bool, error)

	// PasskeySessions lists the ids of the sessions bound to passkey id
	// (some may have ended since).
	PasskeySessions(ctx context.Context, id string) ([]string, error)

	// RenamePasskey renames userID's passkey id. ENOTFOUND when userID
	// has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error

	// DeletePasskey removes userID's passkey id and its bindings and
	// returns the passkey and the ids of the sessions that were bound to
	// it. ENOTFOUND when userID has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) (*Passkey, []string, error)

	// DeleteUserPasskeys removes every passkey of userID and reports how
	// many there were.
	DeleteUserPasskeys(ctx context.Context, userID string) (int, error)
}
