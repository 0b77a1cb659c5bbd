// Package redis keeps lacop's fast-changing state in Redis: sessions with
// their per-user index, the access-token denylist, regulation counters and
// the "session ended" bus. Users, audit, keys, refresh tokens and the
// access-token records stay in the SQL store; TokenStore passes those
// through to it.
//
// Every key is prefix + "{lacop}:" + a suffix. The one hash tag puts all of
// lacop's keys in one Cluster slot, so the Lua scripts that change several
// keys at once (a session, its secret, its user's index) run atomically on
// Redis Cluster too. On a Cluster, lacop therefore gets failover, not
// sharding: all its keys live on one primary and its replicas. The prefix
// lets several deployments, or tests, share one Redis.
//
// Key layout after prefix + "{lacop}:":
//
//	s:<id>        hash    one session (times as Unix milliseconds)
//	sh:<hex>      string  session id by hex SHA-256 of the cookie secret
//	u:<user>      zset    the user's session ids, scored by last activity
//	sx            zset    every session id, scored by ExpiresAt
//	si            zset    non-remember-me session ids, scored by last activity
//	deny:<jti>    string  the denied token's expiry (ms)
//	dx            zset    denied jtis by expiry, for PruneTokens
//	at:s:<sid>    zset    access tokens recorded for a session, by expiry
//	at:u:<user>   zset    access tokens recorded for a user, by expiry
//	atx           zset    every recorded jti by expiry, for PruneTokens
//	atr           hash    jti → its session and user, for PruneTokens
//	rl:f:<key>    zset    failed attempts, scored by time
//	rl:k          zset    regulation keys by their oldest failure
//	rl:b          zset    bans: key scored by the ban's end
//	session-ended         the pub/sub channel of SessionEnded events
//
// Semantics follow the caller's clock only. Redis's own clock is used for
// nothing but safety-net TTLs, set well after the caller's deadlines, so
// that keys do not outlive their use if no sweeper ever runs.
//
// The scripts use PEXPIRETIME and ZADD GT/LT: Redis 7.0 or later.
package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Timeouts that make an unreachable Redis fail a request quickly instead of
// holding it: the stores fail closed, so a fast error is a fast refusal.
const (
	dialTimeout  = 2 * time.Second
	ioTimeout    = time.Second
	openDeadline = 4 * time.Second
)

// safetyGrace is how long past a caller's deadline (or past Redis's now,
// whichever is later) a key is kept before Redis expires it on its own;
// graceMS is the same in milliseconds, for the scripts.
const (
	safetyGrace = time.Hour
	graceMS     = "3600000"
)

// batch bounds the entries one script handles, so that ending thousands of
// sessions never blocks Redis for more than a few milliseconds at a time.
const batch = 1000

// Client is a connection to Redis and the key prefix lacop's keys live
// under. It is safe for concurrent use.
type Client struct {
	rdb  goredis.UniversalClient
	base string // prefix + "{lacop}:"
}

// Open connects to the Redis at url and checks that it answers. url is
// redis://[user:pass@]host:port/db or rediss:// for TLS; several
// comma-separated hosts make a Cluster client, and ?master_name=NAME a
// Sentinel one (the hosts are then the sentinels). The error never shows
// the password.
func Open(ctx context.Context, url, prefix string) (*Client, error) {
	opts, redacted, err := parseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: open %s: %w", redacted, err)
	}
	c := New(goredis.NewUniversalClient(opts), prefix)
	ctx, cancel := context.WithTimeout(ctx, openDeadline)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: open %s: cannot reach Redis: %w", redacted, err)
	}
	return c, nil
}

// New wraps a client the caller configured. Close closes it.
func New(c goredis.UniversalClient, prefix string) *Client {
	return &Client{rdb: c, base: prefix + "{lacop}:"}
}

// Ping checks that Redis answers, for readiness checks.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// CheckConfig refuses a Redis that could give back what lacop removed.
// Without the append-only file, a Redis restarted after a crash reloads its
// last snapshot, and sessions ended since then are back with working
// cookies. With a memory limit and any policy but noeviction, Redis may
// evict a denylist entry or an index entry that "sign out everywhere"
// needs (every lacop key has a TTL, so the volatile-* policies evict them
// too). A Redis that does not allow CONFIG (some managed services) cannot
// be checked; then unchecked is true and the operator is trusted.
func (c *Client) CheckConfig(ctx context.Context) (unchecked bool, err error) {
	cfg, err := c.rdb.ConfigGet(ctx, "*").Result()
	if err != nil || cfg["appendonly"] == "" || cfg["maxmemory-policy"] == "" {
		return true, nil
	}
	var problems []string
	if cfg["appendonly"] != "yes" {
		problems = append(problems, "appendonly is no: after a crash Redis reloads its last snapshot and sessions ended since then work again; set appendonly yes")
	}
	if policy := cfg["maxmemory-policy"]; cfg["maxmemory"] != "0" && policy != "noeviction" {
		problems = append(problems, fmt.Sprintf("maxmemory-policy is %s with maxmemory %s: Redis may evict lacop's keys, "+
			"and an evicted denylist entry revives a revoked token; set maxmemory-policy noeviction (or maxmemory 0)", policy, cfg["maxmemory"]))
	}
	if len(problems) > 0 {
		return false, fmt.Errorf("redis: unsafe for sessions: %s", strings.Join(problems, "; "))
	}
	return false, nil
}

// Close closes the connections.
func (c *Client) Close() error {
	if err := c.rdb.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// channel is the pub/sub channel SessionEnded events travel on.
func (c *Client) channel() string { return c.base + "session-ended" }

// ms is a time as Unix milliseconds, the precision every store keeps.
func ms(t time.Time) int64 { return t.UnixMilli() }

// msArg is ms as a script argument.
func msArg(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// fromMS is the inverse of ms, in UTC like the SQL stores.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// LogTo sends go-redis's own messages (dial failures, pool trouble) to
// logger at debug level instead of its default, stderr. It is
// process-wide, as go-redis's logger is: call it once, from main. While
// Redis is away every refused request is logged already, as a 503.
func LogTo(logger *slog.Logger) { goredis.SetLogger(slogPrintf{logger}) }

type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	s.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
