package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.SessionStore = (*SessionStore)(nil)

// SessionStore keeps sessions in SQLite. Every write is a plain INSERT, a
// conditional UPDATE of last_active_at, or a DELETE, so a request in flight
// can never write an ended session back.
type SessionStore struct{ db *DB }

// NewSessionStore returns a SessionStore on db.
func NewSessionStore(db *DB) *SessionStore { return &SessionStore{db: db} }

const sessionColumns = `id, secret_hash, user_id, auth_level, remember_me, created_at, last_active_at, expires_at, ip, user_agent`

// live keeps the sessions of their user's current generation: the others
// were ended by DeleteUserSessions and wait for the sweep to remove them.
// Every read and write of a session carries it, so an ended generation is
// as gone as a deleted row.
const live = `gen = (SELECT session_gen FROM users WHERE users.id = sessions.user_id)`

// CreateSession implements lacop.SessionStore. The id and secret hash of
// a session ended with all its user's others stay taken until the sweep
// purges its row; both are random, so no new session asks for them.
func (s *SessionStore) CreateSession(ctx context.Context, sess *lacop.Session) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`, gen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce((SELECT session_gen FROM users WHERE id = ?), 0))`,
		sess.ID, sess.SecretHash, sess.UserID, sess.AuthLevel, sess.RememberMe,
		ms(sess.CreatedAt), ms(sess.LastActiveAt), ms(sess.ExpiresAt), sess.IP, sess.UserAgent, sess.UserID)
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "Session already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByHash implements lacop.SessionStore.
func (s *SessionStore) SessionByHash(ctx context.Context, hash []byte) (*lacop.Session, error) {
	return s.one(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE secret_hash = ? AND `+live, hash)
}

// SessionByID implements lacop.SessionStore.
func (s *SessionStore) SessionByID(ctx context.Context, id string) (*lacop.Session, error) {
	return s.one(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ? AND `+live, id)
}

func (s *SessionStore) one(ctx context.Context, query string, arg any) (*lacop.Session, error) {
	sess, err := scanSession(s.db.queryRow(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: session: %w", err)
	}
	return sess, nil
}

// UserSessions implements lacop.SessionStore.
func (s *SessionStore) UserSessions(ctx context.Context, userID string) ([]*lacop.Session, error) {
	return s.many(ctx, s.db.read, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND `+live+`
		ORDER BY last_active_at DESC, created_at DESC`, userID)
}

// AllSessions implements lacop.SessionStore.
func (s *SessionStore) AllSessions(ctx context.Context) ([]*lacop.Session, error) {
	return s.many(ctx, s.db.read, `SELECT `+sessionColumns+` FROM sessions WHERE `+live+` ORDER BY last_active_at DESC, created_at DESC`)
}

// TouchSession implements lacop.SessionStore.
func (s *SessionStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE sessions SET last_active_at = ? WHERE id = ? AND last_active_at < ? AND `+live,
		ms(at), id, ms(at))
	if err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// DeleteSession implements lacop.SessionStore.
func (s *SessionStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND `+live, id)
	if err != nil {
		return false, fmt.Errorf("sqlite: delete session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteUserSessions implements lacop.SessionStore. It reads the live
// sessions it ends, raises the user's generation (ending them all in one
// write), carries keepID over to the new generation, and queues the old
// rows for the sweep, in one transaction.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]*lacop.Session, error) {
	var ended []*lacop.Session
	err := s.db.writeTx(ctx, "delete user sessions", func(tx *sql.Tx) error {
		var err error
		ended, err = s.many(ctx, tx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND id != ? AND `+live, userID, keepID)
		if err != nil || len(ended) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET gen = gen + 1 WHERE id = ? AND user_id = ? AND `+live, keepID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET session_gen = session_gen + 1 WHERE id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO session_purges (user_id) VALUES (?)`, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// purgeBatch is how many rows of ended generations one statement removes,
// so the sweep never holds the write lock for long.
const purgeBatch = 1000

// DeleteExpiredSessions implements lacop.SessionStore. It also removes the
// rows of generations DeleteUserSessions ended: they are no session any
// more and are not returned.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) ([]*lacop.Session, error) {
	ended, err := s.many(ctx, s.db.write, `DELETE FROM sessions WHERE (expires_at <= ?
		OR (remember_me = 0 AND last_active_at <= ?)) AND `+live+` RETURNING `+sessionColumns, ms(now), ms(idleCutoff))
	if err != nil {
		return nil, err
	}
	return ended, s.purge(ctx)
}

// purge removes the rows of ended generations queued in session_purges.
func (s *SessionStore) purge(ctx context.Context) error {
	rows, err := s.db.write.QueryContext(ctx, `SELECT user_id FROM session_purges`)
	if err != nil {
		return fmt.Errorf("sqlite: purge sessions: %w", err)
	}
	var users []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: purge sessions: %w", err)
		}
		users = append(users, id)
	}
	rows.Close()
	for _, id := range users {
		for {
			res, err := s.db.write.ExecContext(ctx, `DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions
				WHERE user_id = ? AND NOT `+live+` LIMIT ?)`, id, purgeBatch)
			if err != nil {
				return fmt.Errorf("sqlite: purge sessions: %w", err)
			}
			if n, _ := res.RowsAffected(); n < purgeBatch {
				break
			}
		}
		// A generation ended meanwhile queued the user again (IGNORE): its
		// rows wait for the next sweep, and the queue entry stays.
		if _, err := s.db.write.ExecContext(ctx, `DELETE FROM session_purges WHERE user_id = ? AND NOT EXISTS
			(SELECT 1 FROM sessions WHERE user_id = ? AND NOT `+live+`)`, id, id); err != nil {
			return fmt.Errorf("sqlite: purge sessions: %w", err)
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *SessionStore) many(ctx context.Context, q querier, query string, args ...any) ([]*lacop.Session, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sessions: %w", err)
	}
	defer rows.Close()
	var list []*lacop.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: sessions: %w", err)
		}
		list = append(list, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sessions: %w", err)
	}
	return list, nil
}

func scanSession(row scanner) (*lacop.Session, error) {
	var sess lacop.Session
	var created, active, expires int64
	if err := row.Scan(&sess.ID, &sess.SecretHash, &sess.UserID, &sess.AuthLevel, &sess.RememberMe,
		&created, &active, &expires, &sess.IP, &sess.UserAgent); err != nil {
		return nil, err
	}
	sess.CreatedAt, sess.LastActiveAt, sess.ExpiresAt = fromMS(created), fromMS(active), fromMS(expires)
	return &sess, nil
}

// RotateSessionSecret implements lacop.SessionStore.
func (s *SessionStore) RotateSessionSecret(ctx context.Context, id string, newHash []byte) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE sessions SET secret_hash = ? WHERE id = ? AND `+live, newHash, id)
	if err != nil {
		return fmt.Errorf("sqlite: rotate session secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	return nil
}

// RaiseSession implements lacop.SessionStore.
func (s *SessionStore) RaiseSession(ctx context.Context, id string, level int, newHash []byte) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE sessions SET auth_level = ?, secret_hash = ? WHERE id = ? AND `+live, level, newHash, id)
	if err != nil {
		return fmt.Errorf("sqlite: raise session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	return nil
}
