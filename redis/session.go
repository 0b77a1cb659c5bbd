package redis

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lacop/lacop"
	goredis "github.com/redis/go-redis/v9"
)

var _ lacop.SessionStore = (*SessionStore)(nil)

// SessionStore keeps sessions in Redis. Every change that spans keys is one
// Lua script (see session_scripts.go), so a session and its indexes never
// disagree, and an ended session is never written back.
type SessionStore struct{ c *Client }

// NewSessionStore returns a SessionStore on c.
func NewSessionStore(c *Client) *SessionStore { return &SessionStore{c: c} }

func (s *SessionStore) key(kind, id string) string { return s.c.base + kind + id }

// CreateSession implements lacop.SessionStore.
func (s *SessionStore) CreateSession(ctx context.Context, sess *lacop.Session) error {
	if len(sess.SecretHash) == 0 {
		return errors.New("redis: create session: no secret hash")
	}
	h := hex.EncodeToString(sess.SecretHash)
	remember := "0"
	if sess.RememberMe {
		remember = "1"
	}
	keys := []string{s.key("s:", sess.ID), s.key("sh:", h), s.key("u:", sess.UserID), s.key("sx", ""), s.key("si", "")}
	n, err := createScript.Run(ctx, s.c.rdb, keys, s.c.base, sess.ID, h, sess.UserID, sess.AuthLevel, remember,
		msArg(sess.CreatedAt), msArg(sess.LastActiveAt), msArg(sess.ExpiresAt), sess.IP, sess.UserAgent).Int()
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	} else if n == 0 {
		return lacop.Errorf(lacop.ECONFLICT, "Session already exists.")
	}
	return nil
}

// SessionByHash implements lacop.SessionStore. It is one round trip: a
// script reads the secret's key and the session hash together.
func (s *SessionStore) SessionByHash(ctx context.Context, hash []byte) (*lacop.Session, error) {
	if len(hash) == 0 {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	reply, err := byHashScript.Run(ctx, s.c.rdb, []string{s.key("sh:", hex.EncodeToString(hash))}, s.c.base).Slice()
	if errors.Is(err, goredis.Nil) || (err == nil && (len(reply) == 0 || reply[0] == nil)) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	}
	sess, err := parseSession(reply)
	if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	}
	return sess, nil
}

// SessionByID implements lacop.SessionStore.
func (s *SessionStore) SessionByID(ctx context.Context, id string) (*lacop.Session, error) {
	reply, err := s.c.rdb.HMGet(ctx, s.key("s:", id), sessionFields...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	} else if len(reply) == 0 || reply[0] == nil {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	}
	sess, err := parseSession(reply)
	if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	}
	return sess, nil
}

// UserSessions implements lacop.SessionStore.
func (s *SessionStore) UserSessions(ctx context.Context, userID string) ([]*lacop.Session, error) {
	reply, err := userScript.Run(ctx, s.c.rdb, []string{s.key("u:", userID)}, s.c.base).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: user sessions: %w", err)
	}
	list, err := parseSessions(reply)
	if err != nil {
		return nil, fmt.Errorf("redis: user sessions: %w", err)
	}
	return sortSessions(list), nil
}

