package sessioncache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/postgres/pgtest"
	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
	"github.com/lacop/lacop/sessioncache"
	"github.com/lacop/lacop/sqlite"
	"github.com/lacop/lacop/storetest"
)

// The coherence tests run "instances" in one process: each has its own
// cache and Peers, all share one SQLite file (standing in for the shared
// store) and one Redis for the leases and the bus, as serve does with
// PostgreSQL and Redis.

// freezable wraps a real lease store so that a test can freeze the
// instance behind it, as SIGSTOP would: while frozen, its renewals and
// acknowledgements wait and the messages it receives are not handled.
type freezable struct {
	lacop.CacheLeaseStore
	mu     sync.Mutex
	frozen chan struct{} // nil when running; closed to thaw
	// deaf drops every message received, as a subscription that lost
	// them would, while renewals go on.
	deaf atomic.Bool
	// unsent fails every Invalidate, as a store lost between a write's
	// commit and its invalidation would.
	unsent atomic.Bool
}

func (f *freezable) Invalidate(ctx context.Context, instance string) (uint64, []lacop.CacheLease, error) {
	if f.unsent.Load() {
		return 0, nil, errors.New("test: the invalidation cannot be sent")
	}
	return f.CacheLeaseStore.Invalidate(ctx, instance)
}

func (f *freezable) wait() {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *freezable) freeze() {
	f.mu.Lock()
	f.frozen = make(chan struct{})
	f.mu.Unlock()
}

func (f *freezable) thaw() {
	f.mu.Lock()
	close(f.frozen)
	f.frozen = nil
	f.mu.Unlock()
}

func (f *freezable) Lease(ctx context.Context, instance string, ttl time.Duration) (bool, uint64, error) {
	f.wait()
	return f.CacheLeaseStore.Lease(ctx, instance, ttl)
}

func (f *freezable) AckCache(ctx context.Context, instance string, seq uint64) error {
	f.wait()
	return f.CacheLeaseStore.AckCache(ctx, instance, seq)
}

func (f *freezable) ListenCache(ctx context.Context, listening func(), deliver func(lacop.CacheMessage)) error {
	return f.CacheLeaseStore.ListenCache(ctx, listening, func(m lacop.CacheMessage) {
		f.wait()
		if !f.deaf.Load() {
			deliver(m)
		}
	})
}

// instance is one lacop process's cache over the shared stores.
type instance struct {
	peers  *sessioncache.Peers
	stores storetest.Stores
	leases *freezable
	stop   func()
}

// leaseBackend opens a connection of its own to the shared lease store,
// as each instance has.
type leaseBackend func(t *testing.T) lacop.CacheLeaseStore

// eachBackend runs test with the leases in Redis and in PostgreSQL.
func eachBackend(t *testing.T, test func(t *testing.T, db *sqlite.DB, leases leaseBackend)) {
	t.Run("redis", func(t *testing.T) {
		url, prefix := redistest.New(t)
		test(t, sharedDB(t), func(t *testing.T) lacop.CacheLeaseStore {
			rc, err := redis.Open(t.Context(), url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rc.Close() })
			return redis.NewCacheLeases(rc)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		test(t, sharedDB(t), func(t *testing.T) lacop.CacheLeaseStore {
			pg, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pg.Close() })
			return postgres.NewCacheLeases(pg)
		})
	})
}

