package spool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/spool"
	"github.com/lacop/lacop/sqlite"
)

// flaky is a real SQLite audit store that refuses writes while down, and
// after failAfter successful writes when that is positive: the audit store
// of a database that went away.
type flaky struct {
	lacop.AuditStore
	outbox    lacop.OutboxStore // the same database's
	down      atomic.Bool
	failAfter atomic.Int64
}

var errDown = errors.New("connection refused")

func (f *flaky) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	if f.down.Load() {
		return errDown
	}
	if f.failAfter.Load() > 0 && f.failAfter.Add(-1) == 0 {
		f.down.Store(true)
	}
	return f.AuditStore.RecordEvents(ctx, events...)
}

func setup(t *testing.T) (*spool.AuditStore, *flaky, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &flaky{AuditStore: sqlite.NewAuditStore(db), outbox: sqlite.NewOutboxStore(db)}
	path := filepath.Join(dir, "audit.spool")
	s, err := spool.New(store, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, store, path
}

func event(typ string, at time.Time) *lacop.AuditEvent {
	return &lacop.AuditEvent{Type: typ, UserID: "u1", SessionID: "s1", Time: at, Detail: map[string]string{"k": "v"}}
}

// wantTypes fails unless the store lists exactly these types, newest first.
func wantTypes(t *testing.T, s lacop.AuditStore, want ...string) []*lacop.AuditEvent {
	t.Helper()
	got, err := s.Events(t.Context(), lacop.AuditFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("events = %v; want %v", types, want)
	}
	return got
}

func TestSpoolWhileDown(t *testing.T) {
	s, store, path := setup(t)
	ctx := t.Context()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if err := s.RecordEvents(ctx, event("logout", at)); err != nil {
		t.Fatalf("RecordEvents while up: %v", err)
	}
	store.down.Store(true)
	if err := s.RecordEvents(ctx, event("session.revoked", at.Add(time.Second)), event("logout", time.Time{})); err != nil {
		t.Fatalf("RecordEvents while down = %v; want nil (spooled)", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("spool file after a refused write: %v, %v; want non-empty", fi, err)
	}
	if err := s.Drain(ctx); !errors.Is(err, errDown) {
		t.Fatalf("Drain while down = %v; want the store's error", err)
	}
	store.down.Store(false)
	if err := s.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	got := wantTypes(t, store, "logout", "session.revoked", "logout")
	if !got[1].Time.Equal(at.Add(time.Second)) || got[1].Detail["k"] != "v" || got[1].SessionID != "s1" {
		t.Errorf("spooled event came back as %+v; want its time, session and detail kept", got[1])
	}
	if got[0].Time.IsZero() {
		t.Errorf("event without a time was stored without one")
	}
	for _, p := range []string{path, path + ".draining"} {
		if fi, err := os.Stat(p); err == nil && fi.Size() != 0 {
			t.Errorf("%s after drain: %d bytes; want empty or gone", p, fi.Size())
		}
	}
	// A second drain records nothing twice.
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, store, "logout", "session.revoked", "logout")
}

func TestSpoolSurvivesRestart(t *testing.T) {
	s, store, path := setup(t)
	store.down.Store(true)
	if err := s.RecordEvents(t.Context(), event("login.succeeded", time.Now())); err != nil {
		t.Fatal(err)
	}
	// A later process on the same file (after a crash) finds the event.
	again, err := spool.New(store, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	again.Interval = 10 * time.Millisecond
	store.down.Store(false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); again.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := store.Events(t.Context(), lacop.AuditFilter{})
		if err == nil && len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run did not drain the spool: %d events, %v", len(got), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestSpoolDrainStopsPartWay(t *testing.T) {
	s, store, path := setup(t)
	ctx := t.Context()
	store.down.Store(true)
	for i := range 2500 {
		if err := s.RecordEvents(ctx, event(fmt.Sprintf("e%04d", i), time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	store.down.Store(false)
	store.failAfter.Store(1) // the first batch goes in, then the store fails
	if err := s.Drain(ctx); err == nil {
		t.Fatal("Drain with the store failing after one batch = nil; want an error")
	}
	got, err := store.Events(ctx, lacop.AuditFilter{Limit: 10000})
	if err != nil || len(got) != 1000 {
		t.Fatalf("after a partial drain the store has %d events (%v); want 1000", len(got), err)
	}
	aside, _ := os.ReadFile(path + ".draining")
	if n := bytes.Count(aside, []byte("\n")); n != 1500 {
		t.Fatalf("spool keeps %d events aside; want the 1500 not recorded", n)
	}
	// Events keep arriving while the store is down; they queue behind.
	store.down.Store(true)
	if err := s.RecordEvents(ctx, event("late", time.Now())); err != nil {
		t.Fatal(err)
	}
	store.down.Store(false)
	for range 2 { // what was aside, then what came later
		if err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err = store.Events(ctx, lacop.AuditFilter{Limit: 10000})
	if err != nil || len(got) != 2501 || got[0].Type != "late" {
		t.Fatalf("after draining the store has %d events (%v); want 2501, none twice, the late one last", len(got), err)
	}
	for _, leftover := range []string{path + ".draining", path + ".draining.tmp"} {
		if _, err := os.Stat(leftover); err == nil {
			t.Errorf("%s left after a complete drain", leftover)
		}
	}
}

func TestSpoolDropsTornLine(t *testing.T) {
	s, store, path := setup(t)
	store.down.Store(true)
	if err := s.RecordEvents(t.Context(), event("logout", time.Now())); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"logo`) // a write cut short by a crash
	f.Close()
	// The next event is not glued to the torn line.
	if err := s.RecordEvents(t.Context(), event("session.revoked", time.Now())); err != nil {
		t.Fatal(err)
	}
	store.down.Store(false)
	if err := s.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, store, "session.revoked", "logout")
}

func TestSpoolFailsWhenNothingTakesEvents(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &flaky{AuditStore: sqlite.NewAuditStore(db)}
	store.down.Store(true)
	s, err := spool.New(store, filepath.Join(t.TempDir(), "missing", "audit.spool"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvents(t.Context(), event("logout", time.Now())); !errors.Is(err, errDown) {
		t.Fatalf("RecordEvents with store and spool failing = %v; want an error naming the store's failure", err)
	}
}

func TestNewRefusesDirectory(t *testing.T) {
	if _, err := spool.New(nil, t.TempDir(), slog.Default()); err == nil {
		t.Fatal("New on a directory = nil error; want a refusal")
	}
}

// TestSpoolFull: past MaxSize the spool refuses, so an outage cannot fill
// the disk; the refusal reaches the caller.
func TestSpoolFull(t *testing.T) {
	s, store, path := setup(t)
	if err := os.WriteFile(path, bytes.Repeat([]byte(" "), spool.MaxSize), 0o600); err != nil {
		t.Fatal(err)
	}
	store.down.Store(true)
	if err := s.RecordEvents(t.Context(), event("logout", time.Now())); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("RecordEvents with the spool full = %v; want an error saying it is full", err)
	}
}

// TestSpoolAppendsWhileDraining: events spooled while a drain is writing
// to the store are neither lost nor blocked by it.
func TestSpoolAppendsWhileDraining(t *testing.T) {
	s, store, _ := setup(t)
	ctx := t.Context()
	store.down.Store(true)
	for i := range 3000 {
		if err := s.RecordEvents(ctx, event(fmt.Sprintf("before%04d", i), time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	store.down.Store(false)
	done := make(chan error, 1)
	go func() { done <- s.Drain(ctx) }()
	store.down.Store(true) // the drain may or may not still be running
	for i := range 200 {
		if err := s.RecordEvents(ctx, event(fmt.Sprintf("during%03d", i), time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	store.down.Store(false)
	for range 3 {
		if err := s.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.Events(ctx, lacop.AuditFilter{Limit: 10000})
	if err != nil || len(got) < 3200 {
		t.Fatalf("store has %d events (%v); want all 3200 (at least once)", len(got), err)
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.Type] = true
	}
	if len(seen) != 3200 {
		t.Errorf("distinct events recorded: %d; want 3200", len(seen))
	}
}

// TestSpoolKeepsDeliveries: the deliveries written with an event (a mail
// announcing it) are spooled with it and written with it once the store
// answers: a mail is not lost because the database was away.
func TestSpoolKeepsDeliveries(t *testing.T) {
	s, store, path := setup(t)
	ctx := t.Context()
	store.down.Store(true)
	e := event("password.changed", time.Now())
	e.Outbox = []*lacop.Delivery{{ID: "m1", Kind: "mail", Key: "smtp", Payload: []byte{0, 1, 2, 255}, CreatedAt: time.Now()}}
	if err := s.RecordEvents(ctx, e); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(`"outbox"`)) {
		t.Fatalf("spool file %q, %v; want the event's deliveries in it", data, err)
	}
	store.down.Store(false)
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := wantTypes(t, store, "password.changed")
	if got[0].Outbox != nil {
		t.Errorf("an event read back carries deliveries: %+v", got[0].Outbox)
	}
	pending, err := store.outbox.Deliveries(ctx, lacop.DeliveryPending, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != "m1" || !bytes.Equal(pending[0].Payload, []byte{0, 1, 2, 255}) {
		t.Errorf("outbox after the drain: %+v, %v; want the spooled delivery, payload intact", pending, err)
	}
}
