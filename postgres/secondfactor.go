package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.SecondFactorStore = (*SecondFactorStore)(nil)

// SecondFactorStore keeps TOTP secrets, pending enrolments and recovery
// code hashes in PostgreSQL. A time step or a recovery code is spent by one
// conditional UPDATE or DELETE: of two requests racing with the same code,
// the second waits for the first's row lock, re-checks its condition on the
// updated row and matches nothing.
type SecondFactorStore struct{ db *DB }

// NewSecondFactorStore returns a SecondFactorStore on db.
func NewSecondFactorStore(db *DB) *SecondFactorStore { return &SecondFactorStore{db: db} }

// SetPendingTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) SetPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error {
	if len(sealed) == 0 {
		return lacop.Errorf(lacop.EINVALID, "TOTP secret is empty.")
	}
	_, err := s.db.pool.Exec(ctx, `INSERT INTO totp_pending (user_id, secret, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`,
		userID, sealed, ms(at))
	if isForeignKeyViolation(err) {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return wrap("set pending totp", err)
	}
	return nil
}

// PendingTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) PendingTOTP(ctx context.Context, userID string) ([]byte, time.Time, error) {
	var sealed []byte
	var at int64
	err := s.db.pool.QueryRow(ctx, `SELECT secret, created_at FROM totp_pending WHERE user_id = $1`, userID).
		Scan(&sealed, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, lacop.Errorf(lacop.ENOTFOUND, "No TOTP enrolment is pending.")
	} else if err != nil {
		return nil, time.Time{}, wrap("pending totp", err)
	}
	return sealed, fromMS(at), nil
}

// EnableTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) EnableTOTP(ctx context.Context, userID string, sealed []byte, step int64, recoveryHashes [][]byte) error {
	// An empty secret would read back as "no second factor" while the
	// recovery codes stayed: refuse rather than store that.
	if len(sealed) == 0 {
		return lacop.Errorf(lacop.EINVALID, "TOTP secret is empty.")
	}
	return s.db.inTx(ctx, "enable totp", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET totp_secret = $1, totp_last_step = $2, updated_at = $3 WHERE id = $4`,
			sealed, step, ms(s.db.Now()), userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if len(recoveryHashes) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`,
				userID, recoveryHashes); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM totp_pending WHERE user_id = $1`, userID)
		return err
	})
}

// DisableTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) DisableTOTP(ctx context.Context, userID string) (bool, error) {
	var active bool
	err := s.db.inTx(ctx, "disable totp", func(tx pgx.Tx) error {
		// FOR UPDATE holds the row, so nothing enables a secret between
		// this read and the update.
		err := tx.QueryRow(ctx, `SELECT length(totp_secret) > 0 FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&active)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		for _, st := range []struct {
			query string
			args  []any
		}{
			{`UPDATE users SET totp_secret = '\x', totp_last_step = 0, updated_at = $1 WHERE id = $2`, []any{ms(s.db.Now()), userID}},
			{`DELETE FROM recovery_codes WHERE user_id = $1`, []any{userID}},
			{`DELETE FROM totp_pending WHERE user_id = $1`, []any{userID}},
		} {
			if _, err := tx.Exec(ctx, st.query, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return active, nil
}

// UseTOTPStep implements lacop.SecondFactorStore.
func (s *SecondFactorStore) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	tag, err := s.db.pool.Exec(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`,
		step, userID)
	if err != nil {
		return false, wrap("use totp step", err)
	}
	return tag.RowsAffected() == 1, nil
}

// UseRecoveryCode implements lacop.SecondFactorStore.
func (s *SecondFactorStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
	if err != nil {
		return false, wrap("use recovery code", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecoveryCodesLeft implements lacop.SecondFactorStore.
func (s *SecondFactorStore) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, wrap("recovery codes left", err)
	}
	return n, nil
}
