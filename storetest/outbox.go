package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testOutbox is the contract of lacop.OutboxStore: deliveries come back as
// written, a lease gives each due delivery to one sender at a time, a
// failed attempt waits for its next time, and a given-up delivery stays
// for admins until pruned.
func testOutbox(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	delivery := func(id string, created, next time.Time) *lacop.Delivery {
		return &lacop.Delivery{ID: id, Kind: "backchannel_logout", Key: "grafana",
			Payload: []byte("payload of " + id + "\x00\xff"), CreatedAt: created, NextAttemptAt: next}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t).Outbox
		must(t, "enqueue", s.EnqueueDeliveries(ctx, delivery("d2", base.Add(time.Second), base), delivery("d1", base, base)))
		list, err := s.Deliveries(ctx, lacop.DeliveryPending, 10)
		must(t, "list", err)
		if len(list) != 2 || list[0].ID != "d1" || list[1].ID != "d2" {
			t.Fatalf("Deliveries = %v; want d1, d2 (oldest first)", deliveryIDs(list))
		}
		d := list[0]
		if d.Kind != "backchannel_logout" || d.Key != "grafana" || !bytes.Equal(d.Payload, []byte("payload of d1\x00\xff")) ||
			d.State != lacop.DeliveryPending || d.Attempts != 0 || d.LastError != "" || !sameMS(d.CreatedAt, base) ||
			!sameMS(d.NextAttemptAt, base) || d.LeaseOwner != "" || !d.LeaseUntil.IsZero() {
			t.Errorf("delivery read back as %+v", d)
		}
		counts, err := s.CountDeliveries(ctx)
		must(t, "count", err)
		if counts[lacop.DeliveryPending] != 2 || counts[lacop.DeliveryFailed] != 0 {
			t.Errorf("CountDeliveries = %v; want 2 pending", counts)
		}
		if list, err := s.Deliveries(ctx, lacop.DeliveryPending, 1); err != nil || len(list) != 1 {
			t.Errorf("Deliveries(limit 1) = %d, %v; want 1", len(list), err)
		}
	})

	t.Run("EnqueueRefused", func(t *testing.T) {
		s := open(t).Outbox
		must(t, "enqueue", s.EnqueueDeliveries(ctx, delivery("d1", base, base)))
		wantCode(t, "duplicate id", s.EnqueueDeliveries(ctx, delivery("d1", base, base)), lacop.ECONFLICT)
		wantCode(t, "no kind", s.EnqueueDeliveries(ctx, delivery("d2", base, base), &lacop.Delivery{ID: "d3"}), lacop.EINVALID)
		list, err := s.Deliveries(ctx, lacop.DeliveryPending, 10)
		must(t, "list", err)
		if len(list) != 1 {
			t.Errorf("after refused enqueues: %v; want only d1 (a refused batch writes nothing)", deliveryIDs(list))
		}
		must(t, "enqueue nothing", s.EnqueueDeliveries(ctx))
	})

	t.Run("Claim", func(t *testing.T) {
		s := open(t).Outbox
		must(t, "enqueue", s.EnqueueDeliveries(ctx,
			delivery("due1", base, base.Add(-time.Minute)),
			delivery("due2", base, base),
			delivery("due3", base, base),
			delivery("later", base, base.Add(time.Minute))))
		got, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "a", Now: base, Lease: 30 * time.Second, Limit: 2})
		must(t, "claim", err)
		if len(got) != 2 || got[0].ID != "due1" {
			t.Fatalf("claim(limit 2) = %v; want due1 and one more, due first", deliveryIDs(got))
		}
		if got[0].LeaseOwner != "a" || !sameMS(got[0].LeaseUntil, base.Add(30*time.Second)) || got[0].Attempts != 0 {
			t.Errorf("claimed delivery = %+v; want leased to a until base+30s", got[0])
		}
		rest, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "b", Now: base, Lease: 30 * time.Second, Limit: 10})
		must(t, "claim rest", err)
		if len(rest) != 1 || rest[0].ID == got[1].ID || rest[0].ID == "later" {
			t.Fatalf("second claim = %v; want the one due delivery a did not get", deliveryIDs(rest))
		}
		if again, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "a", Now: base.Add(29 * time.Second), Lease: 30 * time.Second, Limit: 10}); err != nil || len(again) != 0 {
			t.Errorf("claim while leased = %v, %v; want nothing (not even for the owner)", deliveryIDs(again), err)
		}
		// A sender that crashed: its lease runs out and another takes over.
		taken, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "c", Now: base.Add(30 * time.Second), Lease: 30 * time.Second, Limit: 10})
		must(t, "claim after lease", err)
		if len(taken) != 3 {
			t.Errorf("claim after the leases ran out = %v; want the 3 due deliveries", deliveryIDs(taken))
		}
		for _, d := range taken {
			if d.LeaseOwner != "c" {
				t.Errorf("%s leased to %q; want c", d.ID, d.LeaseOwner)
			}
		}
		_, err = s.ClaimDeliveries(ctx, lacop.Claim{Now: base, Lease: time.Second, Limit: 1})
		wantCode(t, "claim without owner", err, lacop.EINVALID)
	})

	t.Run("ClaimPerKey", func(t *testing.T) {
		s := open(t).Outbox
		for i := range 5 {
			for _, key := range []string{"hung", "ok", "other"} {
				d := delivery(fmt.Sprintf("%s%d", key, i), base.Add(time.Duration(i)*time.Second), base)
				d.Key = key
				must(t, "enqueue", s.EnqueueDeliveries(ctx, d))
			}
		}
		// The sender has 2 in flight for "hung" and 1 for "ok": with 2 per
		// key it may take none of hung's, one of ok's, two of other's.
		got, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "a", Now: base, Lease: time.Minute, Limit: 10,
			PerKey: 2, Busy: map[string]int{"hung": 2, "ok": 1, "a.b'c\\\"": 7}})
		must(t, "claim", err)
		if ids := deliveryIDs(got); !slices.Equal(ids, []string{"ok0", "other0", "other1"}) {
			t.Errorf("claim with 2 per key = %v; want [ok0 other0 other1]", ids)
		}
		got, err = s.ClaimDeliveries(ctx, lacop.Claim{Owner: "a", Now: base, Lease: time.Minute, Limit: 3, PerKey: 2})
		must(t, "claim", err)
		if ids := deliveryIDs(got); !slices.Equal(ids, []string{"hung0", "hung1", "ok1"}) {
			t.Errorf("second claim (limit 3, 2 per key) = %v; want [hung0 hung1 ok1]", ids)
		}
	})

	t.Run("RetryFailFinish", func(t *testing.T) {
		s := open(t).Outbox
		must(t, "enqueue", s.EnqueueDeliveries(ctx, delivery("r", base, base), delivery("f", base, base), delivery("ok", base, base)))
		_, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "a", Now: base, Lease: time.Minute, Limit: 10})
		must(t, "claim", err)
		must(t, "retry", s.RetryDelivery(ctx, "r", base.Add(10*time.Second), "503 Service Unavailable"))
		must(t, "fail", s.FailDelivery(ctx, "f", "404 Not Found"))
		must(t, "finish", s.FinishDelivery(ctx, "ok"))
		must(t, "finish twice", s.FinishDelivery(ctx, "ok"))
		wantCode(t, "retry unknown", s.RetryDelivery(ctx, "nope", base, "x"), lacop.ENOTFOUND)
		wantCode(t, "fail unknown", s.FailDelivery(ctx, "nope", "x"), lacop.ENOTFOUND)
		wantCode(t, "retry failed", s.RetryDelivery(ctx, "f", base, "x"), lacop.ENOTFOUND)

		// The retried one is released but waits for its time.
		if got, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "b", Now: base.Add(9 * time.Second), Lease: time.Minute, Limit: 10}); err != nil || len(got) != 0 {
			t.Errorf("claim before the retry time = %v, %v; want nothing", deliveryIDs(got), err)
		}
		got, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: "b", Now: base.Add(10 * time.Second), Lease: time.Minute, Limit: 10})
		must(t, "claim retry", err)
		if len(got) != 1 || got[0].ID != "r" || got[0].Attempts != 1 || got[0].LastError != "503 Service Unavailable" {
			t.Errorf("claim at the retry time = %+v; want r with 1 attempt and its error", got)
		}
		failed, err := s.Deliveries(ctx, lacop.DeliveryFailed, 10)
		must(t, "failed", err)
		if len(failed) != 1 || failed[0].ID != "f" || failed[0].Attempts != 1 || failed[0].LastError != "404 Not Found" || failed[0].LeaseOwner != "" {
			t.Errorf("failed deliveries = %+v; want f, 1 attempt, its error, no lease", failed)
		}
		counts, err := s.CountDeliveries(ctx)
		must(t, "count", err)
		if counts[lacop.DeliveryPending] != 1 || counts[lacop.DeliveryFailed] != 1 {
			t.Errorf("CountDeliveries = %v; want 1 pending, 1 failed", counts)
		}
		// Pruning drops old failed deliveries only.
		must(t, "prune", s.PruneDeliveries(ctx, base.Add(time.Hour)))
		counts, err = s.CountDeliveries(ctx)
		must(t, "count", err)
		if counts[lacop.DeliveryPending] != 1 || counts[lacop.DeliveryFailed] != 0 {
			t.Errorf("after prune: %v; want 1 pending, 0 failed", counts)
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := open(t).Outbox
		const n = 60
		for i := range n {
			must(t, "enqueue", s.EnqueueDeliveries(ctx, delivery(fmt.Sprintf("d%02d", i), base, base)))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				owner := fmt.Sprintf("w%d", w)
				for {
					got, err := s.ClaimDeliveries(ctx, lacop.Claim{Owner: owner, Now: base, Lease: time.Minute, Limit: 4})
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						if prev, dup := seen[d.ID]; dup {
							t.Errorf("%s claimed by %s and %s", d.ID, prev, owner)
						}
						seen[d.ID] = owner
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d of %d deliveries claimed", len(seen), n)
		}
	})
}

