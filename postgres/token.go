package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.TokenStore = (*TokenStore)(nil)

// TokenStore keeps refresh-token families, the access tokens issued to each
// session and the jti denylist in PostgreSQL. Lists of sessions travel as
// one array parameter, so ending 10,000 sessions is one statement per
// table, not one per session.
type TokenStore struct{ db *DB }

// NewTokenStore returns a TokenStore on db.
func NewTokenStore(db *DB) *TokenStore { return &TokenStore{db: db} }

const refreshColumns = `hash, session_id, user_id, created_at, expires_at, spent_at, successor_jti, successor_issued_at`

// CreateRefreshToken implements lacop.TokenStore.
func (s *TokenStore) CreateRefreshToken(ctx context.Context, t *lacop.RefreshToken) error {
	return insertRefresh(ctx, s.db.pool, t)
}

func insertRefresh(ctx context.Context, q queryer, t *lacop.RefreshToken) error {
	_, err := q.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES ($1, $2, $3, $4, $5, 0, '', 0)`,
		t.Hash, t.SessionID, t.UserID, ms(t.CreatedAt), ms(t.ExpiresAt))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "Refresh token already exists.")
	} else if err != nil {
		return wrap("create refresh token", err)
	}
	return nil
}

// RefreshTokenByHash implements lacop.TokenStore.
func (s *TokenStore) RefreshTokenByHash(ctx context.Context, hash []byte) (*lacop.RefreshToken, error) {
	var t lacop.RefreshToken
	var created, expires, spent, succIssued int64
	err := s.db.pool.QueryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.SessionID, &t.UserID, &created, &expires, &spent, &t.SuccessorJTI, &succIssued)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Refresh token not found.")
	} else if err != nil {
		return nil, wrap("refresh token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	t.SpentAt, t.SuccessorIssuedAt = fromMSOrZero(spent), fromMSOrZero(succIssued)
	return &t, nil
}

// SpendRefreshToken implements lacop.TokenStore. Of concurrent spends, the
// first UPDATE takes the row lock; the others wait for it, re-check
// spent_at = 0 on the spent row and match nothing.
func (s *TokenStore) SpendRefreshToken(ctx context.Context, hash []byte, at time.Time, successorJTI string, successorIssuedAt time.Time, next *lacop.RefreshToken) error {
	return s.db.inTx(ctx, "spend refresh token", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE refresh_tokens SET spent_at = $1, successor_jti = $2, successor_issued_at = $3
			WHERE hash = $4 AND spent_at = 0`, ms(at), successorJTI, ms(successorIssuedAt), hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = $1)`, hash).Scan(&exists); err != nil {
				return err
			} else if !exists {
				return lacop.Errorf(lacop.ENOTFOUND, "Refresh token not found.")
			}
			return lacop.Errorf(lacop.ECONFLICT, "Refresh token already spent.")
		}
		return insertRefresh(ctx, tx, next)
	})
}

// DeleteRefreshTokens implements lacop.TokenStore.
func (s *TokenStore) DeleteRefreshTokens(ctx context.Context, sessionIDs ...string) error {
	if len(sessionIDs) == 0 {
		return nil
	}
	return s.deleteFamilies(ctx, "delete refresh tokens", `DELETE FROM refresh_tokens WHERE session_id = ANY ($1)`, sessionIDs)
}

// DeleteUserRefreshTokens implements lacop.TokenStore.
func (s *TokenStore) DeleteUserRefreshTokens(ctx context.Context, userID string) error {
	return s.deleteFamilies(ctx, "delete user refresh tokens", `DELETE FROM refresh_tokens WHERE user_id = $1`, userID)
}

// deleteFamilies runs a family delete until it deletes nothing. A refresh
// in flight holds its token's row and inserts the successor in the same
// transaction; the delete waits for that row, but under READ COMMITTED
// its snapshot does not hold the successor committed meanwhile, which
// would live on. The next statement's snapshot does, and a family can only
// grow from a row the delete would have met, so the loop ends.
func (s *TokenStore) deleteFamilies(ctx context.Context, op, query string, arg any) error {
	for {
		tag, err := s.db.pool.Exec(ctx, query, arg)
		if err != nil {
			return wrap(op, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
	}
}

// RecordAccessToken implements lacop.TokenStore.
func (s *TokenStore) RecordAccessToken(ctx context.Context, jti, sessionID, userID string, expiresAt time.Time) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO access_tokens (jti, session_id, user_id, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (jti) DO NOTHING`, jti, sessionID, userID, ms(expiresAt))
	if err != nil {
		return wrap("record access token", err)
	}
	return nil
}

// DenyAccessToken implements lacop.TokenStore.
func (s *TokenStore) DenyAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO token_denylist (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(token_denylist.expires_at, excluded.expires_at)`, jti, ms(expiresAt))
	if err != nil {
		return wrap("deny access token", err)
	}
	return nil
}

// denySessionTokens and denyUserTokens move the access-token records of
// sessions or of a user onto the denylist, those still live at $2, in one
// statement: a token recorded meanwhile is either moved or left for the next
// call, never lost between two steps.
const (
	denySessionTokens = `WITH gone AS (DELETE FROM access_tokens WHERE session_id = ANY ($1) RETURNING jti, expires_at)
		INSERT INTO token_denylist (jti, expires_at) SELECT jti, expires_at FROM gone WHERE expires_at > $2
		ON CONFLICT (jti) DO NOTHING`
	denyUserTokens = `WITH gone AS (DELETE FROM access_tokens WHERE user_id = $1 RETURNING jti, expires_at)
		INSERT INTO token_denylist (jti, expires_at) SELECT jti, expires_at FROM gone WHERE expires_at > $2
		ON CONFLICT (jti) DO NOTHING`
)

// DenySessionAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenySessionAccessTokens(ctx context.Context, now time.Time, sessionIDs ...string) error {
	if len(sessionIDs) == 0 {
		return nil
	}
	if _, err := s.db.pool.Exec(ctx, denySessionTokens, sessionIDs, ms(now)); err != nil {
		return wrap("deny session access tokens", err)
	}
	return nil
}

// DenyUserAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenyUserAccessTokens(ctx context.Context, userID string, now time.Time) error {
	if _, err := s.db.pool.Exec(ctx, denyUserTokens, userID, ms(now)); err != nil {
		return wrap("deny user access tokens", err)
	}
	return nil
}

// AccessTokenDenied implements lacop.TokenStore: one primary-key probe that
// always returns one row.
func (s *TokenStore) AccessTokenDenied(ctx context.Context, jti string, now time.Time) (bool, error) {
	var denied bool
	err := s.db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM token_denylist WHERE jti = $1 AND expires_at > $2)`,
		jti, ms(now)).Scan(&denied)
	if err != nil {
		return false, wrap("access token denied", err)
	}
	return denied, nil
}

// PruneTokens implements lacop.TokenStore.
func (s *TokenStore) PruneTokens(ctx context.Context, now time.Time) error {
	return s.db.inTx(ctx, "prune tokens", func(tx pgx.Tx) error {
		for _, table := range []string{"refresh_tokens", "access_tokens", "token_denylist"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE expires_at <= $1`, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
