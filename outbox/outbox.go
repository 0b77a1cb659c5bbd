// Package outbox delivers what lacop must tell other systems — an app's
// back-channel logout, a mail — at least once, although the process
// that wrote it may crash the moment after. The deliveries are rows in the
// store, written in the same transaction as the change they announce; a
// Sender on every instance claims due ones under a lease (so each is worked
// by one sender at a time), sends them with a deadline, and retries
// timeouts and server errors with exponential backoff until they are too
// old, when it gives up and leaves them, failed, for admins to see.
package outbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/lacop/lacop"
)

// Handler sends one delivery of its kind. It returns nil once the
// receiver has it; an error wrapped by Permanent when trying again cannot
// help (the receiver refused it); any other error to be retried.
type Handler func(ctx context.Context, d *lacop.Delivery) error

// Permanent marks err as not worth retrying: the delivery fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Sender works the outbox of one instance. Zero fields take the defaults
// documented on them; Store and Handlers are required.
type Sender struct {
	Store    lacop.OutboxStore
	Handlers map[string]Handler
	// Owner names this sender in leases; default: random per Run.
	Owner string
	// PerKey bounds the deliveries sent at once to one receiver (default
	// 4), so a receiver that hangs ties up at most that many; Total bounds
	// them all (default 32).
	PerKey, Total int
	// Poll is how often the store is asked for due deliveries when nothing
	// woke the sender (default 1 s): deliveries written by another
	// instance or the CLI, and retries that came due.
	Poll time.Duration
	// Timeout bounds one attempt (default 5 s); KindTimeout overrides it
	// for a kind (a mail server takes longer than an app's logout
	// endpoint). Lease is how long a claimed delivery stays this sender's
	// (default 2×the longest timeout+5 s): after a crash, another sender
	// (or this one restarted) takes it once the lease ran out.
	Timeout, Lease time.Duration
	KindTimeout    map[string]time.Duration
	// MaxAge is how long after it was written a delivery is retried
	// (default 24 h).
	MaxAge time.Duration
	// BackoffBase is the wait after the first failure, doubled after each
	// next one up to BackoffMax (defaults 1 s and 10 min), ±20% jitter.
	BackoffBase, BackoffMax time.Duration
	Logger                  *slog.Logger
	Now                     func() time.Time
	// OnGiveUp is called once a delivery failed for good.
	OnGiveUp func(ctx context.Context, d *lacop.Delivery, lastErr string)

	once  sync.Once
	wake  chan struct{}
	mu    sync.Mutex
	busy  map[string]int
	stats Stats
}

// Stats counts what a sender did since it started.
type Stats struct {
	Sent, Retried, Failed int64
	InFlight              int
}

// Stats returns the sender's counts so far.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	for _, n := range s.busy {
		st.InFlight += n
	}
	return st
}

func (s *Sender) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		s.busy = map[string]int{}
		if s.PerKey <= 0 {
			s.PerKey = 4
		}
		if s.Total <= 0 {
			s.Total = 32
		}
		if s.Poll <= 0 {
			s.Poll = time.Second
		}
		if s.Timeout <= 0 {
			s.Timeout = 5 * time.Second
		}
		if s.Lease <= 0 {
			longest := s.Timeout
			for _, t := range s.KindTimeout {
				longest = max(longest, t)
			}
			s.Lease = 2*longest + 5*time.Second
		}
		if s.MaxAge <= 0 {
			s.MaxAge = 24 * time.Hour
		}
		if s.BackoffBase <= 0 {
			s.BackoffBase = time.Second
		}
		if s.BackoffMax <= 0 {
			s.BackoffMax = 10 * time.Minute
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Owner == "" {
			s.Owner = rand.Text()
		}
	})
}

// Wake makes the sender look for due deliveries now rather than at its
// next poll: called after a change wrote some. It never blocks.
func (s *Sender) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends, then waits for the attempts in
// flight (each bounded by Timeout) and returns nil.
func (s *Sender) Run(ctx context.Context) error {
	s.init()
	if s.Store == nil || len(s.Handlers) == 0 {
		return errors.New("outbox: a sender needs a store and handlers")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, 1) // an attempt finished: room to claim
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
		case <-done:
		}
		for s.claim(ctx, &wg, done) {
		}
		timer.Reset(s.Poll)
	}
}

