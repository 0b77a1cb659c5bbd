package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lacop/lacop"
)

var _ lacop.LinkStore = (*LinkStore)(nil)

// LinkStore keeps one-time links in PostgreSQL.
type LinkStore struct{ db *DB }

// NewLinkStore returns a LinkStore on db.
func NewLinkStore(db *DB) *LinkStore { return &LinkStore{db: db} }

// PutLink implements lacop.LinkStore.
func (s *LinkStore) PutLink(ctx context.Context, l *lacop.Link, replace bool) error {
	return s.db.inTx(ctx, "put link", func(tx pgx.Tx) error {
		if replace {
			if _, err := tx.Exec(ctx, `DELETE FROM links WHERE user_id = $1 AND kind = $2`, clean(l.UserID), clean(l.Kind)); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO links (hash, kind, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			l.Hash, clean(l.Kind), clean(l.UserID), clean(l.Data), ms(l.CreatedAt), ms(l.ExpiresAt))
		if _, ok := uniqueViolation(err); ok {
			return lacop.Errorf(lacop.ECONFLICT, "That link exists already.")
		}
		return err
	})
}

// LinkByHash implements lacop.LinkStore.
func (s *LinkStore) LinkByHash(ctx context.Context, hash []byte, now time.Time) (*lacop.Link, error) {
	l := &lacop.Link{Hash: hash}
	var created, expires int64
	err := s.db.pool.QueryRow(ctx, `SELECT kind, user_id, data, created_at, expires_at FROM links
		WHERE hash = $1 AND expires_at > $2`, hash, ms(now)).Scan(&l.Kind, &l.UserID, &l.Data, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Link not found.")
	} else if err != nil {
		return nil, wrap("link", err)
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	return l, nil
}

// UseLink implements lacop.LinkStore.
func (s *LinkStore) UseLink(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM links WHERE hash = $1 AND expires_at > $2`, hash, ms(now))
	if err != nil {
		return false, wrap("use link", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteUserLinks implements lacop.LinkStore.
func (s *LinkStore) DeleteUserLinks(ctx context.Context, userID, kind string) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM links WHERE user_id = $1 AND kind = $2`, clean(userID), clean(kind)); err != nil {
		return wrap("delete links", err)
	}
	return nil
}

// PruneLinks implements lacop.LinkStore.
func (s *LinkStore) PruneLinks(ctx context.Context, now time.Time) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM links WHERE expires_at <= $1`, ms(now)); err != nil {
		return wrap("prune links", err)
	}
	return nil
}
