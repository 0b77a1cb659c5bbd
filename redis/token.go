package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lacop/lacop"
	goredis "github.com/redis/go-redis/v9"
)

var _ lacop.TokenStore = (*TokenStore)(nil)

// TokenStore puts the access-token denylist in Redis, so that the check on
// every bearer request is one GET, and leaves refresh tokens to the SQL
// store it wraps.
//
// Access tokens are recorded twice: in records, and in an index in Redis
// (per session, per user) that the Deny calls read, so Redis never has to
// ask the SQL store which tokens a session holds. Every denial is also
// written through to records, whose denylist thus stays complete should a
// deployment go back to SQL alone.
type TokenStore struct {
	// The SQL store serves refresh tokens as it is; the methods below
	// add Redis to recording and denying access tokens.
	lacop.TokenStore
	c *Client
}

// NewTokenStore returns a TokenStore on c that keeps refresh tokens and
// access-token records in records (a SQL TokenStore).
func NewTokenStore(c *Client, records lacop.TokenStore) *TokenStore {
	return &TokenStore{TokenStore: records, c: c}
}

// sessionsPerScript bounds the sessions one denying script looks at.
const sessionsPerScript = 200

// RecordAccessToken implements lacop.TokenStore.
func (s *TokenStore) RecordAccessToken(ctx context.Context, jti, sessionID, userID string, expiresAt time.Time) error {
	b := s.c.base
	keys := []string{b + "at:s:" + sessionID, b + "at:u:" + userID, b + "atx", b + "atr"}
	owner := strconv.Itoa(len(sessionID)) + ":" + sessionID + userID
	if err := recordScript.Run(ctx, s.c.rdb, keys, b, msArg(expiresAt), jti, owner).Err(); err != nil {
		return fmt.Errorf("redis: record access token: %w", err)
	}
	return s.TokenStore.RecordAccessToken(ctx, jti, sessionID, userID, expiresAt)
}

// DenyAccessToken implements lacop.TokenStore.
func (s *TokenStore) DenyAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	keys := []string{s.c.base + "deny:" + jti, s.c.base + "dx"}
	if err := denyScript.Run(ctx, s.c.rdb, keys, s.c.base, msArg(expiresAt), jti).Err(); err != nil {
		return fmt.Errorf("redis: deny access token: %w", err)
	}
	return s.TokenStore.DenyAccessToken(ctx, jti, expiresAt)
}

// DenySessionAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenySessionAccessTokens(ctx context.Context, now time.Time, sessionIDs ...string) error {
	for chunk := range slices.Chunk(sessionIDs, sessionsPerScript) {
		keys := make([]string, 0, len(chunk)+1)
		keys = append(keys, s.c.base+"dx")
		for _, id := range chunk {
			keys = append(keys, s.c.base+"at:s:"+id)
		}
		if err := denySessionsScript.Run(ctx, s.c.rdb, keys, s.c.base, msArg(now)).Err(); err != nil {
			return fmt.Errorf("redis: deny session access tokens: %w", err)
		}
	}
	if len(sessionIDs) == 0 {
		return nil
	}
	return s.TokenStore.DenySessionAccessTokens(ctx, now, sessionIDs...)
}

// DenyUserAccessTokens implements lacop.TokenStore.
func (s *TokenStore) DenyUserAccessTokens(ctx context.Context, userID string, now time.Time) error {
	keys := []string{s.c.base + "at:u:" + userID, s.c.base + "dx"}
	for {
		n, err := denyUserScript.Run(ctx, s.c.rdb, keys, s.c.base, msArg(now), batch).Int()
		if err != nil {
			return fmt.Errorf("redis: deny user access tokens: %w", err)
		}
		if n < batch {
			break
		}
	}
	return s.TokenStore.DenyUserAccessTokens(ctx, userID, now)
}

// AccessTokenDenied implements lacop.TokenStore: one GET, and a token whose
// entry is missing is not denied. An error (Redis unreachable) is never
// read as "not denied".
func (s *TokenStore) AccessTokenDenied(ctx context.Context, jti string, now time.Time) (bool, error) {
	v, err := s.c.rdb.Get(ctx, s.c.base+"deny:"+jti).Result()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("redis: access token denied: %w", err)
	}
	exp, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false, fmt.Errorf("redis: access token denied: %w", err)
	}
	return exp > ms(now), nil
}

// PruneTokens implements lacop.TokenStore. Denylist keys also expire by
// themselves (an hour after the token does); pruning drops them at the
// caller's now, along with the index entries of expired records.
func (s *TokenStore) PruneTokens(ctx context.Context, now time.Time) error {
	b := s.c.base
	keys := []string{b + "atx", b + "atr", b + "dx"}
	for {
		more, err := pruneTokensScript.Run(ctx, s.c.rdb, keys, b, msArg(now), batch).Int()
		if err != nil {
			return fmt.Errorf("redis: prune tokens: %w", err)
		}
		if more == 0 {
			break
		}
	}
	return s.TokenStore.PruneTokens(ctx, now)
}
