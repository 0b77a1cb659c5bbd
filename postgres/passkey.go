package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lacop/lacop"
)

var _ lacop.PasskeyStore = (*PasskeyStore)(nil)

// PasskeyStore keeps passkeys in PostgreSQL.
//
// A binding and a removal are made atomic with respect to each other by the
// passkey's row lock: BindPasskeySession inserts under FOR SHARE of the
// passkey, DeletePasskey takes it FOR UPDATE before reading the bindings.
// Whichever comes second waits for the first to commit, and then either
// finds the passkey gone (the binding is refused) or, reading the bindings
// in a later statement with a fresh snapshot, finds the new one.
type PasskeyStore struct{ db *DB }

// NewPasskeyStore returns a PasskeyStore on db.
func NewPasskeyStore(db *DB) *PasskeyStore { return &PasskeyStore{db: db} }

const passkeyColumns = `id, user_id, credential_id, name, record, sign_count, user_verified, created_at, last_used_at`

var errPasskeyNotFound = lacop.Errorf(lacop.ENOTFOUND, "Passkey not found.")

// AddPasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) AddPasskey(ctx context.Context, p *lacop.Passkey) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, clean(p.UserID), p.CredentialID, clean(p.Name), p.Record, int64(p.SignCount), p.UserVerified, ms(p.CreatedAt), msOrZero(p.LastUsedAt))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "That passkey is registered already.")
	} else if isForeignKeyViolation(err) {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return wrap("add passkey", err)
	}
	return nil
}

// UserPasskeys implements lacop.PasskeyStore.
func (s *PasskeyStore) UserPasskeys(ctx context.Context, userID string) ([]*lacop.Passkey, error) {
	if !storable(userID) {
		return nil, nil
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("passkeys", err)
	}
	defer rows.Close()
	var out []*lacop.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, wrap("passkeys", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("passkeys", err)
	}
	return out, nil
}

// PasskeyByCredentialID implements lacop.PasskeyStore.
func (s *PasskeyStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*lacop.Passkey, error) {
	p, err := scanPasskey(s.db.pool.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errPasskeyNotFound
	} else if err != nil {
		return nil, wrap("passkey", err)
	}
	return p, nil
}

// UsePasskey implements lacop.PasskeyStore. One conditional UPDATE: of two
// uses with the same count, the second finds the count already there.
func (s *PasskeyStore) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	if !storable(id) {
		return false, errPasskeyNotFound
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE passkeys SET sign_count = $2, last_used_at = $3
		WHERE id = $1 AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))`, id, int64(count), ms(at))
	if err != nil {
		return false, wrap("use passkey", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var one int
	if err := s.db.pool.QueryRow(ctx, `SELECT 1 FROM passkeys WHERE id = $1`, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return false, errPasskeyNotFound
	} else if err != nil {
		return false, wrap("use passkey", err)
	}
	return false, nil
}

// BindPasskeySession implements lacop.PasskeyStore.
func (s *PasskeyStore) BindPasskeySession(ctx context.Context, id, sessionID string, passwordless bool) error {
	if !storable(id) {
		return errPasskeyNotFound
	}
	return s.db.inTx(ctx, "bind passkey session", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM passkeys WHERE id = $1 FOR SHARE`, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return errPasskeyNotFound
		} else if err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO passkey_sessions (passkey_id, session_id, passwordless, bound_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, id, clean(sessionID), passwordless, ms(time.Now()))
		return err
	})
}

// SessionPasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) SessionPasskey(ctx context.Context, sessionID string) (*lacop.Passkey, bool, error) {
	if !storable(sessionID) {
		return nil, false, errPasskeyNotFound
	}
	var passwordless bool
	row := s.db.pool.QueryRow(ctx, `SELECT `+prefixed("p.", passkeyColumns)+`, b.passwordless FROM passkey_sessions b
		JOIN passkeys p ON p.id = b.passkey_id WHERE b.session_id = $1 ORDER BY b.bound_at DESC LIMIT 1`, sessionID)
	p, err := scanPasskey(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &passwordless)...) }))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, errPasskeyNotFound
	} else if err != nil {
		return nil, false, wrap("session passkey", err)
	}
	return p, passwordless, nil
}

// PasskeySessions implements lacop.PasskeyStore.
func (s *PasskeyStore) PasskeySessions(ctx context.Context, id string) ([]string, error) {
	if !storable(id) {
		return nil, nil
	}
	ids, err := querySessionIDs(ctx, s.db.pool, `SELECT session_id FROM passkey_sessions WHERE passkey_id = $1 ORDER BY session_id`, id)
	if err != nil {
		return nil, wrap("passkey sessions", err)
	}
	return ids, nil
}

// RenamePasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) RenamePasskey(ctx context.Context, userID, id, name string) error {
	if !storable(userID) || !storable(id) {
		return errPasskeyNotFound
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE passkeys SET name = $3 WHERE id = $2 AND user_id = $1`, userID, id, clean(name))
	if err != nil {
		return wrap("rename passkey", err)
	}
	if tag.RowsAffected() == 0 {
		return errPasskeyNotFound
	}
	return nil
}

// DeletePasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) DeletePasskey(ctx context.Context, userID, id string) (*lacop.Passkey, []string, error) {
	if !storable(userID) || !storable(id) {
		return nil, nil, errPasskeyNotFound
	}
	var p *lacop.Passkey
	var sessions []string
	err := s.db.inTx(ctx, "delete passkey", func(tx pgx.Tx) error {
		var err error
		p, err = scanPasskey(tx.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1 AND user_id = $2 FOR UPDATE`, id, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return errPasskeyNotFound
		} else if err != nil {
			return err
		}
		if sessions, err = querySessionIDs(ctx, tx, `DELETE FROM passkey_sessions WHERE passkey_id = $1 RETURNING session_id`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM passkeys WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return p, sessions, nil
}

// DeleteUserPasskeys implements lacop.PasskeyStore.
func (s *PasskeyStore) DeleteUserPasskeys(ctx context.Context, userID string) (int, error) {
	if !storable(userID) {
		return 0, nil
	}
	var n int64
	err := s.db.inTx(ctx, "delete passkeys", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM passkeys WHERE user_id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM passkey_sessions WHERE passkey_id IN (SELECT id FROM passkeys WHERE user_id = $1)`, userID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE user_id = $1`, userID)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// querySessionIDs runs a query whose rows are one session id each.
func querySessionIDs(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func scanPasskey(row pgx.Row) (*lacop.Passkey, error) {
	var p lacop.Passkey
	var count, created, used int64
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Record, &count, &p.UserVerified, &created, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromMS(created), fromMSOrZero(used)
	return &p, nil
}

// msOrZero is ms with the zero time stored as 0 ("not yet").
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// scanFunc adapts a function to pgx.Row, to scan extra columns after a
// passkey's.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, c := range parts {
		parts[i] = prefix + c
	}
	return strings.Join(parts, ", ")
}
