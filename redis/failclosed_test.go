package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
	"github.com/lacop/lacop/sqlite"
)

// TestFailClosed: with Redis gone, the checks on the request path return
// an error quickly, never an answer that would let a request through (no
// session is "not found" and so anonymous, no token "not denied", no key
// at zero failures).
func TestFailClosed(t *testing.T) {
	url, stop, start := redistest.StartServer(t)
	c := open(t, url, "lacoptest:")
	sessions := redis.NewSessionStore(c)
	tokens := redis.NewTokenStore(c, sqlite.NewTokenStore(openSQLite(t)))
	reg := redis.NewRegulationStore(c)
	ctx := t.Context()
	sess := newSession("s1", "ann", time.Now())
	must(t, sessions.CreateSession(ctx, sess))
	must(t, reg.RecordFailure(ctx, time.Now(), "account:ann"))

	checks := []struct {
		name string
		run  func() error
	}{
		{"SessionByHash", func() error { _, err := sessions.SessionByHash(ctx, sess.SecretHash); return err }},
		{"SessionByID", func() error { _, err := sessions.SessionByID(ctx, "s1"); return err }},
		{"TouchSession", func() error { return sessions.TouchSession(ctx, "s1", time.Now()) }},
		{"AccessTokenDenied", func() error { _, err := tokens.AccessTokenDenied(ctx, "j1", time.Now()); return err }},
		{"CountFailures", func() error { _, err := reg.CountFailures(ctx, "account:ann", time.Time{}); return err }},
		{"BannedUntil", func() error { _, err := reg.BannedUntil(ctx, "account:ann", time.Now()); return err }},
	}
	stop()
	var slowest time.Duration
	for _, tt := range checks {
		begin := time.Now()
		err := tt.run()
		elapsed := time.Since(begin)
		if code := lacop.ErrorCode(err); code != lacop.EINTERNAL {
			t.Errorf("%s with Redis stopped: ErrorCode(%v) = %q; want %q (a store failure, not an answer)", tt.name, err, code, lacop.EINTERNAL)
		}
		slowest = max(slowest, elapsed)
		if elapsed > 2500*time.Millisecond {
			t.Errorf("%s with Redis stopped took %v; want an error within about 2s", tt.name, elapsed)
		}
	}

	t.Logf("with Redis stopped, the slowest check failed in %v", slowest)

	// Back again (empty: the server keeps nothing), the same client works.
	start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := sessions.SessionByHash(context.Background(), sess.SecretHash)
		if lacop.ErrorCode(err) == lacop.ENOTFOUND {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SessionByHash after Redis restarted: %v; want ENOTFOUND (a fresh, empty Redis)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
