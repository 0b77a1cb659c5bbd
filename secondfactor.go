package lacop

import (
	"context"
	"time"
)

// SecondFactorStore keeps each user's TOTP secret (sealed: encrypted by the
// caller before it gets here), the pending enrolment, the last accepted time
// step and the hashes of one-time recovery codes.
type SecondFactorStore interface {
	// SetPendingTOTP stores a sealed secret being enrolled, replacing any
	// earlier pending one. Nothing is active until EnableTOTP.
	SetPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error

	// PendingTOTP returns the sealed pending secret and when it was made,
	// or ENOTFOUND.
	PendingTOTP(ctx context.Context, userID string) (sealed []byte, at time.Time, err error)

	// EnableTOTP makes sealed the user's active secret with these recovery
	// code hashes (replacing any), records step as already used, and drops
	// the pending enrolment, in one transaction. ENOTFOUND for an unknown
	// user.
	EnableTOTP(ctx context.Context, userID string, sealed []byte, step int64, recoveryHashes [][]byte) error

	// DisableTOTP removes the secret, the recovery codes and any pending
	// enrolment. It reports whether a secret was active.
	DisableTOTP(ctx context.Context, userID string) (bool, error)

	// UseTOTPStep records step as used only if it is later than the last
	// used step, and reports whether it was: a code is accepted once.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)

	// UseRecoveryCode deletes the code with this hash and reports whether it
	// existed: each recovery code works once.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)

	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// Ban is a throttling ban in force: Key is what is banned ("account:…",
// "factor:…", "ip:…"), Until when it ends.
type Ban struct {
	Key   string
	Until time.Time
}

// RegulationStore counts failed attempts per key ("account:…", "factor:…",
// "ip:…") in a sliding window and keeps bans. It lives in the store so that
// counts survive a restart and are shared by every instance.
type RegulationStore interface {
	// RecordFailure notes one failed attempt at at for each key.
	RecordFailure(ctx context.Context, at time.Time, keys ...string) error

	// CountFailures counts key's failures at or after since.
	CountFailures(ctx context.Context, key string, since time.Time) (int, error)

	// ClearFailures forgets key's failures (after a success).
	ClearFailures(ctx context.Context, key string) error

	// ForgetFailure withdraws one failure of key recorded at at: an
	// attempt is counted before it is checked and withdrawn if it passes.
	ForgetFailure(ctx context.Context, key string, at time.Time) error

	// Ban bans key until the given time (a later existing ban is kept).
	Ban(ctx context.Context, key string, until time.Time) error

	// BannedUntil returns when key's ban ends, or the zero time when key is
	// not banned at now.
	BannedUntil(ctx context.Context, key string, now time.Time) (time.Time, error)

	// BanEnd returns when key's latest ban ends or ended, or the zero time
	// when none is kept. Failures before a ban's end no longer count once
	// it is over: a ban is served once, not again for each later attempt.
	BanEnd(ctx context.Context, key string) (time.Time, error)

	// Bans lists the bans in force at now, the latest-ending first.
	Bans(ctx context.Context, now time.Time) ([]Ban, error)

	// LiftBan ends key's ban at now, if one is in force, and reports
	// whether one was. The ban is ended, not forgotten: the failures behind
	// it stop counting as they would when it ran out.
	LiftBan(ctx context.Context, key string, now time.Time) (bool, error)

	// PruneRegulation deletes failures before the cutoff and bans that ended
	// before it, so the tables do not grow without bound.
	PruneRegulation(ctx context.Context, cutoff time.Time) error
}
