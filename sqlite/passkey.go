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

var _ lacop.PasskeyStore = (*PasskeyStore)(nil)

// PasskeyStore keeps passkeys in SQLite. Every write runs on the write
// connection: SQLite takes writers one at a time, which is what makes a
// binding and a removal atomic with respect to each other.
type PasskeyStore struct{ db *DB }

// NewPasskeyStore returns a PasskeyStore on db.
func NewPasskeyStore(db *DB) *PasskeyStore { return &PasskeyStore{db: db} }

const passkeyColumns = `id, user_id, credential_id, name, record, sign_count, user_verified, created_at, last_used_at`

var errPasskeyNotFound = lacop.Errorf(lacop.ENOTFOUND, "Passkey not found.")

// AddPasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) AddPasskey(ctx context.Context, p *lacop.Passkey) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.CredentialID, p.Name, p.Record, int64(p.SignCount), p.UserVerified, ms(p.CreatedAt), msOrZero(p.LastUsedAt))
	switch {
	case isUniqueViolation(err):
		return lacop.Errorf(lacop.ECONFLICT, "That passkey is registered already.")
	case isForeignKeyViolation(err):
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	case err != nil:
		return fmt.Errorf("sqlite: add passkey: %w", err)
	}
	return nil
}

// UserPasskeys implements lacop.PasskeyStore.
func (s *PasskeyStore) UserPasskeys(ctx context.Context, userID string) ([]*lacop.Passkey, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, rowid`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	defer rows.Close()
	var out []*lacop.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByCredentialID implements lacop.PasskeyStore.
func (s *PasskeyStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*lacop.Passkey, error) {
	p, err := scanPasskey(s.db.read.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errPasskeyNotFound
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: passkey: %w", err)
	}
	return p, nil
}

// UsePasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: use passkey: %w", err)
	}
	defer tx.Rollback()
	var stored int64
	if err := tx.QueryRowContext(ctx, `SELECT sign_count FROM passkeys WHERE id = ?`, id).Scan(&stored); errors.Is(err, sql.ErrNoRows) {
		return false, errPasskeyNotFound
	} else if err != nil {
		return false, fmt.Errorf("sqlite: use passkey: %w", err)
	}
	if int64(count) <= stored && (count != 0 || stored != 0) {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ?`, int64(count), ms(at), id); err != nil {
		return false, fmt.Errorf("sqlite: use passkey: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: use passkey: %w", err)
	}
	return true, nil
}

// BindPasskeySession implements lacop.PasskeyStore.
func (s *PasskeyStore) BindPasskeySession(ctx context.Context, id, sessionID string, passwordless bool) error {
	res, err := s.db.write.ExecContext(ctx, `INSERT INTO passkey_sessions (passkey_id, session_id, passwordless, bound_at)
		SELECT id, ?, ?, ? FROM passkeys WHERE id = ? ON CONFLICT DO NOTHING`, sessionID, passwordless, ms(s.db.Now()), id)
	if err != nil {
		return fmt.Errorf("sqlite: bind passkey session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.db.write.QueryRowContext(ctx, `SELECT 1 FROM passkey_sessions WHERE passkey_id = ? AND session_id = ?`, id, sessionID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return errPasskeyNotFound
		} else if err != nil {
			return fmt.Errorf("sqlite: bind passkey session: %w", err)
		}
	}
	return nil
}

// SessionPasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) SessionPasskey(ctx context.Context, sessionID string) (*lacop.Passkey, bool, error) {
	var passwordless bool
	row := s.db.read.QueryRowContext(ctx, `SELECT `+prefixed("p.", passkeyColumns)+`, b.passwordless FROM passkey_sessions b
		JOIN passkeys p ON p.id = b.passkey_id WHERE b.session_id = ? ORDER BY b.bound_at DESC LIMIT 1`, sessionID)
	p, err := scanPasskey(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &passwordless)...) }))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, errPasskeyNotFound
	} else if err != nil {
		return nil, false, fmt.Errorf("sqlite: session passkey: %w", err)
	}
	return p, passwordless, nil
}

// PasskeySessions implements lacop.PasskeyStore.
func (s *PasskeyStore) PasskeySessions(ctx context.Context, id string) ([]string, error) {
	return querySessionIDs(ctx, s.db.read, `SELECT session_id FROM passkey_sessions WHERE passkey_id = ? ORDER BY session_id`, id)
}

// RenamePasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return fmt.Errorf("sqlite: rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errPasskeyNotFound
	}
	return nil
}

// DeletePasskey implements lacop.PasskeyStore.
func (s *PasskeyStore) DeletePasskey(ctx context.Context, userID, id string) (*lacop.Passkey, []string, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: delete passkey: %w", err)
	}
	defer tx.Rollback()
	p, err := scanPasskey(tx.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errPasskeyNotFound
	} else if err != nil {
		return nil, nil, fmt.Errorf("sqlite: delete passkey: %w", err)
	}
	sessions, err := querySessionIDs(ctx, tx, `DELETE FROM passkey_sessions WHERE passkey_id = ? RETURNING session_id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: delete passkey: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ?`, id); err != nil {
		return nil, nil, fmt.Errorf("sqlite: delete passkey: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: delete passkey: %w", err)
	}
	return p, sessions, nil
}

// DeleteUserPasskeys implements lacop.PasskeyStore.
func (s *PasskeyStore) DeleteUserPasskeys(ctx context.Context, userID string) (int, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete passkeys: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_sessions WHERE passkey_id IN (SELECT id FROM passkeys WHERE user_id = ?)`, userID); err != nil {
		return 0, fmt.Errorf("sqlite: delete passkeys: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete passkeys: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: delete passkeys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// rowsQueryer is what querySessionIDs reads from: the pool or a transaction.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// querySessionIDs runs a query whose rows are one session id each.
func querySessionIDs(ctx context.Context, q rowsQueryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

func scanPasskey(row scanner) (*lacop.Passkey, error) {
	var p lacop.Passkey
	var count, created, used int64
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Record, &count, &p.UserVerified, &created, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromMS(created), fromMSOrZero(used)
	return &p, nil
}

// scanFunc adapts a function to scanner, to scan extra columns after a
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
