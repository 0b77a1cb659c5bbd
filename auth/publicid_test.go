package auth_test

import (
	"crypto/rand"
	"strings"
	"testing"
)

// dashFirst is crypto/rand whose first n reads begin with 0xF8, a byte
// whose top six bits encode '-' in base64url.
type dashFirst struct{ n int }

func (r *dashFirst) Read(p []byte) (int, error) {
	rand.Read(p)
	if r.n > 0 && len(p) > 0 {
		p[0] = 0xF8
		r.n--
	}
	return len(p), nil
}

// TestIDsNeverStartWithDash: people paste user and session ids into
// commands (lacop session revoke ID), where a leading '-' reads as a flag;
// ids keep their length, so they keep their entropy but for one character.
func TestIDsNeverStartWithDash(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.svc.Rand = &dashFirst{n: 3}
	u := e.createUser(t, "ada@example.com", alicePassword)
	e.svc.Rand = &dashFirst{n: 3} // the secret takes one, the id two
	in := e.login(t, "ada@example.com", alicePassword, false)
	for _, tt := range []struct {
		what, id string
		n        int
	}{
		{"user id", u.ID, 16},
		{"session id", in.Session.ID, 22},
	} {
		if strings.HasPrefix(tt.id, "-") || len(tt.id) != tt.n {
			t.Errorf("%s = %q; want %d characters, not starting with '-'", tt.what, tt.id, tt.n)
		}
	}
}
