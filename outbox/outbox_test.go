package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/outbox"
	"github.com/lacop/lacop/sqlite"
)

// newStore returns an outbox on a fresh SQLite database.
func newStore(t testing.TB) lacop.OutboxStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sqlite.NewOutboxStore(db)
}

// run starts s until the test ends and returns a function that stops it
// and waits for it.
func run(t *testing.T, s *outbox.Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func enqueue(t *testing.T, store lacop.OutboxStore, key string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		d := &lacop.Delivery{ID: id, Kind: "test", Key: key, Payload: []byte(id), CreatedAt: time.Now(), NextAttemptAt: time.Now()}
		if err := store.EnqueueDeliveries(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func counts(t *testing.T, store lacop.OutboxStore) map[string]int {
	t.Helper()
	c, err := store.CountDeliveries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeliversAndForgets(t *testing.T) {
	store := newStore(t)
	var mu sync.Mutex
	got := map[string]int{}
	s := &outbox.Sender{Store: store, Poll: time.Hour, Handlers: map[string]outbox.Handler{
		"test": func(ctx context.Context, d *lacop.Delivery) error {
			mu.Lock()
			got[string(d.Payload)]++
			mu.Unlock()
			return nil
		},
	}}
	run(t, s)
	enqueue(t, store, "a", "one", "two", "three")
	s.Wake() // the poll is an hour: only the wake can start it
	// The row goes before the count: wait for both.
	waitFor(t, "3 deliveries", func() bool { return counts(t, store)[lacop.DeliveryPending] == 0 && s.Stats().InFlight == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got["one"] != 1 || got["two"] != 1 || got["three"] != 1 {
		t.Errorf("handled %v; want each of one, two, three once", got)
	}
	if st := s.Stats(); st.Sent != 3 || st.Retried != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v; want 3 sent", st)
	}
}

func TestRetriesWithBackoffThenDelivers(t *testing.T) {
	store := newStore(t)
	var calls atomic.Int32
	var times []time.Time
	var mu sync.Mutex
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond, BackoffBase: 100 * time.Millisecond,
		Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			if calls.Add(1) < 3 {
				return errors.New("503 Service Unavailable")
			}
			return nil
		}}}
	run(t, s)
	enqueue(t, store, "a", "d")
	s.Wake()
	waitFor(t, "delivery after two failures", func() bool {
		return counts(t, store)[lacop.DeliveryPending] == 0 && s.Stats().InFlight == 0
	})
	if n := calls.Load(); n != 3 {
		t.Errorf("%d attempts; want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// Backoff 100 ms then 200 ms (±20%).
	if gap := times[1].Sub(times[0]); gap < 80*time.Millisecond {
		t.Errorf("first retry after %s; want the backoff of ~100 ms", gap)
	}
	if gap := times[2].Sub(times[1]); gap < 160*time.Millisecond {
		t.Errorf("second retry after %s; want the doubled backoff of ~200 ms", gap)
	}
	if st := s.Stats(); st.Sent != 1 || st.Retried != 2 {
		t.Errorf("Stats = %+v; want 1 sent, 2 retried", st)
	}
}

func TestPermanentFailsAtOnce(t *testing.T) {
	store := newStore(t)
	var calls atomic.Int32
	gaveUp := make(chan string, 1)
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond,
		Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
			calls.Add(1)
			return outbox.Permanent(errors.New("404 Not Found"))
		}},
		OnGiveUp: func(ctx context.Context, d *lacop.Delivery, lastErr string) { gaveUp <- d.ID + ": " + lastErr },
	}
	run(t, s)
	enqueue(t, store, "a", "d")
	s.Wake()
	select {
	case msg := <-gaveUp:
		if msg != "d: 404 Not Found" {
			t.Errorf("OnGiveUp got %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnGiveUp not called")
	}
	time.Sleep(100 * time.Millisecond) // several polls: a failed one must not be tried again
	if n := calls.Load(); n != 1 {
		t.Errorf("%d attempts; want 1 (no retry after a refusal)", n)
	}
	failed, err := store.Deliveries(context.Background(), lacop.DeliveryFailed, 10)
	if err != nil || len(failed) != 1 || failed[0].LastError != "404 Not Found" {
		t.Errorf("failed deliveries = %+v, %v; want d with its answer", failed, err)
	}
}

func TestGivesUpWhenTooOld(t *testing.T) {
	store := newStore(t)
	var calls atomic.Int32
	gaveUp := make(chan struct{}, 1)
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond, MaxAge: 300 * time.Millisecond,
		Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
			calls.Add(1)
			return errors.New("connection refused")
		}},
		OnGiveUp: func(context.Context, *lacop.Delivery, string) { gaveUp <- struct{}{} },
	}
	run(t, s)
	enqueue(t, store, "a", "d")
	s.Wake()
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("never gave up")
	}
	if n := calls.Load(); n < 2 || n > 5 {
		t.Errorf("%d attempts in 300 ms with backoff from 50 ms; want 2–5", n)
	}
	if c := counts(t, store); c[lacop.DeliveryFailed] != 1 || c[lacop.DeliveryPending] != 0 {
		t.Errorf("counts = %v; want 1 failed", c)
	}
}

