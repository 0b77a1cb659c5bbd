package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Relay keeps one cross-process subscription alive for a Notifier (the
// PostgreSQL LISTEN connection, the Redis pub/sub subscription): it
// listens again after every failure, backing off from 100 ms to 2 s, logs
// each loss and recovery once, and closes Ready the first time it listens.
// Events sent while it is not listening are missed; streams re-check their
// session on their own.
type Relay struct {
	name   string
	logger *slog.Logger
	once   sync.Once
	ready  chan struct{}
}

// NewRelay returns a Relay whose log lines name it.
func NewRelay(name string, logger *slog.Logger) *Relay {
	return &Relay{name: name, logger: logger, ready: make(chan struct{})}
}

// Ready is closed once the relay has listened for the first time: events
// published before are not received, so start-up and tests wait for it.
func (r *Relay) Ready() <-chan struct{} { return r.ready }

// Loop calls listen until ctx ends, then returns nil. listen holds one
// connection: it calls listening once it is subscribed, and returns when
// the connection fails (or ctx ends).
func (r *Relay) Loop(ctx context.Context, listen func(ctx context.Context, listening func()) error) error {
	const minWait, maxWait = 100 * time.Millisecond, 2 * time.Second
	wait, lost := minWait, false
	for {
		err := listen(ctx, func() {
			r.once.Do(func() { close(r.ready) })
			if lost {
				r.logger.Info(r.name + ": listening again for ended sessions")
				lost, wait = false, minWait
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if !lost {
			r.logger.Warn(r.name+": session notifications interrupted; reconnecting", "err", err)
			lost = true
		} else {
			r.logger.Debug(r.name+": reconnect failed", "err", err, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}
