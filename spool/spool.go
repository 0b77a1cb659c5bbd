// Package spool keeps audit events that the audit store could not take in
// a file of the data directory, and hands them to the store once it answers
// again. A request that was answered with success has its event recorded,
// even when PostgreSQL was away for that moment (sessions in Redis can end
// while PostgreSQL is down), and even across a restart.
package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.AuditStore = (*AuditStore)(nil)

// batch is how many spooled events go to the store in one write.
const batch = 1000

// AuditStore is an audit store that spools what its store refuses. Events
// are appended as JSON lines, synced to disk before RecordEvents returns,
// under an advisory file lock shared with the other processes on the data
// directory (the CLI beside serve).
type AuditStore struct {
	store  lacop.AuditStore
	path   string
	logger *slog.Logger
	mu     sync.Mutex // this process's appends and drains

	// Now stamps events that have no time yet, before they are spooled, so
	// they keep the time they happened.
	Now func() time.Time
	// Interval is how often Run tries to drain the spool.
	Interval time.Duration
}

// New returns a spooling store in front of store, keeping its file at path.
// Events left by an earlier run are drained by Run.
func New(store lacop.AuditStore, path string, logger *slog.Logger) (*AuditStore, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("spool: %s is not a regular file", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &AuditStore{store: store, path: path, logger: logger, Now: time.Now, Interval: time.Second}, nil
}

// RecordEvents implements lacop.AuditStore. It fails only when neither the
// store nor the spool file took the events.
func (s *AuditStore) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	err := s.store.RecordEvents(ctx, events...)
	if err == nil || len(events) == 0 {
		return err
	}
	for _, e := range events {
		if e.Time.IsZero() {
			e.Time = s.Now().UTC()
		}
	}
	if serr := s.append(events); serr != nil {
		return errors.Join(err, serr)
	}
	s.logger.Warn("audit store unavailable; events spooled until it answers", "count", len(events), "err", err)
	return nil
}

// Events implements lacop.AuditStore. Spooled events appear once drained.
func (s *AuditStore) Events(ctx context.Context, f lacop.AuditFilter) ([]*lacop.AuditEvent, error) {
	return s.store.Events(ctx, f)
}

func (s *AuditStore) append(events []*lacop.AuditEvent) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("spool: encode: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	unlock, err := lock(f)
	if err != nil {
		return fmt.Errorf("spool: lock: %w", err)
	}
	defer unlock()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: sync: %w", err)
	}
	return nil
}

// Run drains the spool every Interval until ctx ends.
func (s *AuditStore) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if fi, err := os.Stat(s.path); err == nil && fi.Size() > 0 {
			if err := s.Drain(ctx); err != nil {
				s.logger.Warn("audit spool not drained yet", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Drain hands every spooled event to the store, oldest first, and empties
// the spool. If the store fails part way, what it did not take stays.
// An event can reach the store twice only if the process dies between the
// store's commit and the spool's rewrite.
func (s *AuditStore) Drain(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	unlock, err := lock(f)
	if err != nil {
		return fmt.Errorf("spool: lock: %w", err)
	}
	defer unlock()
	events, err := s.read(f)
	if err != nil {
		return err
	}
	for done := 0; done < len(events); done += batch {
		part := events[done:min(done+batch, len(events))]
		if err := s.store.RecordEvents(ctx, part...); err != nil {
			return errors.Join(fmt.Errorf("spool: %d events wait: %w", len(events)-done, err), rewrite(f, events[done:]))
		}
	}
	if len(events) > 0 {
		s.logger.Info("spooled audit events recorded", "count", len(events))
	}
	return rewrite(f, nil)
}

// read decodes every line of the spool. A line that is not an event (a
// write cut short by a crash) is logged and dropped: it cannot be replayed.
func (s *AuditStore) read(f *os.File) ([]*lacop.AuditEvent, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var events []*lacop.AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		e := new(lacop.AuditEvent)
		if err := json.Unmarshal(sc.Bytes(), e); err != nil || e.Type == "" {
			s.logger.Error("audit spool line is not an event; dropped", "line", line, "err", err)
			continue
		}
		e.ID = ""
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("spool: read: %w", err)
	}
	return events, nil
}

// rewrite replaces the spool's content with events.
func rewrite(f *os.File, events []*lacop.AuditEvent) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("spool: encode: %w", err)
		}
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("spool: truncate: %w", err)
	}
	if _, err := f.WriteAt(buf.Bytes(), 0); err != nil {
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spool: sync: %w", err)
	}
	return nil
}
