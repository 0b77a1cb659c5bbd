package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/lacop/lacop"
	goredis "github.com/redis/go-redis/v9"
)

var _ lacop.RegulationStore = (*RegulationStore)(nil)

// RegulationStore keeps failed attempts and bans in Redis, shared by every
// instance. A key's failures are a sorted set scored by time, each member
// unique so that two failures at the same millisecond both count; bans are
// one sorted set scored by their end.
type RegulationStore struct {
	c *Client
	// Keep is the safety-net lifetime of a key's failures, counted from the
	// latest one: they expire by themselves if PruneRegulation never runs.
	// It must exceed the regulation window and ban.
	Keep time.Duration
}

// NewRegulationStore returns a RegulationStore on c.
func NewRegulationStore(c *Client) *RegulationStore {
	return &RegulationStore{c: c, Keep: 7 * 24 * time.Hour}
}

// recordFailureScript: KEYS rl:k, rl:f:<key>… ARGV at, member, keep (ms),
// key…. Members are unique per call and position, so a key named twice
// counts twice; rl:k keeps each key's oldest failure, for PruneRegulation.
var recordFailureScript = goredis.NewScript(luaNow + `
local at = math.max(tonumber(ARGV[1]), rnow()) + tonumber(ARGV[3])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2] .. ':' .. i)
  redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[i + 2])
  expireNoSooner(KEYS[i], at)
end
return 1
`)

// forgetFailureScript: KEYS rl:f:<key>. ARGV at. Removes one failure at
// exactly at.
var forgetFailureScript = goredis.NewScript(`
local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if m[1] then redis.call('ZREM', KEYS[1], m[1]) end
return 1
`)

// pruneRegulationScript: KEYS rl:k, rl:b. ARGV base, cutoff, limit. Drops
// failures and bans before the cutoff; returns 1 while there may be more.
var pruneRegulationScript = goredis.NewScript(`
local before = '(' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', before)
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', before, 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(keys) do
  local f = ARGV[1] .. 'rl:f:' .. key
  redis.call('ZREMRANGEBYSCORE', f, '-inf', before)
  local first = redis.call('ZRANGE', f, 0, 0, 'WITHSCORES')
  if first[2] then redis.call('ZADD', KEYS[1], first[2], key) else redis.call('ZREM', KEYS[1], key) end
end
if #keys == tonumber(ARGV[3]) then return 1 end
return 0
`)

func (s *RegulationStore) failures(key string) string { return s.c.base + "rl:f:" + key }

// RecordFailure implements lacop.RegulationStore.
func (s *RegulationStore) RecordFailure(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	var id [8]byte
	rand.Read(id[:])
	member := msArg(at) + ":" + hex.EncodeToString(id[:])
	rkeys := make([]string, 0, len(keys)+1)
	args := make([]any, 0, len(keys)+3)
	rkeys = append(rkeys, s.c.base+"rl:k")
	args = append(args, msArg(at), member, s.Keep.Milliseconds())
	for _, k := range keys {
		rkeys = append(rkeys, s.failures(k))
		args = append(args, k)
	}
	if err := recordFailureScript.Run(ctx, s.c.rdb, rkeys, args...).Err(); err != nil {
		return fmt.Errorf("redis: record failure: %w", err)
	}
	return nil
}

// CountFailures implements lacop.RegulationStore.
func (s *RegulationStore) CountFailures(ctx context.Context, key string, since time.Time) (int, error) {
	n, err := s.c.rdb.ZCount(ctx, s.failures(key), msArg(since), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis: count failures: %w", err)
	}
	return int(n), nil
}

// ClearFailures implements lacop.RegulationStore.
func (s *RegulationStore) ClearFailures(ctx context.Context, key string) error {
	_, err := s.c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, s.failures(key))
		p.ZRem(ctx, s.c.base+"rl:k", key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: clear failures: %w", err)
	}
	return nil
}

// ForgetFailure implements lacop.RegulationStore.
func (s *RegulationStore) ForgetFailure(ctx context.Context, key string, at time.Time) error {
	if err := forgetFailureScript.Run(ctx, s.c.rdb, []string{s.failures(key)}, msArg(at)).Err(); err != nil {
		return fmt.Errorf("redis: forget failure: %w", err)
	}
	return nil
}

// Ban implements lacop.RegulationStore. ZADD GT keeps a later ban in one
// command.
func (s *RegulationStore) Ban(ctx context.Context, key string, until time.Time) error {
	err := s.c.rdb.ZAddGT(ctx, s.c.base+"rl:b", goredis.Z{Score: float64(ms(until)), Member: key}).Err()
	if err != nil {
		return fmt.Errorf("redis: ban: %w", err)
	}
	return nil
}

// BannedUntil implements lacop.RegulationStore.
func (s *RegulationStore) BannedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	end, err := s.banEnd(ctx, "banned until", key)
	if err != nil || ms(end) <= ms(now) {
		return time.Time{}, err
	}
	return end, nil
}

// BanEnd implements lacop.RegulationStore.
func (s *RegulationStore) BanEnd(ctx context.Context, key string) (time.Time, error) {
	return s.banEnd(ctx, "ban end", key)
}

func (s *RegulationStore) banEnd(ctx context.Context, op, key string) (time.Time, error) {
	score, err := s.c.rdb.ZScore(ctx, s.c.base+"rl:b", key).Result()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	return fromMS(int64(math.Round(score))), nil
}

// Bans implements lacop.RegulationStore.
func (s *RegulationStore) Bans(ctx context.Context, now time.Time) ([]lacop.Ban, error) {
	zs, err := s.c.rdb.ZRevRangeByScoreWithScores(ctx, s.c.base+"rl:b", &goredis.ZRangeBy{
		Min: "(" + msArg(now), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: bans: %w", err)
	}
	bans := make([]lacop.Ban, 0, len(zs))
	for _, z := range zs {
		key, _ := z.Member.(string)
		bans = append(bans, lacop.Ban{Key: key, Until: fromMS(int64(math.Round(z.Score)))})
	}
	return bans, nil
}

// LiftBan implements lacop.RegulationStore. ZADD XX LT moves the ban's end
// to now only if it was later, in one command.
func (s *RegulationStore) LiftBan(ctx context.Context, key string, now time.Time) (bool, error) {
	n, err := s.c.rdb.ZAddArgs(ctx, s.c.base+"rl:b", goredis.ZAddArgs{XX: true, LT: true, Ch: true,
		Members: []goredis.Z{{Score: float64(ms(now)), Member: key}}}).Result()
	if err != nil {
		return false, fmt.Errorf("redis: lift ban: %w", err)
	}
	return n > 0, nil
}

// PruneRegulation implements lacop.RegulationStore.
func (s *RegulationStore) PruneRegulation(ctx context.Context, cutoff time.Time) error {
	keys := []string{s.c.base + "rl:k", s.c.base + "rl:b"}
	for {
		more, err := pruneRegulationScript.Run(ctx, s.c.rdb, keys, s.c.base, msArg(cutoff), strconv.Itoa(batch)).Int()
		if err != nil {
			return fmt.Errorf("redis: prune regulation: %w", err)
		}
		if more == 0 {
			return nil
		}
	}
}