func deliveryIDs(list []*lacop.Delivery) []string {
	ids := make([]string, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	return ids
}

// BenchmarkClaim claims one delivery at a time, as a sender does when an
// attempt finishes, from 3,000 due across 3 apps (1,000 sessions ended at
// once), one app at its per-app limit: what each claim costs while a burst
// drains.
func BenchmarkClaim(b *testing.B, store lacop.OutboxStore) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	var ds []*lacop.Delivery
	for i := range 3000 {
		ds = append(ds, &lacop.Delivery{ID: fmt.Sprintf("d%05d", i), Kind: "bench", Key: fmt.Sprintf("app%d", i%3),
			Payload: []byte("{}"), State: lacop.DeliveryPending, CreatedAt: now, NextAttemptAt: now})
	}
	if err := store.EnqueueDeliveries(ctx, ds...); err != nil {
		b.Fatal(err)
	}
	lease := time.Second
	i := 0
	for b.Loop() {
		// Each claim's lease has run out by the next one's time, so every
		// claim sees all 3,000 due again.
		at := now.Add(time.Duration(i) * (lease + time.Millisecond))
		i++
		got, err := store.ClaimDeliveries(ctx, lacop.Claim{Owner: "bench", Now: at, Lease: lease, Limit: 1, PerKey: 4,
			Busy: map[string]int{"app0": 3, "app1": 4}})
		if err != nil || len(got) != 1 || got[0].Key == "app1" {
			b.Fatalf("claim: %v, %d deliveries", err, len(got))
		}
	}
}
