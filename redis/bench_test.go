package redis_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
)

func BenchmarkSessionByHash(b *testing.B) {
	url, prefix := redistest.New(b)
	s := redis.NewSessionStore(open(b, url, prefix))
	sess := newSession("s1", "ann", time.Now())
	must(b, s.CreateSession(b.Context(), sess))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SessionByHash(b.Context(), sess.SecretHash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccessTokenDenied(b *testing.B) {
	url, prefix := redistest.New(b)
	tokens := redis.NewTokenStore(open(b, url, prefix), nopRecords{})
	now := time.Now()
	must(b, tokens.DenyAccessToken(b.Context(), "denied", now.Add(time.Hour)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		jti := "denied"
		if i%2 == 1 {
			jti = "not-denied"
		}
		if _, err := tokens.AccessTokenDenied(b.Context(), jti, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeleteUserSessions10k(b *testing.B) {
	const n = 10000
	url, prefix := redistest.New(b)
	s := redis.NewSessionStore(open(b, url, prefix))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		user := fmt.Sprint("user", i)
		createMany(b, s, user, n, time.Now())
		b.StartTimer()
		ended, err := s.DeleteUserSessions(b.Context(), user, "")
		if err != nil || len(ended) != n {
			b.Fatalf("DeleteUserSessions = %d sessions, %v; want %d", len(ended), err, n)
		}
	}
}

// BenchmarkSessionFootprint reports what a session costs Redis's memory
// (the hash, the secret-hash key and three index entries), for sizing.
func BenchmarkSessionFootprint(b *testing.B) {
	const n = 10000
	url, prefix := redistest.New(b)
	s := redis.NewSessionStore(open(b, url, prefix))
	opts, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	admin := goredis.NewClient(opts)
	defer admin.Close()
	used := func() float64 {
		info, err := admin.InfoMap(b.Context(), "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		v, err := strconv.ParseFloat(info["Memory"]["used_memory"], 64)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	for i := 0; b.Loop(); i++ {
		before := used()
		createMany(b, s, fmt.Sprint("footprint", i), n, time.Now())
		b.ReportMetric((used()-before)/n, "redis-bytes/session")
	}
}
