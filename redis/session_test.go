package redis_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
	goredis "github.com/redis/go-redis/v9"
)

// newSession is a session of user, created at base and ending a day later.
func newSession(id, user string, base time.Time) *lacop.Session {
	h := sha256.Sum256([]byte(id))
	return &lacop.Session{ID: id, SecretHash: h[:], UserID: user, AuthLevel: lacop.AuthLevelOneFactor,
		CreatedAt: base, LastActiveAt: base, ExpiresAt: base.Add(24 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}
}

// createMany stores n sessions of user with ids "<user>-<i>", several at a
// time.
func createMany(tb testing.TB, s *redis.SessionStore, user string, n int, base time.Time) {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if err := s.CreateSession(context.Background(), newSession(fmt.Sprint(user, "-", i), user, base)); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatalf("CreateSession: %v", err)
	default:
	}
}

// rawClient is a plain go-redis client on url, to look at keys directly.
func rawClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestDeleteUserSessionsMany(t *testing.T) {
	const n = 10000
	url, prefix := redistest.New(t)
	s := redis.NewSessionStore(open(t, url, prefix))
	base := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	createMany(t, s, "ann", n, base)
	createMany(t, s, "bob", 3, base)

	start := time.Now()
	ended, err := s.DeleteUserSessions(t.Context(), "ann", "ann-4242")
	elapsed := time.Since(start)
	if err != nil || len(ended) != n-1 {
		t.Fatalf("DeleteUserSessions(ann, keep one of %d) = %d sessions, %v; want %d", n, len(ended), err, n-1)
	}
	t.Logf("DeleteUserSessions ended %d sessions in %v", len(ended), elapsed)
	if elapsed > 2*time.Second {
		t.Errorf("DeleteUserSessions of %d sessions took %v; want well under a second (2s under -race)", n, elapsed)
	}
	seen := map[string]bool{}
	for _, sess := range ended {
		if sess.UserID != "ann" || sess.ID == "ann-4242" || seen[sess.ID] {
			t.Fatalf("ended session %s of %s: unexpected or repeated", sess.ID, sess.UserID)
		}
		seen[sess.ID] = true
	}
	for user, want := range map[string]int{"ann": 1, "bob": 3} {
		if list, err := s.UserSessions(t.Context(), user); err != nil || len(list) != want {
			t.Errorf("UserSessions(%s) = %d sessions, %v; want %d", user, len(list), err, want)
		}
	}
	if list, err := s.AllSessions(t.Context()); err != nil || len(list) != 4 {
		t.Errorf("AllSessions() = %d sessions, %v; want 4", len(list), err)
	}
}

// TestSafetyTTL: session keys expire by themselves an hour after the
// session ends, and a session already past its end by the caller's clock
// still waits for the sweeper, which returns it.
func TestSafetyTTL(t *testing.T) {
	url, prefix := redistest.New(t)
	s := redis.NewSessionStore(open(t, url, prefix))
	rdb := rawClient(t, url)
	ctx := t.Context()
	now := time.Now()

	live := newSession("live", "ann", now)
	must(t, s.CreateSession(ctx, live))
	at, err := rdb.PExpireTime(ctx, prefix+"{lacop}:s:live").Result()
	if want := live.ExpiresAt.Add(time.Hour).Truncate(time.Millisecond); err != nil || !time.UnixMilli(at.Milliseconds()).Equal(want) {
		t.Errorf("PEXPIRETIME of a session key = %v, %v; want %v (its end + 1h)", time.UnixMilli(at.Milliseconds()), err, want)
	}
	for _, k := range []string{"sh:" + fmt.Sprintf("%x", live.SecretHash), "u:ann"} {
		if ttl, err := rdb.PTTL(ctx, prefix+"{lacop}:"+k).Result(); err != nil || ttl < 24*time.Hour {
			t.Errorf("PTTL(%s) = %v, %v; want past the session's end", k, ttl, err)
		}
	}

	past := newSession("past", "ann", now.Add(-48*time.Hour))
	must(t, s.CreateSession(ctx, past))
	if _, err := s.SessionByID(ctx, "past"); err != nil {
		t.Fatalf("SessionByID(past) before the sweep: %v; want the session, kept for the sweeper", err)
	}
	ended, err := s.DeleteExpiredSessions(ctx, now, now.Add(-time.Hour))
	if err != nil || len(ended) != 1 || ended[0].ID != "past" {
		t.Errorf("DeleteExpiredSessions = %v, %v; want [past]", ended, err)
	}

	tokens := redis.NewTokenStore(open(t, url, prefix), nopRecords{})
	must(t, tokens.DenyAccessToken(ctx, "j-past", now.Add(-time.Minute)))
	if denied, err := tokens.AccessTokenDenied(ctx, "j-past", now.Add(-2*time.Minute)); err != nil || !denied {
		t.Errorf("AccessTokenDenied of a token denied until a time already past by Redis's clock = %v, %v; want true", denied, err)
	}
}

