package sessioncache_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/sessioncache"
	"github.com/lacop/lacop/sqlite"
	"github.com/lacop/lacop/storetest"
)

func openDB(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wrapped is every store of db, with the cached ones wrapped in c.
func wrapped(c *sessioncache.Cache, db *sqlite.DB) storetest.Stores {
	return storetest.Stores{
		Users: c.Users(sqlite.NewUserStore(db)), Sessions: c.Sessions(sqlite.NewSessionStore(db)),
		Audit: sqlite.NewAuditStore(db), Setup: sqlite.NewSetupStore(db),
		SecondFactor: c.SecondFactors(sqlite.NewSecondFactorStore(db)), Regulation: sqlite.NewRegulationStore(db),
		Tokens: c.Tokens(sqlite.NewTokenStore(db)), Keys: sqlite.NewKeyStore(db),
		Apps: sqlite.NewAppStore(db),
	}
}

// TestContract: the wrapped stores still meet every store contract.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return wrapped(sessioncache.New(&sessioncache.LocalEpoch{}, sessioncache.DefaultSize), openDB(t, filepath.Join(t.TempDir(), "lacop.db")))
	})
}

var t0 = time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture stores a user and a session through st.
func fixture(t *testing.T, st storetest.Stores) (*lacop.User, *lacop.Session) {
	t.Helper()
	u := &lacop.User{ID: "u1", Email: "u1@example.com", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Groups: []string{"dev"}}
	if err := st.Users.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s := &lacop.Session{ID: "s1", SecretHash: bytes.Repeat([]byte{1}, 32), UserID: "u1", AuthLevel: 1,
		CreatedAt: t0, LastActiveAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st.Sessions.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return u, s
}

// TestOtherProcessEndsSession is the reason for the shared epoch: two
// "processes" (two databases on one file, two caches on one epoch file);
// once the second has ended the session or changed the user, the first
// never serves its cached copy again.
func TestOtherProcessEndsSession(t *testing.T) {
	dir := t.TempDir()
	epochA, err := sessioncache.OpenFileEpoch(filepath.Join(dir, "epoch"))
	if err != nil {
		t.Fatal(err)
	}
	defer epochA.Close()
	epochB, err := sessioncache.OpenFileEpoch(filepath.Join(dir, "epoch"))
	if err != nil {
		t.Fatal(err)
	}
	defer epochB.Close()
	a := wrapped(sessioncache.New(epochA, 10), openDB(t, filepath.Join(dir, "lacop.db")))
	b := wrapped(sessioncache.New(epochB, 10), openDB(t, filepath.Join(dir, "lacop.db")))
	ctx := t.Context()
	_, sess := fixture(t, a)

	tests := []struct {
		name   string
		change func() error
		check  func() error // must fail, or see the change, after it
	}{
		{"disable the user", func() error { return b.Users.SetDisabled(ctx, "u1", true) }, func() error {
			u, err := a.Users.UserByID(ctx, "u1")
			if err == nil && !u.Disabled {
				return errorf("user still enabled in the cache")
			}
			return nil
		}},
		{"raise the session", func() error { return b.Sessions.RaiseSession(ctx, "s1", 2, bytes.Repeat([]byte{2}, 32)) }, func() error {
			if _, err := a.Sessions.SessionByHash(ctx, sess.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
				return errorf("old secret hash still found: %v", err)
			}
			return nil
		}},
		{"deny a token", func() error { return b.Tokens.DenyAccessToken(ctx, "jti-1", t0.Add(time.Hour)) }, func() error {
			if denied, err := a.Tokens.AccessTokenDenied(ctx, "jti-1", t0); err != nil || !denied {
				return errorf("denied token not seen as denied: %v, %v", denied, err)
			}
			return nil
		}},
		{"end the session", func() error { _, err := b.Sessions.DeleteSession(ctx, "s1"); return err }, func() error {
			if _, err := a.Sessions.SessionByHash(ctx, bytes.Repeat([]byte{2}, 32)); lacop.ErrorCode(err) != lacop.ENOTFOUND {
				return errorf("ended session still found: %v", err)
			}
			if _, err := a.Sessions.SessionByID(ctx, "s1"); lacop.ErrorCode(err) != lacop.ENOTFOUND {
				return errorf("ended session still found by id: %v", err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		// Warm A's cache, change through B, and A must see it at once.
		a.Users.UserByID(ctx, "u1")
		a.Sessions.SessionByHash(ctx, sess.SecretHash)
		a.Sessions.SessionByHash(ctx, bytes.Repeat([]byte{2}, 32))
		a.Sessions.SessionByID(ctx, "s1")
		a.Tokens.AccessTokenDenied(ctx, "jti-1", t0)
		if err := tt.change(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := tt.check(); err != nil {
			t.Errorf("after %s in another process: %v", tt.name, err)
		}
	}
}

// TestServesFromMemory: with nothing changed, repeated reads do not reach
// the store (shown by closing it), and a touch updates the cached copy.
func TestServesFromMemory(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "lacop.db"))
	c := sessioncache.New(&sessioncache.LocalEpoch{}, 10)
	st := wrapped(c, db)
	_, sess := fixture(t, st)
	ctx := t.Context()
	if _, err := st.Sessions.SessionByHash(ctx, sess.SecretHash); err != nil {
		t.Fatal(err)
	}
	if err := st.Sessions.TouchSession(ctx, "s1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := st.Sessions.SessionByHash(ctx, sess.SecretHash)
	if err != nil || !got.LastActiveAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after a touch: %+v, %v; want LastActiveAt %v", got, err, t0.Add(time.Minute))
	}
	got.AuthLevel = 99 // callers may change their copy
	if again, _ := st.Sessions.SessionByHash(ctx, sess.SecretHash); again.AuthLevel != 1 {
		t.Errorf("a caller's change reached the cache: AuthLevel %d", again.AuthLevel)
	}
}

// TestFailingStoreBypassesCache: once the store fails, nothing is served
// from memory: a store that cannot answer means no.
func TestFailingStoreBypassesCache(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	c := sessioncache.New(&sessioncache.LocalEpoch{}, 10)
	st := wrapped(c, db)
	_, sess := fixture(t, st)
	ctx := t.Context()
	if _, err := st.Sessions.SessionByHash(ctx, sess.SecretHash); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Users.UserByID(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The next store call fails (here the activity touch); from then on
	// the cached copies are not served.
	if err := st.Sessions.TouchSession(ctx, "s1", t0.Add(time.Hour)); err == nil {
		t.Fatal("touch on a closed store succeeded")
	}
	if _, err := st.Sessions.SessionByHash(ctx, sess.SecretHash); err == nil || lacop.ErrorCode(err) == lacop.ENOTFOUND {
		t.Errorf("session read with the store down: %v; want a store error", err)
	}
	if _, err := st.Users.UserByID(ctx, "u1"); err == nil {
		t.Error("user read with the store down succeeded")
	}
}

var errorf = fmt.Errorf
