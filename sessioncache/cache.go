// Package sessioncache keeps the sessions, users and access-token denylist
// answers read on every request in memory, so a forward-auth check costs
// no store read, and forgets all of them the moment any process ends a
// session, changes a user or denies a token.
//
// The guarantee is the one the stores give: a read returns every change
// whose call has returned, in any process sharing the Epoch. Each write
// through these wrappers bumps the epoch after the store has committed it
// and before it returns; each cached read is tagged with the epoch seen
// before the store was read, and is served only while the epoch is still
// that value. The wrappers implement every method explicitly, so a method
// added to a store interface does not compile until it is decided here
// whether it changes what is cached.
package sessioncache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lacop/lacop"
)

// DefaultSize bounds each cache; past it the cache starts over.
const DefaultSize = 100_000

// table is a bounded map of values tagged with the epoch they were read at.
type table[K comparable, V any] struct {
	mu   sync.RWMutex
	m    map[K]entry[V]
	size int
}

type entry[V any] struct {
	epoch uint64
	v     V
}

func newTable[K comparable, V any](size int) *table[K, V] {
	return &table[K, V]{m: make(map[K]entry[V]), size: size}
}

// get returns a copy of the value cached under k at epoch.
func (t *table[K, V]) get(k K, epoch uint64) (V, bool) {
	t.mu.RLock()
	e, ok := t.m[k]
	t.mu.RUnlock()
	if !ok || e.epoch != epoch {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (t *table[K, V]) put(k K, epoch uint64, v V) {
	t.mu.Lock()
	if len(t.m) >= t.size {
		clear(t.m)
	}
	t.m[k] = entry[V]{epoch: epoch, v: v}
	t.mu.Unlock()
}

// update changes a cached value in place (for this process's own activity
// touches, which change nothing a decision depends on), keeping its epoch.
func (t *table[K, V]) update(k K, f func(*V) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	if !ok {
		return
	}
	if f(&e.v) {
		t.m[k] = e
	} else {
		delete(t.m, k)
	}
}

// Cache holds the two tables and the epoch.
type Cache struct {
	epoch Epoch
	// failing is set when the store last failed: the cache is then
	// bypassed, so a store that cannot answer means "no", never a "yes"
	// from memory, until a read through succeeds again.
	failing  atomic.Bool
	sessions *table[string, lacop.Session] // by secret hash
	users    *table[string, lacop.User]    // by id
	// byID finds a cached session's hash for TouchSession.
	byID *table[string, string]
	// allowed holds access-token jtis found not denied.
	allowed *table[string, struct{}]

	// peers, when set, are the other instances sharing the stores: the
	// cache is served only while they let it be (Peers.Valid), and every
	// change waits until they have dropped what it changes.
	peers *Peers
	// fresh, when set, is the oldest a cached session's LastActiveAt may
	// be to be served: another instance may have recorded activity since,
	// and a stale copy must never make a live session look inactive.
	fresh time.Duration

	// stats count session look-ups by secret hash for the metrics. Every
	// check writes them from every core, so they live apart, padded, and
	// do not share a cache line with the fields every check reads.
	stats *lookupStats
}

// lookupStats are the hit and miss counts, alone on their cache lines.
type lookupStats struct {
	_            [64]byte
	hits, misses atomic.Uint64
	_            [64]byte
}

// Stats returns how many session look-ups by secret hash were served from
// memory and how many were read from the store.
func (c *Cache) Stats() (hits, misses uint64) { return c.stats.hits.Load(), c.stats.misses.Load() }

// New returns a cache of at most size sessions and size users.
func New(epoch Epoch, size int) *Cache {
	return &Cache{epoch: epoch, stats: &lookupStats{}, sessions: newTable[string, lacop.Session](size),
		users: newTable[string, lacop.User](size), byID: newTable[string, string](size),
		allowed: newTable[string, struct{}](size)}
}

// Shared returns a cache for one of several instances sharing the stores:
// served only while peers (NewPeers on the same epoch)
// hold a lease, and a session only while its recorded activity is younger
// than fresh (half the inactivity timeout is a good value: activity is
// recorded at most every tenth of it).
func Shared(epoch Epoch, size int, peers *Peers, fresh time.Duration) *Cache {
	c := New(epoch, size)
	c.peers, c.fresh = peers, fresh
	return c
}

// changed follows every write that may change what is cached: the epoch
// moves (nothing read before is served again), then the other instances
// are told and waited for. err is the write's own result, returned before
// any failure to tell them.
func (c *Cache) changed(ctx context.Context, err error) error {
	c.epoch.Bump()
	if c.peers == nil {
		return err
	}
	if perr := c.peers.Invalidate(ctx); err == nil {
		return perr
	}
	return err
}

// settle is what a read that found nothing returns: err, once no
// invalidation of this process is still owed to the other instances
// (Peers.Settle), else the failure to send it — never "gone" while another
// instance may still serve what is gone.
func (c *Cache) settle(ctx context.Context, err error) error {
	if c.peers == nil || lacop.ErrorCode(err) != lacop.ENOTFOUND {
		return err
	}
	if serr := c.peers.Settle(ctx); serr != nil {
		return serr
	}
	return err
}

// servable reports whether a cached session may be served at now (now is
// zero, and unused, without peers).
func (c *Cache) servable(s *lacop.Session, now time.Time) bool {
	return c.fresh == 0 || now.Sub(s.LastActiveAt) < c.fresh
}

// observe notes how a call to the store went. A failure that is not a
// domain answer (not found, conflict…) turns the cache off until a later
// call succeeds.
func (c *Cache) observe(err error) {
	switch _, domain := errors.AsType[*lacop.Error](err); {
	case err == nil || domain:
		c.failing.Store(false)
	default:
		c.failing.Store(true)
	}
}

// current returns the epoch to tag a read with, whether the cache may be
// used at all, and, with peers, the time it was judged at (one clock read
// for the lease and the session's freshness both).
func (c *Cache) current() (epoch uint64, usable bool, now time.Time) {
	epoch, usable = c.epoch.Load(), !c.failing.Load()
	if usable && c.peers != nil {
		now = time.Now()
		usable = c.peers.validAt(now)
	}
	return epoch, usable, now
}
