package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/redis/redistest"
)

// runNotifier runs a Notifier on c until the test ends and waits until it
// is subscribed.
func runNotifier(t *testing.T, c *redis.Client) *redis.Notifier {
	t.Helper()
	return run(t, redis.NewNotifier(c, slog.New(slog.NewTextHandler(t.Output(), nil))))
}

// run runs n until the test ends and waits until it is subscribed.
func run(t *testing.T, n *redis.Notifier) *redis.Notifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of its context ending")
		}
	})
	select {
	case <-n.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("Notifier not Ready within 5s")
	}
	return n
}

// wantEvent fails the test unless ch yields want within d.
func wantEvent(t *testing.T, ch <-chan lacop.SessionEnded, want lacop.SessionEnded, d time.Duration) {
	t.Helper()
	select {
	case got := <-ch:
		if got.SessionID != want.SessionID || got.UserID != want.UserID || got.Reason != want.Reason || !got.Time.Equal(want.Time) {
			t.Errorf("event = %+v; want %+v", got, want)
		}
	case <-time.After(d):
		t.Errorf("no event for %s within %v", want.SessionID, d)
	}
}

func TestNotifierAcrossClients(t *testing.T) {
	url, prefix := redistest.New(t)
	sender := redis.NewNotifier(open(t, url, prefix), slog.New(slog.DiscardHandler))
	receiver := runNotifier(t, open(t, url, prefix))
	_, otherPrefix := redistest.New(t)
	other := runNotifier(t, open(t, url, otherPrefix))

	ch, cancel := receiver.Subscribe("s1")
	defer cancel()
	otherCh, otherCancel := other.Subscribe("s1")
	defer otherCancel()
	ev := lacop.SessionEnded{SessionID: "s1", UserID: "ann", Reason: "revoked", Time: time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)}
	if err := sender.Publish(t.Context(), ev, lacop.SessionEnded{SessionID: "s2", UserID: "ann", Reason: "revoked"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	wantEvent(t, ch, ev, time.Second)
	select {
	case got := <-otherCh:
		t.Errorf("a Notifier under another prefix got %+v", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNotifierManyEvents(t *testing.T) {
	const n = 10000
	url, prefix := redistest.New(t)
	sender := redis.NewNotifier(open(t, url, prefix), slog.New(slog.DiscardHandler))
	receiver := runNotifier(t, open(t, url, prefix))
	events := make([]lacop.SessionEnded, n)
	chans := make([]<-chan lacop.SessionEnded, n)
	for i := range events {
		events[i] = lacop.SessionEnded{SessionID: fmt.Sprint("s", i), UserID: "ann", Reason: "revoked"}
		var cancel func()
		chans[i], cancel = receiver.Subscribe(events[i].SessionID)
		defer cancel()
	}
	start := time.Now()
	if err := sender.Publish(t.Context(), events...); err != nil {
		t.Fatalf("Publish(%d events): %v", n, err)
	}
	published := time.Since(start)
	deadline := time.After(10 * time.Second)
	for i, ch := range chans {
		select {
		case got := <-ch:
			if got.SessionID != events[i].SessionID || got.Time.IsZero() {
				t.Fatalf("event %d = %+v; want session %s with a time", i, got, events[i].SessionID)
			}
		case <-deadline:
			t.Fatalf("only %d of %d events delivered within 10s", i, n)
		}
	}
	t.Logf("%d events: published in %v, all delivered in %v", n, published, time.Since(start))
}

func TestNotifierRecovers(t *testing.T) {
	url, stop, start := redistest.StartServer(t)
	const prefix = "lacoptest:"
	sender := redis.NewNotifier(open(t, url, prefix), slog.New(slog.DiscardHandler))
	receiver := runNotifier(t, open(t, url, prefix))
	ch, cancel := receiver.Subscribe("s1")
	defer cancel()
	ev := lacop.SessionEnded{SessionID: "s1", UserID: "ann", Reason: "revoked", Time: time.Now()}
	if err := sender.Publish(t.Context(), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	wantEvent(t, ch, ev, time.Second)

	stop()
	if err := sender.Publish(t.Context(), ev); err == nil {
		t.Error("Publish with Redis stopped succeeded; want an error")
	}
	time.Sleep(300 * time.Millisecond) // let the receiver notice and retry
	start()
	restarted := time.Now()
	// Pub/sub keeps nothing for a subscriber that is away: publish until
	// the receiver is back.
	for {
		ev.Time = time.Now()
		sender.Publish(t.Context(), ev)
		select {
		case <-ch:
			t.Logf("delivering again %v after the restart", time.Since(restarted))
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(restarted) > 15*time.Second {
			t.Fatal("no event delivered within 15s of Redis restarting")
		}
	}
}

// TestNotifierIdle: a quiet subscription is pinged, not replaced, and
// still delivers.
func TestNotifierIdle(t *testing.T) {
	url, prefix := redistest.New(t)
	sender := redis.NewNotifier(open(t, url, prefix), slog.New(slog.DiscardHandler))
	var logs syncBuffer
	receiver := redis.NewNotifier(open(t, url, prefix), slog.New(slog.NewTextHandler(&logs, nil)))
	receiver.Check = 50 * time.Millisecond
	run(t, receiver)
	ch, cancel := receiver.Subscribe("s1")
	defer cancel()
	time.Sleep(500 * time.Millisecond) // ten quiet intervals
	ev := lacop.SessionEnded{SessionID: "s1", UserID: "ann", Reason: "revoked", Time: time.Now()}
	if err := sender.Publish(t.Context(), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	wantEvent(t, ch, ev, time.Second)
	if s := logs.String(); s != "" {
		t.Errorf("a quiet subscription logged:\n%s", s)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
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
