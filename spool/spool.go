// Package spool keeps audit events that the audit store could not take in
// a file of the data directory, and hands them to the store once it answers
// again. A request that was answered with success has its event recorded,
// even when PostgreSQL was away for that moment (sessions in Redis can end
// while PostgreSQL is down), and even across a restart.
package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.AuditStore = (*AuditStore)(nil)

// batch is how many spooled events go to the store in one write, and
// batchTimeout how long that write may take before the drain gives up
// until the next try.
const (
	batch        = 1000
	batchTimeout = 10 * time.Second
)

// MaxSize caps the spool file: past it an event is refused (and the
// refusal logged), so an outage cannot fill the disk.
const MaxSize = 256 << 20

// AuditStore is an audit store that spools what its store refuses. Events
// are appended as JSON lines, synced to disk before RecordEvents returns,
// under an advisory file lock shared with the other processes on the data
// directory (the CLI beside serve). A drain first moves the spool aside
// (path + ".draining"), so appends never wait for the store.
type AuditStore struct {
	store  lacop.AuditStore
	path   string
	logger *slog.Logger
	drain  sync.Mutex // one drain at a time in this process

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
	data, err := encode(events)
	if err != nil {
		return err
	}
	f, unlock, err := s.openLocked()
	if err != nil {
		return err
	}
	defer f.Close()
	defer unlock()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	} else if fi.Size()+int64(len(data)) > MaxSize {
		return fmt.Errorf("spool: %s is full (%d bytes)", s.path, fi.Size())
	}
	// A write cut short earlier (a crash, a full disk) left a line without
	// its end; start on a new line, or this event would be glued to it and
	// dropped with it.
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
		}
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Truncate(fi.Size()) // no half event left behind
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
		if s.pending() {
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

// pending reports whether events wait, in the spool or moved aside.
func (s *AuditStore) pending() bool {
	if _, err := os.Stat(s.path + ".draining"); err == nil {
		return true
	}
	fi, err := os.Stat(s.path)
	return err == nil && fi.Size() > 0
}

// openLocked opens the spool for appending under its lock. A drain may
// have moved the file aside between the open and the lock; then the file
// opened is not the one at path any more, and it is opened again.
func (s *AuditStore) openLocked() (*os.File, func(), error) {
	for {
		f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("spool: %w", err)
		}
		unlock, err := lock(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("spool: lock: %w", err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(s.path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, unlock, nil
		}
		unlock()
		f.Close()
	}
}

// Drain hands every spooled event to the store, oldest first. The spool
// is moved aside under its lock, so appends go on meanwhile, and what the
// store did not take stays aside (replaced atomically) for the next drain.
// An event reaches the store twice only if the store committed a write
// whose answer was lost, or the process died between a commit and the
// rewrite: the spool is at least once.
func (s *AuditStore) Drain(ctx context.Context) error {
	s.drain.Lock()
	defer s.drain.Unlock()
	// One drain at a time across processes too (an old serve's last drain
	// and a new one's first may overlap).
	lf, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer lf.Close()
	unlockDrain, err := lock(lf)
	if err != nil {
		return fmt.Errorf("spool: lock: %w", err)
	}
	defer unlockDrain()
	aside := s.path + ".draining"
	if _, err := os.Stat(aside); errors.Is(err, fs.ErrNotExist) {
		if err := s.moveAside(aside); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// Left by an earlier drain (or this one): oldest first, then the
	// spool's newer events on the next drain.
	data, err := os.ReadFile(aside)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	events := s.decode(data)
	for done := 0; done < len(events); done += batch {
		part := events[done:min(done+batch, len(events))]
		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		err := s.store.RecordEvents(bctx, part...)
		cancel()
		if err != nil {
			return errors.Join(fmt.Errorf("spool: %d events wait: %w", len(events)-done, err), replace(aside, events[done:]))
		}
	}
	if len(events) > 0 {
		s.logger.Info("spooled audit events recorded", "count", len(events))
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// moveAside renames a non-empty spool to aside under the spool's lock.
func (s *AuditStore) moveAside(aside string) error {
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
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return err
	}
	if err := os.Rename(s.path, aside); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// decode reads every line of a spool. A line that is not an event (a
// write cut short by a crash) is logged and dropped: it cannot be replayed.
func (s *AuditStore) decode(data []byte) []*lacop.AuditEvent {
	var events []*lacop.AuditEvent
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		l := spooled{AuditEvent: new(lacop.AuditEvent)}
		if err := json.Unmarshal(line, &l); err != nil || l.Type == "" {
			s.logger.Error("audit spool line is not an event; dropped", "line", i+1, "err", err)
			continue
		}
		e := l.AuditEvent
		e.ID, e.Outbox = "", l.Outbox
		events = append(events, e)
	}
	return events
}

// replace writes events to path through a synced temporary file and a
// rename, so a crash leaves either the old content or the new.
func replace(path string, events []*lacop.AuditEvent) error {
	data, err := encode(events)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// spooled is one line of the spool: an event and the deliveries that are
// written with it (a mail announcing it), which its JSON form leaves out.
type spooled struct {
	*lacop.AuditEvent
	Outbox []*lacop.Delivery `json:"outbox,omitempty"`
}

// encode is events as the spool keeps them: one JSON object per line.
func encode(events []*lacop.AuditEvent) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range events {
		if err := enc.Encode(spooled{AuditEvent: e, Outbox: e.Outbox}); err != nil {
			return nil, fmt.Errorf("spool: encode: %w", err)
		}
	}
	return buf.Bytes(), nil
}
