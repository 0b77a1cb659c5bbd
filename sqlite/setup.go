package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.SetupStore = (*SetupStore)(nil)

// SetupStore keeps the one-time first-admin setup token in SQLite.
type SetupStore struct{ db *DB }

// NewSetupStore returns a SetupStore on db.
func NewSetupStore(db *DB) *SetupStore { return &SetupStore{db: db} }

// ResetSetupToken implements lacop.SetupStore.
func (s *SetupStore) ResetSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: reset setup token: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
		return fmt.Errorf("sqlite: reset setup token: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (hash, expires_at) VALUES (?, ?)`, hash, ms(expiresAt)); err != nil {
		return fmt.Errorf("sqlite: reset setup token: %w", err)
	}
	return tx.Commit()
}

// SetupTokenValid implements lacop.SetupStore.
func (s *SetupStore) SetupTokenValid(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	var ok bool
	err := s.db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE hash = ? AND expires_at > ?)
		AND NOT EXISTS (SELECT 1 FROM users)`, hash, ms(now)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("sqlite: setup token: %w", err)
	}
	return ok, nil
}

// ClaimSetup implements lacop.SetupStore.
func (s *SetupStore) ClaimSetup(ctx context.Context, hash []byte, now time.Time, u *lacop.User) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: claim setup: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE hash = ? AND expires_at > ?
		AND NOT EXISTS (SELECT 1 FROM users)`, hash, ms(now))
	if err != nil {
		return fmt.Errorf("sqlite: claim setup: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return lacop.Errorf(lacop.ENOTFOUND, "This setup link is no longer valid.")
	}
	if err := createUser(ctx, tx, s.db, u); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
		return fmt.Errorf("sqlite: claim setup: %w", err)
	}
	return tx.Commit()
}