// newInstance starts an instance on db with leases of its own.
func newInstance(t *testing.T, db *sqlite.DB, open leaseBackend) *instance {
	t.Helper()
	leases := &freezable{CacheLeaseStore: open(t)}
	epoch := &sessioncache.LocalEpoch{}
	peers := sessioncache.NewPeers(leases, epoch, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	peers.TTL, peers.Renew, peers.Margin = time.Second, 200*time.Millisecond, 100*time.Millisecond
	c := sessioncache.Shared(epoch, sessioncache.DefaultSize, peers, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = peers.Run(ctx)
	}()
	in := &instance{peers: peers, stores: wrapped(c, db), leases: leases, stop: func() { cancel(); <-done }}
	t.Cleanup(in.stop)
	return in
}

// waitValid waits until every instance serves from its cache.
func waitValid(t *testing.T, ins ...*instance) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, in := range ins {
		for !in.peers.Valid() {
			if time.Now().After(deadline) {
				t.Fatal("an instance did not take its cache lease within 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func newSharedSession(t *testing.T, st storetest.Stores, id string) *lacop.Session {
	t.Helper()
	s := &lacop.Session{ID: id, SecretHash: bytes.Repeat([]byte(id[:1]), 32), UserID: "u1", AuthLevel: 1,
		CreatedAt: time.Now(), LastActiveAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.Sessions.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// cachedOnTwo starts two caching instances and a session made through the
// first and read (so cached) by the second.
func cachedOnTwo(t *testing.T, db *sqlite.DB, open leaseBackend, id string) (a, b *instance, s *lacop.Session) {
	t.Helper()
	a, b = newInstance(t, db, open), newInstance(t, db, open)
	waitValid(t, a, b)
	s = newSharedSession(t, a.stores, id)
	if _, err := b.stores.Sessions.SessionByHash(t.Context(), s.SecretHash); err != nil {
		t.Fatal(err)
	}
	return a, b, s
}

// sharedDB is the store the instances share, with one user.
func sharedDB(t *testing.T) *sqlite.DB {
	db := openDB(t, filepath.Join(t.TempDir(), "shared.db"))
	u := &lacop.User{ID: "u1", Email: "u1@example.com", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}
	if err := sqlite.NewUserStore(db).CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestPeersEndRefusedEverywhereAtOnce: a session cached by three
// instances, ended through one, is refused by every other on the very next
// read once the end has returned — 30 rounds, with readers hammering the
// others while the end runs.
func TestPeersEndRefusedEverywhereAtOnce(t *testing.T) {
	eachBackend(t, testPeersEndRefusedEverywhereAtOnce)
}

func testPeersEndRefusedEverywhereAtOnce(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a, b, c := newInstance(t, db, open), newInstance(t, db, open), newInstance(t, db, open)
	waitValid(t, a, b, c)
	ctx := t.Context()
	for round := range 30 {
		s := newSharedSession(t, a.stores, fmt.Sprintf("%c%d", 'a'+round%26, round))
		for _, in := range []*instance{a, b, c} {
			if _, err := in.stores.Sessions.SessionByHash(ctx, s.SecretHash); err != nil {
				t.Fatalf("round %d: read before the end: %v", round, err)
			}
		}
		var ended atomic.Bool
		var late atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, in := range []*instance{b, c} {
			for range 8 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						after := ended.Load() // taken before the read starts
						_, err := in.stores.Sessions.SessionByHash(ctx, s.SecretHash)
						if after && err == nil {
							late.Add(1)
						}
					}
				})
			}
		}
		time.Sleep(5 * time.Millisecond)
		if _, err := a.stores.Sessions.DeleteSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		ended.Store(true)
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := late.Load(); n > 0 {
			t.Fatalf("round %d: %d reads started after the end returned still found the session", round, n)
		}
	}
	if !b.peers.Valid() || !c.peers.Valid() {
		t.Error("the instances stopped caching during the rounds")
	}
	// The cache was really used: reads on b need no shared store.
	s := newSharedSession(t, a.stores, "zcached")
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.NewSessionStore(db).RotateSessionSecret(ctx, s.ID, bytes.Repeat([]byte{9}, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); err != nil {
		t.Errorf("b did not serve the session from its cache (a change behind its back, on purpose, was seen): %v", err)
	}
}

// TestPeersFrozenInstance: with one instance frozen, an end through
// another returns within about one lease length; the frozen instance
// stops serving from its cache when its lease runs out, and once thawed
// it refuses the ended session on its first read.
func TestPeersFrozenInstance(t *testing.T) { eachBackend(t, testPeersFrozenInstance) }

func testPeersFrozenInstance(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a, b, s := cachedOnTwo(t, db, open, "frozen")
	ctx := t.Context()
	b.leases.freeze()
	start := time.Now()
	if _, err := a.stores.Sessions.DeleteSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > b.peers.TTL+500*time.Millisecond {
		t.Errorf("the end took %v with a frozen instance; want at most about one lease (%v)", took, b.peers.TTL)
	}
	if b.peers.Valid() {
		t.Error("the frozen instance still trusts its lease after the end waited it out")
	}
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("frozen instance's read after the end = %v; want not found", err)
	}
	b.leases.thaw()
	waitValid(t, b)
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("thawed instance's first read = %v; want not found", err)
	}
	t.Logf("end with one instance frozen answered in %v (lease %v)", took, b.peers.TTL)
}

// TestPeersLostMessages: an instance that renews its lease but hears
// nothing (messages lost on the way) still refuses an ended session once
// the end has returned: its next renewal reads the invalidation's number,
// and the end waits out its lease.
func TestPeersLostMessages(t *testing.T) { eachBackend(t, testPeersLostMessages) }

func testPeersLostMessages(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a, b, s := cachedOnTwo(t, db, open, "deaf")
	ctx := t.Context()
	b.leases.deaf.Store(true)
	start := time.Now()
	if _, err := a.stores.Sessions.DeleteSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("deaf instance's read after the end (which took %v) = %v; want not found", took, err)
	}
	if !b.peers.Valid() {
		t.Error("the deaf instance stopped caching; its renewals should keep its lease")
	}
}

// TestPeersLostSubscription: an instance whose subscription is gone stops
// serving from its cache at once, and its lease lapses rather than hold
// ends up.
func TestPeersLostSubscription(t *testing.T) { eachBackend(t, testPeersLostSubscription) }

func testPeersLostSubscription(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a := newInstance(t, db, open)
	waitValid(t, a)
	a.stop()
	if a.peers.Valid() {
		t.Error("an instance that stopped listening still serves from its cache")
	}
	b := newInstance(t, db, open)
	waitValid(t, b)
	s := newSharedSession(t, b.stores, "lost")
	start := time.Now()
	if _, err := b.stores.Sessions.DeleteSession(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("an end waited %v for an instance that had given its lease back", took)
	}
}

// TestPeersCLIWaitsForAcks: a process that only writes (hold false) never
// serves from a cache, and its changes still reach the instances.
func TestPeersCLIWaitsForAcks(t *testing.T) { eachBackend(t, testPeersCLIWaitsForAcks) }

func testPeersCLIWaitsForAcks(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a := newInstance(t, db, open)
	waitValid(t, a)
	epoch := &sessioncache.LocalEpoch{}
	cli := sessioncache.NewPeers(open(t), epoch, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = cli.Run(ctx) }()
	if err := cli.WaitListening(ctx); err != nil {
		t.Fatal(err)
	}
	st := wrapped(sessioncache.Shared(epoch, 100, cli, time.Hour), db)
	s := newSharedSession(t, st, "cli")
	if _, err := a.stores.Sessions.SessionByHash(t.Context(), s.SecretHash); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if cli.Valid() {
		t.Error("a process that holds no lease says it may serve from a cache")
	}
	start := time.Now()
	if _, err := st.Sessions.DeleteSession(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("the CLI's end took %v; the instance's acknowledgement should answer it", took)
	}
	if _, err := a.stores.Sessions.SessionByHash(t.Context(), s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("instance read after the CLI's end = %v; want not found", err)
	}
}

// TestPeersUnsentInvalidation: a write that commits and then cannot tell
// the other instances answers an error, and until the invalidation it owes
// has gone out and been acknowledged this instance never answers "gone"
// for what it ended (a sign-out retried with the ended cookie would be
// answered as done while another instance still says yes).
func TestPeersUnsentInvalidation(t *testing.T) { eachBackend(t, testPeersUnsentInvalidation) }

func testPeersUnsentInvalidation(t *testing.T, db *sqlite.DB, open leaseBackend) {
	a, b, s := cachedOnTwo(t, db, open, "unsent")
	ctx := t.Context()
	a.leases.unsent.Store(true)
	if _, err := a.stores.Sessions.DeleteSession(ctx, s.ID); err == nil {
		t.Fatal("an end whose invalidation could not be sent answered success")
	}
	// The hazard is real: b was not told and still holds the session.
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); err != nil {
		t.Fatalf("b's read after the unsent end = %v; want the cached session (else this test tests nothing)", err)
	}
	for _, read := range []struct {
		name string
		do   func() error
	}{
		{"by secret", func() error { _, err := a.stores.Sessions.SessionByHash(ctx, s.SecretHash); return err }},
		{"by id", func() error { _, err := a.stores.Sessions.SessionByID(ctx, s.ID); return err }},
	} {
		if err := read.do(); err == nil || lacop.ErrorCode(err) == lacop.ENOTFOUND {
			t.Errorf("a's read %s while its invalidation is owed = %v; want an error other than not found", read.name, err)
		}
	}
	a.leases.unsent.Store(false)
	if _, err := a.stores.Sessions.SessionByHash(ctx, s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Fatalf("a's read once invalidations go out = %v; want not found", err)
	}
	if _, err := b.stores.Sessions.SessionByHash(ctx, s.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("b's read right after a answered \"gone\" = %v; want not found", err)
	}
	if _, err := a.stores.Sessions.SessionByID(ctx, "nothing-owed"); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("a read of an unknown id with nothing owed = %v; want not found", err)
	}
}
