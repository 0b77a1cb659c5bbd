package web

import (
	"sync"
	"time"
)

// guessLimiter throttles clients that keep presenting session cookies that
// name no session: a secret has 256 bits, so nobody guesses one, but a flood
// of tries costs store lookups and hides real traffic. Counts are per client
// (auth.AddressKey: an address, or an IPv6 /64), kept in memory: each
// instance protects its own store lookups.
//
// A ban never refuses a cookie outright: it only rations the store lookups
// of cookies this process has not seen live (see cookieMemory), to one per
// window/limit, the rate the limit allows anyway. A person behind a banned
// address whose cookie is known is looked up as always.
type guessLimiter struct {
	limit  int           // unknown cookies per window; the last of them bans
	window time.Duration // and the ban that follows
	now    func() time.Time

	mu     sync.Mutex
	counts map[string]*guesses
}

type guesses struct {
	start  time.Time // of the current window
	n      int
	banned time.Time // until
	// next is, during a ban, when the next lookup of an unknown cookie
	// may be made.
	next time.Time
}

// maxTracked bounds the memory an attacker with many addresses can make
// the limiter use.
const maxTracked = 100_000

func newGuessLimiter(limit int, window time.Duration, now func() time.Time) *guessLimiter {
	return &guessLimiter{limit: limit, window: window, now: now, counts: map[string]*guesses{}}
}

// spacing is the time between two lookups a banned client is allowed.
func (g *guessLimiter) spacing() time.Duration {
	return g.window / time.Duration(g.limit)
}

// admit reports whether an unknown cookie from client may be looked up
// now; if not, when to try again.
func (g *guessLimiter) admit(client string) (time.Time, bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts[client]
	if c == nil || !now.Before(c.banned) {
		return time.Time{}, true
	}
	if now.Before(c.next) {
		return c.next, false
	}
	c.next = now.Add(g.spacing())
	return time.Time{}, true
}

// miss counts an unknown cookie from client and reports whether that
// banned it.
func (g *guessLimiter) miss(client string) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts[client]
	if c == nil || now.Sub(c.start) >= g.window {
		if c == nil && len(g.counts) >= maxTracked {
			g.prune(now)
		}
		if c == nil {
			c = &guesses{}
			g.counts[client] = c
		}
		c.start, c.n = now, 0
	}
	c.n++
	if c.n >= g.limit && !now.Before(c.banned) {
		c.banned = now.Add(g.window)
		c.next = now.Add(g.spacing())
		return true
	}
	return false
}

// prune forgets clients with no recent misses and no ban; if that frees
// nothing, it forgets everything rather than grow without bound.
func (g *guessLimiter) prune(now time.Time) {
	for client, c := range g.counts {
		if now.Sub(c.start) >= g.window && !now.Before(c.banned) {
			delete(g.counts, client)
		}
	}
	if len(g.counts) >= maxTracked {
		clear(g.counts)
	}
}
