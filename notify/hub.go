// Package notify fans "session ended" news out to the streams of this
// process. Hub is the in-process half every Notifier shares; Local is the
// whole Notifier for a single process. Stores that reach other processes
// (the SQLite relay, Redis, PostgreSQL) deliver into a Hub.
package notify

import (
	"context"
	"sync"

	"github.com/lacop/lacop"
)

// Hub holds this process's subscribers, keyed by public session id.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan lacop.SessionEnded]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{subs: map[string]map[chan lacop.SessionEnded]struct{}{}}
}

// Subscribe implements the subscribing half of lacop.Notifier.
func (h *Hub) Subscribe(sessionID string) (<-chan lacop.SessionEnded, func()) {
	ch := make(chan lacop.SessionEnded, 1)
	h.mu.Lock()
	set := h.subs[sessionID]
	if set == nil {
		set = map[chan lacop.SessionEnded]struct{}{}
		h.subs[sessionID] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[sessionID], ch)
			if len(h.subs[sessionID]) == 0 {
				delete(h.subs, sessionID)
			}
		})
	}
}

// Deliver hands ev to every subscriber of its session without blocking: a
// subscriber's buffer holds one event, and one is all a stream needs.
func (h *Hub) Deliver(ev lacop.SessionEnded) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[ev.SessionID] {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Subscribers counts the sessions with at least one subscriber.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

var _ lacop.Notifier = (*Local)(nil)

// Local is a Notifier for one process: Publish delivers at once.
type Local struct{ *Hub }

// NewLocal returns a Local notifier.
func NewLocal() *Local { return &Local{Hub: NewHub()} }

// Publish implements lacop.Notifier.
func (l *Local) Publish(_ context.Context, events ...lacop.SessionEnded) error {
	for _, ev := range events {
		l.Deliver(ev)
	}
	return nil
}