// AllSessions implements lacop.SessionStore. It reads the sessions in
// pipelined batches rather than in one script, so that a large store does
// not hold Redis up; a session ended meanwhile is simply left out.
func (s *SessionStore) AllSessions(ctx context.Context) ([]*lacop.Session, error) {
	ids, err := s.c.rdb.ZRange(ctx, s.key("sx", ""), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: all sessions: %w", err)
	}
	var list []*lacop.Session
	for chunk := range slices.Chunk(ids, batch) {
		pipe := s.c.rdb.Pipeline()
		cmds := make([]*goredis.SliceCmd, len(chunk))
		for i, id := range chunk {
			cmds[i] = pipe.HMGet(ctx, s.key("s:", id), sessionFields...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis: all sessions: %w", err)
		}
		for _, cmd := range cmds {
			reply := cmd.Val()
			if len(reply) == 0 || reply[0] == nil {
				continue
			}
			sess, err := parseSession(reply)
			if err != nil {
				return nil, fmt.Errorf("redis: all sessions: %w", err)
			}
			list = append(list, sess)
		}
	}
	return sortSessions(list), nil
}

// TouchSession implements lacop.SessionStore.
func (s *SessionStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	err := touchScript.Run(ctx, s.c.rdb, []string{s.key("s:", id), s.key("si", "")}, s.c.base, id, msArg(at)).Err()
	if err != nil {
		return fmt.Errorf("redis: touch session: %w", err)
	}
	return nil
}

// RotateSessionSecret implements lacop.SessionStore.
func (s *SessionStore) RotateSessionSecret(ctx context.Context, id string, newHash []byte) error {
	return s.rekey(ctx, "rotate session secret", id, "", newHash)
}

// RaiseSession implements lacop.SessionStore.
func (s *SessionStore) RaiseSession(ctx context.Context, id string, level int, newHash []byte) error {
	return s.rekey(ctx, "raise session", id, strconv.Itoa(level), newHash)
}

func (s *SessionStore) rekey(ctx context.Context, op, id, level string, newHash []byte) error {
	if len(newHash) == 0 {
		return fmt.Errorf("redis: %s: no secret hash", op)
	}
	h := hex.EncodeToString(newHash)
	n, err := rekeyScript.Run(ctx, s.c.rdb, []string{s.key("s:", id), s.key("sh:", h)}, s.c.base, id, h, level).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redis: %s: %w", op, err)
	case n == 0:
		return lacop.Errorf(lacop.ENOTFOUND, "Session not found.")
	case n < 0:
		return lacop.Errorf(lacop.ECONFLICT, "Secret already in use.")
	}
	return nil
}

// DeleteSession implements lacop.SessionStore.
func (s *SessionStore) DeleteSession(ctx context.Context, id string) (bool, error) {
	n, err := deleteScript.Run(ctx, s.c.rdb, []string{s.key("s:", id), s.key("sx", ""), s.key("si", "")}, s.c.base, id).Int()
	if err != nil {
		return false, fmt.Errorf("redis: delete session: %w", err)
	}
	return n == 1, nil
}

// DeleteUserSessions implements lacop.SessionStore. It ends the sessions a
// batch per script, each batch atomic, until none but keepID is left.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID, keepID string) ([]*lacop.Session, error) {
	keys := []string{s.key("u:", userID), s.key("sx", ""), s.key("si", "")}
	var ended []*lacop.Session
	for {
		reply, err := deleteUserScript.Run(ctx, s.c.rdb, keys, s.c.base, keepID, batch).Slice()
		if err != nil {
			return ended, fmt.Errorf("redis: delete user sessions: %w", err)
		}
		scanned, removed, list, err := batchReply(reply)
		if err != nil {
			return ended, fmt.Errorf("redis: delete user sessions: %w", err)
		}
		ended = append(ended, list...)
		if scanned < batch || removed == 0 {
			return ended, nil
		}
	}
}

// DeleteExpiredSessions implements lacop.SessionStore.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) ([]*lacop.Session, error) {
	keys := []string{s.key("sx", ""), s.key("si", "")}
	var ended []*lacop.Session
	for {
		reply, err := expiredScript.Run(ctx, s.c.rdb, keys, s.c.base, msArg(now), msArg(idleCutoff), batch).Slice()
		if err != nil {
			return ended, fmt.Errorf("redis: delete expired sessions: %w", err)
		}
		_, more, list, err := batchReply(reply)
		if err != nil {
			return ended, fmt.Errorf("redis: delete expired sessions: %w", err)
		}
		ended = append(ended, list...)
		if more == 0 {
			return ended, nil
		}
	}
}

// batchReply reads a batch script's {n, m, sessions} reply.
func batchReply(reply []any) (n, m int64, list []*lacop.Session, err error) {
	if len(reply) != 3 {
		return 0, 0, nil, fmt.Errorf("unexpected reply of %d elements", len(reply))
	}
	n, ok1 := reply[0].(int64)
	m, ok2 := reply[1].(int64)
	sessions, ok3 := reply[2].([]any)
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, nil, fmt.Errorf("unexpected reply %T %T %T", reply[0], reply[1], reply[2])
	}
	list, err = parseSessions(sessions)
	return n, m, list, err
}

// sortSessions orders sessions most recently active first, then newest,
// then by id, like the SQL stores.
func sortSessions(list []*lacop.Session) []*lacop.Session {
	slices.SortFunc(list, func(a, b *lacop.Session) int {
		return cmp.Or(b.LastActiveAt.Compare(a.LastActiveAt), b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list
}
