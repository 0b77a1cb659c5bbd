package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.SessionStore = (*SessionStore)(nil)

// SessionStore keeps sessions in PostgreSQL. Every write is a plain
// INSERT, a conditional UPDATE or a DELETE. Under READ COMMITTED an UPDATE
// that meets a row deleted meanwhile waits for the delete and then skips the
// row, so a request in flight can never write an ended session back.
type SessionStore struct{ db *DB }

// NewSessionStore returns a SessionStore on db.
func NewSessionStore(db *DB) *SessionStore { return &SessionStore{db: db} }

const sessionColumns = `id, secret_hash, user_id, auth_level, remember_me, created_at, last_active_at, expires_at, ip, user_agent`

// CreateSession implements lacop.SessionStore.
func (s *SessionStore) CreateSession(ctx context.Context, sess *lacop.Session) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		sess.ID, sess.SecretHash, sess.UserID, sess.AuthLevel, sess.RememberMe,
		ms(sess.CreatedAt), ms(sess.LastActiveAt), ms(sess.ExpiresAt), clean(sess.IP), clean(sess.UserAgent))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "Session already exists.")
	} else if err != nil {
		return wrap("create session", err)
	}
	return nil
}

// SessionByHash implements lacop.SessionStore.
func (s *SessionStore) SessionByHash(ctx context.Context, hash []byte) (*lacop.Session, error) {
	return s.one(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE secret_hash = $1`, hash)
}

// SessionByID implements lacop.SessionStore.
func (s *SessionStore) SessionByID(ctx context.Context, id string) (*lacop.Session, error) {
	if !storable(id) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	return s.one(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id)
}

func (s *SessionStore) one(ctx context.Context, query string, arg any) (*lacop.Session, error) {
	sess, err := scanSession(s.db.pool.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, wrap("session", err)
	}
	return sess, nil
}

// UserSessions implements lacop.SessionStore.
func (s *SessionStore) UserSessions(ctx context.Context, userID string) ([]*lacop.Session, error) {
	return s.many(ctx, "user sessions", `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1
		ORDER BY last_active_at DESC, created_at DESC`, userID)
}

// AllSessions implements lacop.SessionStore.
func (s *SessionStore) AllSessions(ctx context.Context) ([]*lacop.Session, error) {
	return s.many(ctx, "all sessions", `SELECT `+sessionColumns+` FROM sessions ORDER BY last_active_at DESC, created_at DESC`)
}

// TouchSession implements lacop.SessionStore.
func (s *SessionStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.pool.Exec(ctx, `UPDATE sessions SET last_active_at = $1 WHERE id = $2 AND last_active_at < $1`,
		ms(at), id)
	if err != nil {
		return wrap("touch session", err)
	}
	return nil
}

// RotateSessionSecret implements lacop.SessionStore.
func (s *SessionStore) RotateSessionSecret(ctx context.Context, id string, newHash []byte) error {
	return s.update(ctx, "rotate session secret", `UPDATE sessions SET secret_hash = $1 WHERE id = $2`, newHash, id)
}

// RaiseSession implements lacop.SessionStore.
func (s *SessionStore) RaiseSession(ctx context.Context, id string, level int, newHash []byte) error {
	return s.update(ctx, "raise session", `UPDATE sessions SET auth_level = $1, secret_hash = $2 WHERE id = $3`, level, newHash, id)
}

// update runs a one-session UPDATE; ENOTFOUND when the session is gone.
func (s *SessionStore) update(ctx context.Context, op, query string, args ...any) error {
	tag, err := s.db.pool.Exec(ctx, query, args...)
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "Session secret already in use.")
	} else if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	return nil
}

// DeleteSession implements lacop.SessionStore. Of concurrent deletes, the
// first takes the row lock and the others, once it commits, find no row.
func (s *SessionStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	if !storable(id) {
		return false, nil
	}
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return false, wrap("delete session", err)
	}
	return tag.RowsAffected() > 0, nil
}

// DeleteUserSessions implements lacop.SessionStore, in one indexed
// statement.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]*lacop.Session, error) {
	return s.many(ctx, "delete user sessions", `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING `+sessionColumns,
		userID, keepID)
}

// DeleteExpiredSessions implements lacop.SessionStore.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) ([]*lacop.Session, error) {
	return s.many(ctx, "delete expired sessions", `DELETE FROM sessions WHERE expires_at <= $1
		OR (NOT remember_me AND last_active_at <= $2) RETURNING `+sessionColumns, ms(now), ms(idleCutoff))
}

func (s *SessionStore) many(ctx context.Context, op, query string, args ...any) ([]*lacop.Session, error) {
	rows, err := s.db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var list []*lacop.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		list = append(list, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return list, nil
}

func scanSession(row pgx.Row) (*lacop.Session, error) {
	var sess lacop.Session
	var created, active, expires int64
	if err := row.Scan(&sess.ID, &sess.SecretHash, &sess.UserID, &sess.AuthLevel, &sess.RememberMe,
		&created, &active, &expires, &sess.IP, &sess.UserAgent); err != nil {
		return nil, err
	}
	sess.CreatedAt, sess.LastActiveAt, sess.ExpiresAt = fromMS(created), fromMS(active), fromMS(expires)
	return &sess, nil
}