// A receiver that hangs costs its own deliveries a timeout each, and
// nobody else anything.
func TestHungReceiverDelaysNoOther(t *testing.T) {
	store := newStore(t)
	var hung atomic.Int32
	delivered := make(chan time.Time, 10)
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond, PerKey: 2, Total: 4, Timeout: 500 * time.Millisecond,
		BackoffBase: time.Hour,
		Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
			if d.Key == "hung" {
				hung.Add(1)
				<-ctx.Done()
				return ctx.Err()
			}
			delivered <- time.Now()
			return nil
		}}}
	run(t, s)
	enqueue(t, store, "hung", "h1", "h2", "h3", "h4", "h5", "h6")
	start := time.Now()
	enqueue(t, store, "ok", "o1", "o2", "o3")
	s.Wake()
	for range 3 {
		select {
		case at := <-delivered:
			if d := at.Sub(start); d > 400*time.Millisecond {
				t.Errorf("a healthy receiver's delivery took %s behind a hung one", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("healthy receiver not served")
		}
	}
	waitFor(t, "the hung attempts to time out", func() bool {
		list, _ := store.Deliveries(context.Background(), lacop.DeliveryPending, 10)
		n := 0
		for _, d := range list {
			if d.Attempts > 0 {
				n++
			}
		}
		return n >= 2
	})
	if n := hung.Load(); n > 4 {
		t.Errorf("%d attempts at once on the hung receiver; want at most 2 per round (PerKey)", n)
	}
	list, _ := store.Deliveries(context.Background(), lacop.DeliveryPending, 10)
	for _, d := range list {
		if d.Attempts > 0 && d.LastError == "" {
			t.Errorf("%s: a timed-out attempt recorded no error", d.ID)
		}
	}
}

// Two senders on one store deliver each delivery once.
func TestTwoSendersDeliverOnce(t *testing.T) {
	store := newStore(t)
	var mu sync.Mutex
	got := map[string]int{}
	handler := func(ctx context.Context, d *lacop.Delivery) error {
		mu.Lock()
		got[d.ID]++
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return nil
	}
	a := &outbox.Sender{Store: store, Poll: 5 * time.Millisecond, Handlers: map[string]outbox.Handler{"test": handler}}
	b := &outbox.Sender{Store: store, Poll: 5 * time.Millisecond, Handlers: map[string]outbox.Handler{"test": handler}}
	run(t, a)
	run(t, b)
	const n = 200
	for i := range n {
		enqueue(t, store, fmt.Sprintf("k%d", i%3), fmt.Sprintf("d%03d", i))
	}
	waitFor(t, "every delivery", func() bool { return counts(t, store)[lacop.DeliveryPending] == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Errorf("%d of %d delivered", len(got), n)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
	if a.Stats().Sent == 0 || b.Stats().Sent == 0 {
		t.Logf("one sender did all the work: a=%d b=%d", a.Stats().Sent, b.Stats().Sent)
	}
}

// A sender that crashed mid-delivery holds its lease until it runs out;
// then another sender delivers.
func TestCrashedSendersLeaseRunsOut(t *testing.T) {
	store := newStore(t)
	enqueue(t, store, "a", "d")
	claimed, err := store.ClaimDeliveries(context.Background(), lacop.Claim{Owner: "crashed", Now: time.Now(), Lease: 700 * time.Millisecond, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	leased := time.Now()
	delivered := make(chan time.Time, 1)
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond, Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
		delivered <- time.Now()
		return nil
	}}}
	run(t, s)
	select {
	case at := <-delivered:
		if at.Sub(leased) < 650*time.Millisecond {
			t.Errorf("delivered %s after another sender's lease of 700 ms began", at.Sub(leased))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never delivered after the lease ran out")
	}
}

func TestStopsCleanly(t *testing.T) {
	store := newStore(t)
	started := make(chan struct{})
	s := &outbox.Sender{Store: store, Poll: 20 * time.Millisecond, Timeout: time.Minute,
		Handlers: map[string]outbox.Handler{"test": func(ctx context.Context, d *lacop.Delivery) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}}
	stop := run(t, s)
	enqueue(t, store, "a", "d")
	s.Wake()
	<-started
	begin := time.Now()
	stop()
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("Run took %s to return after its context ended", d)
	}
	// Cut off by the shutdown, not by the receiver: still pending, no
	// attempt counted against it.
	list, err := store.Deliveries(context.Background(), lacop.DeliveryPending, 10)
	if err != nil || len(list) != 1 || list[0].Attempts != 0 {
		t.Errorf("after shutdown: %+v, %v; want d pending with no attempt counted", list, err)
	}
}

func TestNeedsStoreAndHandlers(t *testing.T) {
	if err := (&outbox.Sender{}).Run(context.Background()); err == nil {
		t.Error("Run without a store and handlers returned nil")
	}
}
