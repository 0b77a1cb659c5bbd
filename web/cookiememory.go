package web

import (
	"hash/maphash"
	"sync"
	"time"
)

// cookieMemory remembers the session cookies this process has handed out or
// seen live, and which of them have since been found dead. It answers, for
// free, the two questions the unknown-cookie ban cannot: is this cookie one
// a real client holds (so it must be looked up, ban or no ban), and is this
// a cookie of a session that ended (so it is no guess and needs no lookup:
// a session secret that once missed never names a session again).
//
// Only cookies that named a live session get in, so its size is bounded by
// the sessions people really have, not by what a flood sends. Entries are
// kept by a 128-bit keyed hash of the secret (never the secret; keyed with
// random seeds of this process, so nobody can aim at an entry), and
// forgotten after the session's absolute end.
type cookieMemory struct {
	now   func() time.Time
	seeds [2]maphash.Seed

	mu        sync.RWMutex
	m         map[cookieKey]remembered
	lastPrune time.Time
}

// cookieKey is two 64-bit hashes of a secret under independent random
// seeds: 128 bits, too long to hit by chance. It is computed on every
// request with a cookie, without allocating (SHA-256 here cost an
// allocation per request).
type cookieKey [2]uint64

type remembered struct {
	until time.Time // the session's absolute end
	dead  bool
}

// maxRemembered bounds the memory; past it, new cookies are not
// remembered (they are looked up like any unknown cookie).
const maxRemembered = 200_000

func newCookieMemory(now func() time.Time) *cookieMemory {
	return &cookieMemory{now: now, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, m: map[cookieKey]remembered{}}
}

// key is what secret is remembered by.
func (c *cookieMemory) key(secret string) cookieKey {
	return cookieKey{maphash.String(c.seeds[0], secret), maphash.String(c.seeds[1], secret)}
}

// state says whether k is remembered, and if so whether it is dead.
func (c *cookieMemory) state(k cookieKey) (known, dead bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.until) {
		return false, false
	}
	return true, e.dead
}

// live remembers k as a cookie of a live session that ends at until.
func (c *cookieMemory) live(k cookieKey, until time.Time) {
	now := c.now()
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= maxRemembered {
		c.prune(now)
		if len(c.m) >= maxRemembered {
			return
		}
	}
	c.m[k] = remembered{until: until}
}

// ended marks k, if remembered, as a cookie of a session that has ended.
func (c *cookieMemory) ended(k cookieKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.dead = true
		c.m[k] = e
	}
}

// prune forgets cookies past their session's end, at most once a minute, so
// a full memory does not cost a scan on every sign-in.
func (c *cookieMemory) prune(now time.Time) {
	if now.Sub(c.lastPrune) < time.Minute {
		return
	}
	c.lastPrune = now
	for k, e := range c.m {
		if !now.Before(e.until) {
			delete(c.m, k)
		}
	}
}
