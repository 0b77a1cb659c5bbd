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

var (
	_ lacop.TokenStore = (*TokenStore)(nil)
	_ lacop.KeyStore   = (*KeyStore)(nil)
)

// TokenStore keeps refresh-token families, the access tokens issued to each
// session and the jti denylist in SQLite.
type TokenStore struct{ db *DB }

// NewTokenStore returns a TokenStore on db.
func NewTokenStore(db *DB) *TokenStore { return &TokenStore{db: db} }

const refreshColumns = `hash, session_id, user_id, created_at, expires_at, spent_at, successor_jti, successor_issued_at`

// CreateRefreshToken implements lacop.TokenStore.
func (s *TokenStore) CreateRefreshToken(ctx context.Context, t *lacop.RefreshToken) error {
	return insertRefresh(ctx, s.db.write, t)
}

func insertRefresh(ctx context.Context, db execer, t *lacop.RefreshToken) error {
	_, err := db.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, 0, '', 0)`,
		t.Hash, t.SessionID, t.UserID, ms(t.CreatedAt), ms(t.ExpiresAt))
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "Refresh token already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlite: create refresh token: %w", err)
	}
	return nil
}

// RefreshTokenByHash implements lacop.TokenStore.
func (s *TokenStore) RefreshTokenByHash(ctx context.Context, hash []byte) (*lacop.RefreshToken, error) {
	var t lacop.RefreshToken
	var created, expires, spent, succIssued int64
	err := s.db.read.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.SessionID, &t.UserID, &created, &expires, &spent, &t.SuccessorJTI, &succIssued)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Refresh token not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: refresh token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	if spent != 0 {
		t.SpentAt = fromMS(spent)
	}
	if succIssued != 0 {
		t.SuccessorIssuedAt = fromMS(succIssued)
	}
	return &t, nil
}

// SpendRefreshToken implements lacop.TokenStore.
func (s *TokenStore) SpendRefreshToken(ctx context.Context, hash []byte, at time.Time, successorJTI string, successorIssuedAt time.Time, next *lacop.RefreshToken) error {
	return s.db.writeTx(ctx, "spend refresh token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET spent_at = ?, successor_jti = ?, successor_issued_at = ?
			WHERE hash = ? AND spent_at = 0`, ms(at), successorJTI, ms(successorIssuedAt), hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var spent int64
			err := tx.QueryRowContext(ctx, `SELECT spent_at FROM refresh_tokens WHERE hash = ?`, hash).Scan(&spent)
			if errors.Is(err, sql.ErrNoRows) {
				return lacop.Errorf(lacop.ENOTFOUND, "Refresh token not found.")
			} else if err != nil {
				return err
			}
			return lacop.Errorf(lacop.ECONFLICT, "Refresh token already spent.")
		}
		return insertRefresh(ctx, tx, next)
	})
}

// inList returns "?, ?, …" for n values and the values as arguments.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}

// maxInList bounds the ids per statement (SQLite's variable limit is
// 32766; smaller batches keep each write short).
const maxInList = 500

// eachBatch runs fn over ids in batches inside one transaction.
func (s *TokenStore) eachBatch(ctx context.Context, op string, ids []string, fn func(tx *sql.Tx, marks string, args []any) error) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.writeTx(ctx, op, func(tx *sql.Tx) error {
		for start := 0; start < len(ids); start += maxInList {
			marks, args := inList(ids[start:min(start+maxInList, len(ids))])
			if err := fn(tx, marks, args); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRefreshTokens implements lacop.TokenStore.
func (s *TokenStore) DeleteRefreshTokens(ctx context.Context, sessionIDs ...string) error {
	return s.eachBatch(ctx, "delete refresh tokens", sessionIDs, func(tx *sql.Tx, marks string, args []any) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE session_id IN (`+marks+`)`, args...)
		return err
	})
}

// DeleteUserRefreshTokens implements lacop.TokenStore.
func (s *TokenStore) DeleteUserRefreshTokens(ctx context.Context, userID string) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: delete user refresh tokens: %w", err)
	}
	return nil
}

// RecordAccessToken implements lacop.TokenStore.
func (s *TokenStore) RecordAccessToken(ctx context.Context, jti, sessionID, userID string, expiresAt time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO access_tokens (jti, session_id, user_id, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (jti) DO NOTHING`, jti, sessionID, userID, ms(expiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: record access token: %w", err)
	}
	return nil
}

// DenyAccessToken implements lacop.TokenStore.
func (s *TokenStore) DenyAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO token_denylist (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, jti, ms(expiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: deny access token: %w", err)
	}
	return nil
}

// DenySessionAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenySessionAccessTokens(ctx context.Context, now time.Time, sessionIDs ...string) error {
	return s.eachBatch(ctx, "deny session access tokens", sessionIDs, func(tx *sql.Tx, marks string, args []any) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO token_denylist (jti, expires_at)
			SELECT jti, expires_at FROM access_tokens WHERE session_id IN (`+marks+`) AND expires_at > ?
			ON CONFLICT (jti) DO NOTHING`, append(args, ms(now))...)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE session_id IN (`+marks+`)`, args...)
		return err
	})
}

// DenyUserAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenyUserAccessTokens(ctx context.Context, userID string, now time.Time) error {
	return s.db.writeTx(ctx, "deny user access tokens", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO token_denylist (jti, expires_at)
			SELECT jti, expires_at FROM access_tokens WHERE user_id = ? AND expires_at > ?
			ON CONFLICT (jti) DO NOTHING`, userID, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE user_id = ?`, userID)
		return err
	})
}

// AccessTokenDenied implements lacop.TokenStore.
func (s *TokenStore) AccessTokenDenied(ctx context.Context, jti string, now time.Time) (bool, error) {
	var one int
	err := s.db.queryRow(ctx, `SELECT 1 FROM token_denylist WHERE jti = ? AND expires_at > ?`, jti, ms(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("sqlite: access token denied: %w", err)
	}
	return true, nil
}

// PruneTokens implements lacop.TokenStore.
func (s *TokenStore) PruneTokens(ctx context.Context, now time.Time) error {
	return s.db.writeTx(ctx, "prune tokens", func(tx *sql.Tx) error {
		for _, table := range []string{"refresh_tokens", "access_tokens", "token_denylist"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// KeyStore keeps access-token signing keys in SQLite.
type KeyStore struct{ db *DB }

// NewKeyStore returns a KeyStore on db.
func NewKeyStore(db *DB) *KeyStore { return &KeyStore{db: db} }

// AddSigningKey implements lacop.KeyStore.
func (s *KeyStore) AddSigningKey(ctx context.Context, k *lacop.SigningKey) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO signing_keys (id, sealed, created_at) VALUES (?, ?, ?)`,
		k.ID, k.Sealed, ms(k.CreatedAt))
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "Signing key %s already exists.", k.ID)
	} else if err != nil {
		return fmt.Errorf("sqlite: add signing key: %w", err)
	}
	return nil
}

// SigningKeys implements lacop.KeyStore.
func (s *KeyStore) SigningKeys(ctx context.Context) ([]*lacop.SigningKey, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, sealed, created_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer rows.Close()
	var keys []*lacop.SigningKey
	for rows.Next() {
		var k lacop.SigningKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Sealed, &created); err != nil {
			return nil, fmt.Errorf("sqlite: signing keys: %w", err)
		}
		k.CreatedAt = fromMS(created)
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return keys, nil
}

// DeleteSigningKey implements lacop.KeyStore.
func (s *KeyStore) DeleteSigningKey(ctx context.Context, id string) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete signing key: %w", err)
	}
	return nil
}
