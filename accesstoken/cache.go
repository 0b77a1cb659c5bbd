package accesstoken

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"
	"time"
)

// defaultCacheSize bounds the cache when Options.CacheSize is 0: at a few
// hundred bytes an entry, some tens of megabytes at most.
const defaultCacheSize = 65536

// cacheEntry is what a verified token is remembered by. The public key is
// kept, not only the kid, so a key replaced under the same ID does not keep
// vouching for tokens the new key never signed.
type cacheEntry struct {
	claims Claims
	kid    string
	public [ed25519.PublicKeySize]byte
}

// cache remembers verified tokens until they expire, so a token presented
// on every request has its signature checked once. Keys are SHA-256 of the
// token, so the memory held does not grow with token length and no token
// is kept whole.
type cache struct {
	max     int
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cacheEntry
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

// get returns the entry for key, if any. It checks nothing else: the
// caller decides whether the entry is still good.
func (c *cache) get(key [sha256.Size]byte) (cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	return e, ok
}

// drop forgets key, once its entry has gone bad.
func (c *cache) drop(key [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// put remembers a verified token. When the cache is full it first drops
// what has expired, then arbitrary entries (Go's map order is random) until
// at most half of it is left. Each sweep so frees at least half the cache,
// which keeps put O(1) amortised.
func (c *cache) put(key [sha256.Size]byte, e cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, old := range c.entries {
			if !now.Before(old.claims.ExpiresAt) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) <= c.max/2 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
}

// len reports the number of entries, for tests.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
