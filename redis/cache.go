package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/lacop/lacop"
	goredis "github.com/redis/go-redis/v9"
)

var _ lacop.CacheLeaseStore = (*CacheLeases)(nil)

// CacheLeases keeps the instances' cache leases and carries invalidations
// and their acknowledgements, on Redis: the leases are one sorted set
// scored by expiry on Redis's clock, the invalidation counter one string,
// and the messages travel on one pub/sub channel. Lease and Invalidate are
// each one script, so Redis runs them one after the other, never
// interleaved: the atomicity the protocol rests on.
type CacheLeases struct{ c *Client }

// NewCacheLeases returns the lease store on c.
func NewCacheLeases(c *Client) *CacheLeases { return &CacheLeases{c: c} }

func (l *CacheLeases) keys() []string {
	return []string{l.c.base + "cache-leases", l.c.base + "cache-seq"}
}

func (l *CacheLeases) cacheChannel() string { return l.c.base + "cache" }

// leaseScript: KEYS cache-leases, cache-seq. ARGV instance, ttl ms.
// Returns {live 1/0, seq}.
var leaseScript = goredis.NewScript(luaNow + `
local now = rnow()
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
local live = 0
if cur and tonumber(cur) > now then live = 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {live, tonumber(redis.call('GET', KEYS[2]) or '0')}
`)

// invalidateScript: KEYS cache-leases, cache-seq. ARGV from, channel.
// Returns {seq, instance, ms left, instance, ms left, …}.
var invalidateScript = goredis.NewScript(luaNow + `
local now = rnow()
local seq = redis.call('INCR', KEYS[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
redis.call('PUBLISH', ARGV[2], 'i ' .. seq .. ' ' .. ARGV[1])
local out = {seq}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = tonumber(live[i + 1]) - now
end
return out
`)

// Lease implements lacop.CacheLeaseStore.
func (l *CacheLeases) Lease(ctx context.Context, instance string, ttl time.Duration) (bool, uint64, error) {
	reply, err := leaseScript.Run(ctx, l.c.rdb, l.keys(), instance, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis: cache lease: %w", err)
	}
	if len(reply) != 2 {
		return false, 0, fmt.Errorf("redis: cache lease: unexpected reply %v", reply)
	}
	return reply[0] == 1, uint64(reply[1]), nil
}

// ReleaseLease implements lacop.CacheLeaseStore.
func (l *CacheLeases) ReleaseLease(ctx context.Context, instance string) error {
	if err := l.c.rdb.ZRem(ctx, l.keys()[0], instance).Err(); err != nil {
		return fmt.Errorf("redis: release cache lease: %w", err)
	}
	return nil
}

// Invalidate implements lacop.CacheLeaseStore.
func (l *CacheLeases) Invalidate(ctx context.Context, from string) (uint64, []lacop.CacheLease, error) {
	reply, err := invalidateScript.Run(ctx, l.c.rdb, l.keys(), from, l.cacheChannel()).Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("redis: cache invalidate: %w", err)
	}
	if len(reply)%2 != 1 {
		return 0, nil, fmt.Errorf("redis: cache invalidate: unexpected reply of %d values", len(reply))
	}
	seq, ok := reply[0].(int64)
	if !ok {
		return 0, nil, fmt.Errorf("redis: cache invalidate: unexpected sequence %v", reply[0])
	}
	live := make([]lacop.CacheLease, 0, len(reply)/2)
	for i := 1; i < len(reply); i += 2 {
		inst, ok1 := reply[i].(string)
		left, ok2 := reply[i+1].(int64)
		if !ok1 || !ok2 {
			return 0, nil, fmt.Errorf("redis: cache invalidate: unexpected lease %v %v", reply[i], reply[i+1])
		}
		live = append(live, lacop.CacheLease{Instance: inst, Left: time.Duration(left) * time.Millisecond})
	}
	return uint64(seq), live, nil
}

// AckCache implements lacop.CacheLeaseStore.
func (l *CacheLeases) AckCache(ctx context.Context, instance string, seq uint64) error {
	msg := lacop.CacheMessage{Ack: true, Seq: seq, Instance: instance}.String()
	if err := l.c.rdb.Publish(ctx, l.cacheChannel(), msg).Err(); err != nil {
		return fmt.Errorf("redis: cache ack: %w", err)
	}
	return nil
}

// ListenCache implements lacop.CacheLeaseStore. A subscription silent for
// five seconds is pinged, and one whose ping goes unanswered as long again
// is taken for dead.
func (l *CacheLeases) ListenCache(ctx context.Context, listening func(), deliver func(lacop.CacheMessage)) error {
	err := l.c.listen(ctx, l.cacheChannel(), 5*time.Second, listening, func(payload string) {
		if m, ok := lacop.ParseCacheMessage(payload); ok {
			deliver(m)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("redis: cache listen: %w", err)
	}
	return err
}
