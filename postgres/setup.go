package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.SetupStore = (*SetupStore)(nil)

// SetupStore keeps the one-time first-admin setup token in PostgreSQL.
//
// Several instances may serve the setup page at once, and `lacop user add`
// may run beside them, so each write takes a table lock that makes it the
// only writer for its short transaction: SHARE ROW EXCLUSIVE conflicts with
// itself and with every INSERT, UPDATE and DELETE, but not with reads.
type SetupStore struct{ db *DB }

// NewSetupStore returns a SetupStore on db.
func NewSetupStore(db *DB) *SetupStore { return &SetupStore{db: db} }

// ResetSetupToken implements lacop.SetupStore. The lock keeps two resets
// racing from leaving two pending tokens.
func (s *SetupStore) ResetSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	return s.db.inTx(ctx, "reset setup token", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE setup_tokens IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM setup_tokens`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO setup_tokens (hash, expires_at) VALUES ($1, $2)`, hash, ms(expiresAt))
		return err
	})
}

// SetupTokenValid implements lacop.SetupStore.
func (s *SetupStore) SetupTokenValid(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	var ok bool
	err := s.db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens WHERE hash = $1 AND expires_at > $2)
		AND NOT EXISTS (SELECT 1 FROM users)`, hash, ms(now)).Scan(&ok)
	if err != nil {
		return false, wrap("setup token", err)
	}
	return ok, nil
}

// ClaimSetup implements lacop.SetupStore.
//
// Locking users first makes the claim atomic against everything that could
// create a user: another claim waits, then finds the token spent; a
// concurrent CreateUser waits, or has committed already and is seen by the
// "no user yet" check, whose snapshot is taken after the lock is granted.
func (s *SetupStore) ClaimSetup(ctx context.Context, hash []byte, now time.Time, u *lacop.User) error {
	if err := u.Validate(); err != nil {
		return err // before any lock: a form error costs nothing
	}
	return s.db.inTx(ctx, "claim setup", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM setup_tokens WHERE hash = $1 AND expires_at > $2
			AND NOT EXISTS (SELECT 1 FROM users)`, hash, ms(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return lacop.Errorf(lacop.ENOTFOUND, "This setup link is no longer valid.")
		}
		if err := createUser(ctx, tx, s.db, u); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM setup_tokens`)
		return err
	})
}
