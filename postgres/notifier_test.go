package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/postgres/pgtest"
)

// syncBuffer is a log destination safe for Run's goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newNotifier returns a Notifier on db and its log.
func newNotifier(db *postgres.DB) (*postgres.Notifier, *syncBuffer) {
	logs := &syncBuffer{}
	return postgres.NewNotifier(db, slog.New(slog.NewTextHandler(logs, nil))), logs
}

// run runs n until the test ends and waits until it listens.
func run(t *testing.T, n *postgres.Notifier, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v when its context ended; want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of its context ending")
		}
	})
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("Run returned %v before listening", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Notifier not listening after 10s; log:\n%s", logs)
	}
}

// twoInstances opens one database twice, as two lacop instances do, and
// returns a publishing Notifier on the first and a listening one on the
// second.
func twoInstances(t *testing.T) (pub, sub *postgres.Notifier, subLogs *syncBuffer, url string) {
	url = pgtest.NewDatabase(t)
	pub = postgres.NewNotifier(open(t, url), slog.New(slog.DiscardHandler))
	sub, subLogs = newNotifier(open(t, url))
	run(t, sub, subLogs)
	return pub, sub, subLogs, url
}

// receive waits up to d for an event on ch.
func receive(ch <-chan lacop.SessionEnded, d time.Duration) (lacop.SessionEnded, bool) {
	select {
	case ev := <-ch:
		return ev, true
	case <-time.After(d):
		return lacop.SessionEnded{}, false
	}
}

func TestNotifierAcrossInstances(t *testing.T) {
	pub, sub, _, _ := twoInstances(t)
	ch, cancel := sub.Subscribe("s1")
	defer cancel()
	other, cancelOther := sub.Subscribe("s2")
	defer cancelOther()

	want := lacop.SessionEnded{SessionID: "s1", UserID: "ann", Reason: "logout", Time: time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)}
	start := time.Now()
	if err := pub.Publish(t.Context(), want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got, ok := receive(ch, time.Second)
	if !ok {
		t.Fatalf("no event for s1 within 1s of Publish")
	}
	t.Logf("delivered in %v", time.Since(start))
	if got.SessionID != want.SessionID || got.UserID != want.UserID || got.Reason != want.Reason || !got.Time.Equal(want.Time) {
		t.Errorf("received %+v; want %+v", got, want)
	}
	if ev, ok := receive(other, 100*time.Millisecond); ok {
		t.Errorf("subscriber of s2 received %+v; want nothing", ev)
	}
	if err := pub.Publish(t.Context()); err != nil {
		t.Errorf("Publish() with no events = %v; want nil", err)
	}
}

// TestNotifierManyEvents: ending 10,000 sessions at once announces each,
// in one quick call.
func TestNotifierManyEvents(t *testing.T) {
	pub, sub, _, _ := twoInstances(t)
	const n = 10_000
	events := make([]lacop.SessionEnded, n)
	chans := make([]<-chan lacop.SessionEnded, n)
	for i := range events {
		events[i] = lacop.SessionEnded{SessionID: fmt.Sprintf("session-%05d", i), UserID: "ann", Reason: "revoked_all"}
		var cancel func()
		chans[i], cancel = sub.Subscribe(events[i].SessionID)
		defer cancel()
	}
	start := time.Now()
	if err := pub.Publish(t.Context(), events...); err != nil {
		t.Fatalf("Publish(%d events): %v", n, err)
	}
	took := time.Since(start)
	t.Logf("Publish(%d events) took %v", n, took)
	if took > 2*time.Second {
		t.Errorf("Publish(%d events) took %v; want well under a second", n, took)
	}
	deadline := time.After(10 * time.Second)
	for i, ch := range chans {
		select {
		case ev := <-ch:
			if ev.SessionID != events[i].SessionID || ev.Time.IsZero() {
				t.Fatalf("subscriber of %s received %+v", events[i].SessionID, ev)
			}
		case <-deadline:
			t.Fatalf("event %d of %d (%s) not received within 10s", i+1, n, events[i].SessionID)
		}
	}
	t.Logf("all %d delivered %v after Publish began", n, time.Since(start))
}

// TestNotifierOversizedEvent: an event too large for one notification is
// reported, and the others in the call still go out.
func TestNotifierOversizedEvent(t *testing.T) {
	pub, sub, _, _ := twoInstances(t)
	ch, cancel := sub.Subscribe("s1")
	defer cancel()
	err := pub.Publish(t.Context(),
		lacop.SessionEnded{SessionID: strings.Repeat("x", 9000), Reason: "logout"},
		lacop.SessionEnded{SessionID: "s1", Reason: "logout"})
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Publish(oversized event, s1) = %v; want an error about the oversized event", err)
	}
	if _, ok := receive(ch, time.Second); !ok {
		t.Errorf("no event for s1 within 1s; want it sent despite the oversized one")
	}
}

// TestNotifierReconnects: when the listening connection dies, Run logs it,
// reconnects by itself, and later announcements arrive again.
func TestNotifierReconnects(t *testing.T) {
	pub, sub, logs, url := twoInstances(t)
	ch, cancel := sub.Subscribe("s1")
	defer cancel()
	if err := pub.Publish(t.Context(), lacop.SessionEnded{SessionID: "s1", Reason: "logout"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if _, ok := receive(ch, time.Second); !ok {
		t.Fatalf("no event before the connection was killed")
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	if err := conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
	if killed == 0 {
		t.Fatalf("terminated no backend; want at least the listener's")
	}

	// Announcements sent before Run listens again are lost by design, so
	// keep announcing until one arrives.
	start := time.Now()
	for {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no event within 10s after the connection was killed; log:\n%s", logs)
		}
		_ = pub.Publish(t.Context(), lacop.SessionEnded{SessionID: "s1", Reason: "logout"}) // its pool may hold killed connections
		if _, ok := receive(ch, 200*time.Millisecond); ok {
			break
		}
	}
	t.Logf("delivering again %v after the kill", time.Since(start))
	if log := logs.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "reconnecting") {
		t.Errorf("log = %q; want a warning about reconnecting", log)
	}
}

// TestNotifierIdlePings: the health checks of an idle connection leave it
// listening.
func TestNotifierIdlePings(t *testing.T) {
	url := pgtest.NewDatabase(t)
	pub := postgres.NewNotifier(open(t, url), slog.New(slog.DiscardHandler))
	sub, logs := newNotifier(open(t, url))
	sub.HealthInterval = 10 * time.Millisecond
	run(t, sub, logs)
	ch, cancel := sub.Subscribe("s1")
	defer cancel()
	time.Sleep(200 * time.Millisecond) // some twenty idle pings
	if err := pub.Publish(t.Context(), lacop.SessionEnded{SessionID: "s1", Reason: "logout"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if _, ok := receive(ch, time.Second); !ok {
		t.Errorf("no event within 1s after idle pings; log:\n%s", logs)
	}
	if log := logs.String(); log != "" {
		t.Errorf("log = %q; want nothing: idle pings are not failures", log)
	}
}