// TestKeys: every key is under prefix + "{lacop}:", and nothing is left
// once everything is ended and pruned.
func TestKeys(t *testing.T) {
	url, prefix := redistest.New(t)
	c := open(t, url, prefix)
	ctx := t.Context()
	base := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	sessions := redis.NewSessionStore(c)
	tokens := redis.NewTokenStore(c, nopRecords{})
	reg := redis.NewRegulationStore(c)
	createMany(t, sessions, "ann", 10, base)
	remember := newSession("bob-1", "bob", base)
	remember.RememberMe = true
	must(t, sessions.CreateSession(ctx, remember))
	must(t, sessions.TouchSession(ctx, "ann-1", base.Add(time.Minute)))
	must(t, sessions.RotateSessionSecret(ctx, "ann-2", []byte("new secret")))
	for i := range 10 {
		must(t, tokens.RecordAccessToken(ctx, fmt.Sprint("j", i), fmt.Sprint("ann-", i), "ann", base.Add(15*time.Minute)))
	}
	must(t, tokens.RecordAccessToken(ctx, "jb", "bob-1", "bob", base.Add(15*time.Minute)))
	must(t, tokens.DenySessionAccessTokens(ctx, base, "ann-1", "ann-2"))
	must(t, tokens.DenyAccessToken(ctx, "jx", base.Add(time.Hour)))
	must(t, reg.RecordFailure(ctx, base, "account:ann", "ip:192.0.2.1"))
	must(t, reg.Ban(ctx, "ip:192.0.2.1", base.Add(time.Hour)))

	rdb := rawClient(t, url)
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"{lacop}:") {
			t.Errorf("key %q is not under %q", k, prefix+"{lacop}:")
		}
	}

	_, err = sessions.DeleteUserSessions(ctx, "ann", "")
	must(t, err)
	_, err = sessions.DeleteExpiredSessions(ctx, base.Add(48*time.Hour), base)
	must(t, err)
	must(t, tokens.DenyUserAccessTokens(ctx, "ann", base))
	must(t, tokens.PruneTokens(ctx, base.Add(48*time.Hour)))
	must(t, reg.PruneRegulation(ctx, base.Add(48*time.Hour)))
	if keys, err := rdb.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys left after ending and pruning everything: %q, %v", keys, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// nopRecords is a TokenStore that keeps nothing, for tests of the Redis
// half alone.
type nopRecords struct{ lacop.TokenStore }

func (nopRecords) RecordAccessToken(context.Context, string, string, string, time.Time) error {
	return nil
}
func (nopRecords) DenyAccessToken(context.Context, string, time.Time) error            { return nil }
func (nopRecords) DenySessionAccessTokens(context.Context, time.Time, ...string) error { return nil }
func (nopRecords) DenyUserAccessTokens(context.Context, string, time.Time) error       { return nil }
func (nopRecords) PruneTokens(context.Context, time.Time) error                        { return nil }
