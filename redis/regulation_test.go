package redis_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
)

// TestRegulationConcurrent: failures at the same millisecond all count,
// even of one key named twice, and concurrent withdrawals take back one
// each.
func TestRegulationConcurrent(t *testing.T) {
	url, prefix := redistest.New(t)
	s := redis.NewRegulationStore(open(t, url, prefix))
	ctx := t.Context()
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { must(t, s.RecordFailure(ctx, at, "ip:192.0.2.1", "ip:192.0.2.1")) })
	}
	wg.Wait()
	if got, err := s.CountFailures(ctx, "ip:192.0.2.1", at); err != nil || got != 2*n {
		t.Fatalf("CountFailures after %d concurrent double failures = %d, %v; want %d", n, got, err, 2*n)
	}
	for range n {
		wg.Go(func() { must(t, s.ForgetFailure(ctx, "ip:192.0.2.1", at)) })
	}
	wg.Wait()
	if got, err := s.CountFailures(ctx, "ip:192.0.2.1", at); err != nil || got != n {
		t.Errorf("CountFailures after %d concurrent withdrawals = %d, %v; want %d", n, got, err, n)
	}
}
