package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

	// Back again (with its append-only file: the session survived the
	// kill), the same client works.
	start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := sessions.SessionByHash(context.Background(), sess.SecretHash)
		if err == nil && got.ID == sess.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SessionByHash after Redis restarted: %v, %v; want the session, kept in the append-only file", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCheckConfig: a Redis that could give back what lacop removed — one
// without the append-only file, or one that may evict keys — is refused;
// one that keeps every write and never evicts is accepted.
func TestCheckConfig(t *testing.T) {
	url, stop, _ := redistest.StartServer(t)
	defer stop()
	c, err := redis.Open(t.Context(), url, "config:")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	defer admin.Close()
	set := func(kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if err := admin.ConfigSet(t.Context(), kv[i], kv[i+1]).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		config []string
		want   string // "" accepted, else a word of the refusal
	}{
		{[]string{"appendonly", "no"}, "appendonly"},
		{[]string{"appendonly", "yes"}, ""},
		{[]string{"maxmemory", "100mb", "maxmemory-policy", "volatile-lru"}, "noeviction"},
		{[]string{"maxmemory-policy", "allkeys-lru"}, "noeviction"},
		{[]string{"maxmemory-policy", "noeviction"}, ""},
		{[]string{"maxmemory", "0", "maxmemory-policy", "volatile-lru"}, ""},
	}
	for _, tt := range tests {
		set(tt.config...)
		unchecked, err := c.CheckConfig(t.Context())
		if unchecked {
			t.Fatalf("after %v: unchecked; want the configuration read", tt.config)
		}
		if tt.want == "" && err != nil {
			t.Errorf("after %v: CheckConfig = %v; want nil", tt.config, err)
		} else if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("after %v: CheckConfig = %v; want a refusal naming %s", tt.config, err, tt.want)
		}
	}
}
