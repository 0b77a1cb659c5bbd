package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
)

// TestDenyMany: denying more sessions, or more of a user's tokens, than
// one script handles still denies them all.
func TestDenyMany(t *testing.T) {
	url, prefix := redistest.New(t)
	tokens := redis.NewTokenStore(open(t, url, prefix), nopRecords{})
	ctx := t.Context()
	base := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	const sessions, perSession = 450, 6 // 2,700 tokens: past one batch
	var ids []string
	for i := range sessions {
		ids = append(ids, fmt.Sprint("s", i))
		for j := range perSession {
			exp := base.Add(15 * time.Minute)
			if j == 0 {
				exp = base.Add(-time.Second) // already expired: never denied
			}
			must(t, tokens.RecordAccessToken(ctx, fmt.Sprint("j", i, "-", j), ids[i], fmt.Sprint("u", i%2), exp))
		}
	}
	must(t, tokens.DenyUserAccessTokens(ctx, "u1", base)) // 1,350 tokens
	must(t, tokens.DenySessionAccessTokens(ctx, base, ids[:300]...))
	for i := range sessions {
		for j := range perSession {
			want := j != 0 && (i < 300 || i%2 == 1)
			if got, err := tokens.AccessTokenDenied(ctx, fmt.Sprint("j", i, "-", j), base); err != nil || got != want {
				t.Fatalf("AccessTokenDenied(j%d-%d) = %v, %v; want %v", i, j, got, err, want)
			}
		}
	}
}
