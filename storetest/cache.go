package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testCacheLeases is the lease and acknowledgement contract the shared
// cache rests on (lacop.CacheLeaseStore): leases live for their ttl by the
// store's clock, Invalidate counts, lists exactly the live leases with
// what they have left and announces itself after anything sent before,
// and every message reaches every listener in order.
func testCacheLeases(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("LeaseLifetime", func(t *testing.T) {
		l := open(t).CacheLeases
		live, seq, err := l.Lease(ctx, "a", 400*time.Millisecond)
		must(t, "Lease", err)
		if live || seq != 0 {
			t.Errorf("first Lease = live %v, seq %d; want a new lease (false) at seq 0", live, seq)
		}
		live, _, err = l.Lease(ctx, "a", 400*time.Millisecond)
		must(t, "Lease", err)
		if !live {
			t.Error("Lease renewed within its ttl reported it lapsed")
		}
		time.Sleep(600 * time.Millisecond)
		live, _, err = l.Lease(ctx, "a", time.Minute)
		must(t, "Lease", err)
		if live {
			t.Error("Lease after its ttl ran out reported it still live")
		}
		must(t, "ReleaseLease", l.ReleaseLease(ctx, "a"))
		must(t, "ReleaseLease of none", l.ReleaseLease(ctx, "a"))
		live, _, err = l.Lease(ctx, "a", time.Minute)
		must(t, "Lease", err)
		if live {
			t.Error("Lease after ReleaseLease reported the released lease live")
		}
	})

	t.Run("InvalidateListsLiveLeases", func(t *testing.T) {
		l := open(t).CacheLeases
		for _, inst := range []string{"a", "b", "c", "gone"} {
			_, _, err := l.Lease(ctx, inst, time.Minute)
			must(t, "Lease "+inst, err)
		}
		_, _, err := l.Lease(ctx, "short", 200*time.Millisecond)
		must(t, "Lease short", err)
		must(t, "ReleaseLease", l.ReleaseLease(ctx, "gone"))
		time.Sleep(400 * time.Millisecond)

		seq1, live, err := l.Invalidate(ctx, "a")
		must(t, "Invalidate", err)
		var names []string
		for _, le := range live {
			names = append(names, le.Instance)
			if le.Left <= 0 || le.Left > time.Minute {
				t.Errorf("lease %s has %v left; want within (0, 1m]", le.Instance, le.Left)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"a", "b", "c"}) {
			t.Errorf("Invalidate listed %v; want the live leases [a b c] (not the released or the lapsed one)", names)
		}
		seq2, _, err := l.Invalidate(ctx, "b")
		must(t, "Invalidate", err)
		if seq1 < 1 || seq2 != seq1+1 {
			t.Errorf("Invalidate numbers %d then %d; want n ≥ 1 then n+1", seq1, seq2)
		}
		_, seq, err := l.Lease(ctx, "a", time.Minute)
		must(t, "Lease", err)
		if seq != seq2 {
			t.Errorf("Lease after two Invalidates read seq %d; want %d", seq, seq2)
		}
	})

	t.Run("Messages", func(t *testing.T) {
		l := open(t).CacheLeases
		lctx, cancel := context.WithCancel(ctx)
		listening := make(chan struct{})
		got := make(chan lacop.CacheMessage, 16)
		done := make(chan error, 1)
		go func() {
			done <- l.ListenCache(lctx, func() { close(listening) }, func(m lacop.CacheMessage) { got <- m })
		}()
		select {
		case <-listening:
		case err := <-done:
			t.Fatalf("ListenCache returned before listening: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("ListenCache did not report listening within 10s")
		}
		seq, _, err := l.Invalidate(ctx, "writer")
		must(t, "Invalidate", err)
		must(t, "AckCache", l.AckCache(ctx, "reader", seq))
		want := []lacop.CacheMessage{{Seq: seq, Instance: "writer"}, {Ack: true, Seq: seq, Instance: "reader"}}
		for i, w := range want {
			select {
			case m := <-got:
				if m != w {
					t.Errorf("message %d = %+v; want %+v", i, m, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("message %d (%+v) did not arrive within 5s", i, w)
			}
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ListenCache did not return within 5s of its context ending")
		}
	})

	t.Run("RenewalsNeverMissAnInvalidation", func(t *testing.T) {
		// An instance renewing while others invalidate: every Invalidate
		// either lists the instance or was read by its next renewal. With
		// the lease always live, each Invalidate must list it, and the
		// numbers its renewals read never go back.
		l := open(t).CacheLeases
		_, _, err := l.Lease(ctx, "r", time.Minute)
		must(t, "Lease", err)
		stop := make(chan struct{})
		renewed := make(chan error, 1)
		go func() {
			var last uint64
			for {
				select {
				case <-stop:
					renewed <- nil
					return
				default:
				}
				live, seq, err := l.Lease(ctx, "r", time.Minute)
				if err == nil && (!live || seq < last) {
					err = fmt.Errorf("renewal read live %v seq %d after seq %d", live, seq, last)
				}
				if err != nil {
					renewed <- err
					return
				}
				last = seq
			}
		}()
		for range 50 {
			_, live, err := l.Invalidate(ctx, "w")
			must(t, "Invalidate", err)
			if !slices.ContainsFunc(live, func(le lacop.CacheLease) bool { return le.Instance == "r" }) {
				t.Errorf("Invalidate during renewals listed %v without the renewing instance", live)
			}
		}
		close(stop)
		if err := <-renewed; err != nil {
			t.Error(err)
		}
	})
}
