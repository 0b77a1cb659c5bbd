package redis_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
	"github.com/lacop/lacop/sqlite"
	"github.com/lacop/lacop/storetest"
)

// open connects to url under prefix and closes the client when the test
// ends.
func open(t testing.TB, url, prefix string) *redis.Client {
	t.Helper()
	c, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openSQLite opens a fresh SQLite database in t.TempDir().
func openSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lacop.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// stores is the Redis deployment: sessions, regulation and the denylist in
// Redis, everything else (and the token records) in SQLite.
func stores(c *redis.Client, db *sqlite.DB) storetest.Stores {
	return storetest.Stores{
		Users:    sqlite.NewUserStore(db),
		Sessions: redis.NewSessionStore(c),
		Audit:    sqlite.NewAuditStore(db),
		Setup:    sqlite.NewSetupStore(db),

		SecondFactor: sqlite.NewSecondFactorStore(db),
		Regulation:   redis.NewRegulationStore(c),
		Tokens:       redis.NewTokenStore(c, sqlite.NewTokenStore(db)),
		Keys:         sqlite.NewKeyStore(db),
		Apps:         sqlite.NewAppStore(db),
		CacheLeases:  redis.NewCacheLeases(c),
	}
}

func TestStores(t *testing.T) {
	redistest.URL(t) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		url, prefix := redistest.New(t)
		return stores(open(t, url, prefix), openSQLite(t))
	})
}

func TestOpenUnreachable(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	start := time.Now()
	c, err := redis.Open(t.Context(), "redis://lacop:"+secret+"@127.0.0.1:1/0", "x:")
	elapsed := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("Open(127.0.0.1:1) succeeded; want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) {
		t.Errorf("Open error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "cannot reach") {
		t.Errorf("Open error = %q; want it to name the address and say Redis cannot be reached", msg)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Open(unreachable) took %v; want under 3s", elapsed)
	}
	t.Logf("Open(unreachable) failed in %v: %v", elapsed, err)
}

func TestOpenBadURL(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, url := range []string{
		"http://lacop:" + secret + "@h:6379",
		"redis://lacop:" + secret + "@h:6379/x",
		"redis://lacop:" + secret + "@h:99999/0",
		"redis://lacop:" + secret + "@h:6379/0?bogus=1",
		"redis://lacop:%zz" + secret + "@h:6379/0",
		"redis://h:6379/0?password=" + secret + "&bogus=1",
		"redis://h:6379/0?bogus=" + secret,
	} {
		_, err := redis.Open(t.Context(), url, "x:")
		if err == nil {
			t.Errorf("Open(%q) succeeded; want an error", url)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q) error shows the password: %v", url, err)
		}
	}
}
