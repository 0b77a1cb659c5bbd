package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.SecondFactorStore = (*SecondFactorStore)(nil)

// SecondFactorStore keeps TOTP secrets, pending enrolments and recovery
// code hashes in SQLite. A time step or a recovery code is spent by one
// conditional UPDATE or DELETE, so two requests racing with the same code
// cannot both succeed.
type SecondFactorStore struct{ db *DB }

// NewSecondFactorStore returns a SecondFactorStore on db.
func NewSecondFactorStore(db *DB) *SecondFactorStore { return &SecondFactorStore{db: db} }

// SetPendingTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) SetPendingTOTP(ctx context.Context, userID string, sealed []byte, at time.Time) error {
	if len(sealed) == 0 {
		return lacop.Errorf(lacop.EINVALID, "TOTP secret is empty.")
	}
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO totp_pending (user_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`,
		userID, sealed, ms(at))
	if isForeignKeyViolation(err) {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return fmt.Errorf("sqlite: set pending totp: %w", err)
	}
	return nil
}

// PendingTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) PendingTOTP(ctx context.Context, userID string) ([]byte, time.Time, error) {
	var sealed []byte
	var at int64
	err := s.db.read.QueryRowContext(ctx, `SELECT secret, created_at FROM totp_pending WHERE user_id = ?`, userID).
		Scan(&sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, lacop.Errorf(lacop.ENOTFOUND, "No TOTP enrolment is pending.")
	} else if err != nil {
		return nil, time.Time{}, fmt.Errorf("sqlite: pending totp: %w", err)
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
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: enable totp: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = ?, totp_last_step = ?, updated_at = ? WHERE id = ?`,
		sealed, step, ms(s.db.Now()), userID)
	if err != nil {
		return fmt.Errorf("sqlite: enable totp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: enable totp: %w", err)
	}
	for _, h := range recoveryHashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return fmt.Errorf("sqlite: enable totp: recovery code: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM totp_pending WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: enable totp: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: enable totp: %w", err)
	}
	return nil
}

// DisableTOTP implements lacop.SecondFactorStore.
func (s *SecondFactorStore) DisableTOTP(ctx context.Context, userID string) (bool, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: disable totp: %w", err)
	}
	defer tx.Rollback()
	// The transaction holds the write lock from BEGIN (_txlock=immediate),
	// so nothing enables a secret between this read and the update.
	var active bool
	err = tx.QueryRowContext(ctx, `SELECT length(totp_secret) > 0 FROM users WHERE id = ?`, userID).Scan(&active)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("sqlite: disable totp: %w", err)
	}
	stmts := []struct {
		query string
		args  []any
	}{
		{`UPDATE users SET totp_secret = x'', totp_last_step = 0, updated_at = ? WHERE id = ?`, []any{ms(s.db.Now()), userID}},
		{`DELETE FROM recovery_codes WHERE user_id = ?`, []any{userID}},
		{`DELETE FROM totp_pending WHERE user_id = ?`, []any{userID}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return false, fmt.Errorf("sqlite: disable totp: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: disable totp: %w", err)
	}
	return active, nil
}

// UseTOTPStep implements lacop.SecondFactorStore.
func (s *SecondFactorStore) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`,
		step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlite: use totp step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode implements lacop.SecondFactorStore.
func (s *SecondFactorStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("sqlite: use recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft implements lacop.SecondFactorStore.
func (s *SecondFactorStore) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: recovery codes left: %w", err)
	}
	return n, nil
}

func isForeignKeyViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}
