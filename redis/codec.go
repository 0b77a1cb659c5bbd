package redis

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/lacop/lacop"
)

// sessionFields are the session hash's fields in the order of luaFields,
// for HMGET from Go.
var sessionFields = []string{"id", "h", "u", "l", "r", "c", "a", "e", "ip", "ua"}

// parseSession reads a session's fields in the order of luaFields. The
// caller has checked that the first (the id) is there.
func parseSession(f []any) (*lacop.Session, error) {
	if len(f) != len(sessionFields) {
		return nil, fmt.Errorf("session of %d fields", len(f))
	}
	v := make([]string, len(f))
	for i, x := range f {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("session field %s is %T", sessionFields[i], x)
		}
		v[i] = s
	}
	sess := &lacop.Session{ID: v[0], UserID: v[2], RememberMe: v[4] == "1", IP: v[8], UserAgent: v[9]}
	var errs [5]error
	sess.SecretHash, errs[0] = hex.DecodeString(v[1])
	sess.AuthLevel, errs[1] = strconv.Atoi(v[3])
	sess.CreatedAt, errs[2] = parseMS(v[5])
	sess.LastActiveAt, errs[3] = parseMS(v[6])
	sess.ExpiresAt, errs[4] = parseMS(v[7])
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("session %s: %w", sess.ID, err)
		}
	}
	return sess, nil
}

// parseSessions reads a list of sessions as scripts return them.
func parseSessions(reply []any) ([]*lacop.Session, error) {
	list := make([]*lacop.Session, 0, len(reply))
	for _, r := range reply {
		f, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("session list holds %T", r)
		}
		sess, err := parseSession(f)
		if err != nil {
			return nil, err
		}
		list = append(list, sess)
	}
	return list, nil
}

// parseMS reads a time stored as Unix milliseconds.
func parseMS(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	return fromMS(n), err
}
