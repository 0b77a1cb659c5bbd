package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.LinkStore = (*LinkStore)(nil)

// LinkStore keeps one-time links in SQLite.
type LinkStore struct{ db *DB }

// NewLinkStore returns a LinkStore on db.
func NewLinkStore(db *DB) *LinkStore { return &LinkStore{db: db} }

// PutLink implements lacop.LinkStore.
func (s *LinkStore) PutLink(ctx context.Context, l *lacop.Link, replace bool) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: put link: %w", err)
	}
	defer tx.Rollback()
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM links WHERE user_id = ? AND kind = ?`, l.UserID, l.Kind); err != nil {
			return fmt.Errorf("sqlite: put link: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO links (hash, kind, user_id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.Hash, l.Kind, l.UserID, l.Data, ms(l.CreatedAt), ms(l.ExpiresAt))
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "That link exists already.")
	} else if err != nil {
		return fmt.Errorf("sqlite: put link: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: put link: %w", err)
	}
	return nil
}

// LinkByHash implements lacop.LinkStore.
func (s *LinkStore) LinkByHash(ctx context.Context, hash []byte, now time.Time) (*lacop.Link, error) {
	l := &lacop.Link{Hash: hash}
	var created, expires int64
	err := s.db.read.QueryRowContext(ctx, `SELECT kind, user_id, data, created_at, expires_at FROM links
		WHERE hash = ? AND expires_at > ?`, hash, ms(now)).Scan(&l.Kind, &l.UserID, &l.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Link not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: link: %w", err)
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	return l, nil
}

// UseLink implements lacop.LinkStore.
func (s *LinkStore) UseLink(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM links WHERE hash = ? AND expires_at > ?`, hash, ms(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: use link: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: use link: %w", err)
	}
	return n == 1, nil
}

// DeleteUserLinks implements lacop.LinkStore.
func (s *LinkStore) DeleteUserLinks(ctx context.Context, userID, kind string) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM links WHERE user_id = ? AND kind = ?`, userID, kind); err != nil {
		return fmt.Errorf("sqlite: delete links: %w", err)
	}
	return nil
}

// PruneLinks implements lacop.LinkStore.
func (s *LinkStore) PruneLinks(ctx context.Context, now time.Time) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM links WHERE expires_at <= ?`, ms(now)); err != nil {
		return fmt.Errorf("sqlite: prune links: %w", err)
	}
	return nil
}