// claim takes what there is room for and starts sending it; it reports
// whether it filled every free slot, so the caller claims again.
func (s *Sender) claim(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}) bool {
	s.mu.Lock()
	free, busy := s.Total, make(map[string]int, len(s.busy))
	for k, n := range s.busy {
		free -= n
		busy[k] = n
	}
	s.mu.Unlock()
	if free <= 0 || ctx.Err() != nil {
		return false
	}
	list, err := s.Store.ClaimDeliveries(ctx, lacop.Claim{Owner: s.Owner, Now: s.Now(), Lease: s.Lease,
		Limit: free, PerKey: s.PerKey, Busy: busy})
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.Warn("outbox: claim deliveries", "err", err)
		}
		return false
	}
	s.mu.Lock()
	for _, d := range list {
		s.busy[d.Key]++
	}
	s.mu.Unlock()
	for _, d := range list {
		wg.Go(func() {
			s.attempt(ctx, d)
			s.mu.Lock()
			if s.busy[d.Key]--; s.busy[d.Key] <= 0 {
				delete(s.busy, d.Key)
			}
			s.mu.Unlock()
			select { // a signal, not a count: one pending is enough
			case done <- struct{}{}:
			default:
			}
		})
	}
	return len(list) == free
}

// attempt sends d once and records the outcome in the store.
func (s *Sender) attempt(ctx context.Context, d *lacop.Delivery) {
	// The outcome is written even if ctx ended meanwhile (shutdown): a
	// delivery that reached its receiver must not be sent again needlessly.
	store := context.WithoutCancel(ctx)
	h, ok := s.Handlers[d.Kind]
	var err error
	if !ok {
		err = fmt.Errorf("no handler for deliveries of kind %q", d.Kind)
	} else {
		timeout := s.Timeout
		if t, ok := s.KindTimeout[d.Kind]; ok && t > 0 {
			timeout = t
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		err = h(actx, d)
		if err != nil && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		cancel()
	}
	if err == nil {
		if ferr := s.Store.FinishDelivery(store, d.ID); ferr != nil {
			s.Logger.Warn("outbox: finish delivery", "kind", d.Kind, "key", d.Key, "err", ferr)
		}
		s.count(func(st *Stats) { st.Sent++ })
		return
	}
	if ctx.Err() != nil {
		// Shutting down mid-attempt: not the receiver's fault. The lease
		// runs out and the next sender tries again.
		return
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	var perm *permanentError
	next := s.Now().Add(s.backoff(d.Attempts + 1))
	if errors.As(err, &perm) || next.Sub(d.CreatedAt) > s.MaxAge {
		if ferr := s.Store.FailDelivery(store, d.ID, msg); ferr != nil {
			s.Logger.Warn("outbox: fail delivery", "kind", d.Kind, "key", d.Key, "err", ferr)
			return
		}
		d.Attempts++
		s.count(func(st *Stats) { st.Failed++ })
		s.Logger.Warn("outbox: delivery given up", "kind", d.Kind, "key", d.Key, "attempts", d.Attempts, "err", msg)
		if s.OnGiveUp != nil {
			s.OnGiveUp(store, d, msg)
		}
		return
	}
	if rerr := s.Store.RetryDelivery(store, d.ID, next, msg); rerr != nil {
		s.Logger.Warn("outbox: retry delivery", "kind", d.Kind, "key", d.Key, "err", rerr)
		return
	}
	s.count(func(st *Stats) { st.Retried++ })
	s.Logger.Info("outbox: delivery will be retried", "kind", d.Kind, "key", d.Key,
		"attempts", d.Attempts+1, "next", next, "err", msg)
}

// backoff is the wait after the n-th failed attempt.
func (s *Sender) backoff(n int) time.Duration {
	d := float64(s.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(s.BackoffMax) || math.IsInf(d, 0) {
		d = float64(s.BackoffMax)
	}
	return time.Duration(d * (0.8 + 0.4*mrand.Float64()))
}

func (s *Sender) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}
