package web

import (
	"sync"
	"time"
)

// guessLimiter throttles clients that keep presenting session cookies that
// name no session: a secret has 256 bits, so nobody guesses one, but a flood
// of tries costs store lookups and hides real traffic. Counts are per client
// address, kept in memory: each instance protects its own store lookups.
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
}

// maxTracked bounds the memory an attacker with many addresses can make
// the limiter use.
const maxTracked = 100_000

func newGuessLimiter(limit int, window time.Duration, now func() time.Time) *guessLimiter {
	return &guessLimiter{limit: limit, window: window, now: now, counts: map[string]*guesses{}}
}

// blocked reports whether ip is banned from presenting session cookies, and
// until when.
func (g *guessLimiter) blocked(ip string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts[ip]
	if c == nil || !g.now().Before(c.banned) {
		return time.Time{}, false
	}
	return c.banned, true
}

// miss counts an unknown cookie from ip and reports whether that banned it.
func (g *guessLimiter) miss(ip string) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts[ip]
	if c == nil || now.Sub(c.start) >= g.window {
		if c == nil && len(g.counts) >= maxTracked {
			g.prune(now)
		}
		c = &guesses{start: now, banned: bannedOrZero(c)}
		g.counts[ip] = c
	}
	c.n++
	if c.n >= g.limit && !now.Before(c.banned) {
		c.banned = now.Add(g.window)
		return true
	}
	return false
}

func bannedOrZero(c *guesses) time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.banned
}

// prune forgets addresses with no recent misses and no ban; if that frees
// nothing, it forgets everything rather than grow without bound.
func (g *guessLimiter) prune(now time.Time) {
	for ip, c := range g.counts {
		if now.Sub(c.start) >= g.window && !now.Before(c.banned) {
			delete(g.counts, ip)
		}
	}
	if len(g.counts) >= maxTracked {
		clear(g.counts)
	}
}
