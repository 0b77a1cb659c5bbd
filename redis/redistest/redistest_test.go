package redistest_test

import (
	"context"
	"testing"

	"github.com/lacop/lacop/redis/redistest"
	goredis "github.com/redis/go-redis/v9"
)

func TestDeletePrefix(t *testing.T) {
	url, prefix := redistest.New(t)
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	odd := prefix + `a[b]*?\c:`
	for _, k := range []string{odd + "1", odd + "2", prefix + "a[b]x", prefix + "ab"} {
		if err := rdb.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := redistest.DeletePrefix(ctx, rdb, odd); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 2 {
		t.Errorf("keys left = %q, %v; want the two outside %q", keys, err, odd)
	}
}
