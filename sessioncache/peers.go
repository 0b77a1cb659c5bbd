package sessioncache

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lacop/lacop"
)

// Peers keeps this instance's cache coherent with every other instance
// sharing PostgreSQL or Redis, where no mapped epoch can reach them.
//
// The argument (docs/architecture.md, "Caching on several instances"):
// this instance serves from its cache only while it holds a lease in the
// shared store, judged by its own monotonic clock from the moment the
// renewal was sent, less a margin — so its lease always ends here before
// it ends in the store. A change that ends anything commits, bumps the
// local epoch, then calls Invalidate, which names every instance whose
// lease is live and waits until each has acknowledged, or until that
// lease has run out in the store. An instance acknowledges only after it
// has bumped its epoch, so no entry read before the change is served
// again, and a read that started before the bump cannot put one back (its
// entry carries the old epoch). An instance that does not answer stops
// serving from its cache when its lease runs out here, before the writer
// stops waiting; and whatever lease it takes or renews afterwards reads
// the invalidation's number in the same atomic step, so it empties its
// cache before serving from it again. A lost subscription ends the lease
// here at once.
type Peers struct {
	store  lacop.CacheLeaseStore
	epoch  Epoch
	logger *slog.Logger
	// id names this process in the store and on the bus.
	id string
	// hold is true for a process that caches (serve) and so takes a
	// lease; a process that only writes (the CLI) listens for acks only.
	hold bool

	// TTL is the lease length in the store, Renew how often it is
	// renewed, Margin how much sooner than TTL this process stops trusting
	// a renewal (clock rates differ by parts per million; a margin covers
	// far more). Set before Run.
	TTL, Renew, Margin time.Duration

	base       time.Time    // monotonic origin of validUntil
	validUntil atomic.Int64 // ns since base this process may serve from its cache until; 0: not at all

	mu        sync.Mutex // orders listening, validity and processed against each other
	listening bool
	listenGen uint64 // counts lost subscriptions, so a renewal sent before one is not trusted after it
	processed uint64 // every invalidation up to here has been dropped
	acked     map[string]uint64
	change    chan struct{} // closed (and replaced) on every acknowledgement and on listening

	// debt counts the Invalidate calls that failed after their write had
	// committed; paid is the count an invalidation sent and acknowledged
	// since has covered. While paid < debt, other instances may still
	// hold what those writes ended.
	debt, paid atomic.Uint64

	ackNow chan struct{}
}

// NewPeers returns the coherence of the cache behind epoch through store.
// hold says whether this process caches (and so holds a lease).
func NewPeers(store lacop.CacheLeaseStore, epoch Epoch, hold bool, logger *slog.Logger) *Peers {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return &Peers{store: store, epoch: epoch, logger: logger, id: "i" + base64.RawURLEncoding.EncodeToString(raw[:]),
		hold: hold, TTL: 3 * time.Second, Renew: time.Second, Margin: 250 * time.Millisecond,
		base: time.Now(), acked: map[string]uint64{}, change: make(chan struct{}), ackNow: make(chan struct{}, 1)}
}

// Valid reports whether the cache may be served from now: the lease is
// held, and renewed recently enough by this process's clock.
func (p *Peers) Valid() bool { return p.validAt(time.Now()) }

// validAt is Valid judged at now (a reading of time.Now, whose monotonic
// clock it compares).
func (p *Peers) validAt(now time.Time) bool {
	v := p.validUntil.Load()
	return v != 0 && int64(now.Sub(p.base)) < v
}

// WaitListening waits until the subscription is in place or ctx ends.
func (p *Peers) WaitListening(ctx context.Context) error {
	for {
		p.mu.Lock()
		ok, ch := p.listening, p.change
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run listens, holds the lease (when this process caches) and sends
// acknowledgements until ctx ends; then it gives the lease back.
func (p *Peers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { p.listenLoop(ctx) })
	wg.Go(func() { p.ackLoop(ctx) })
	wg.Go(func() { p.leaseLoop(ctx) })
	wg.Go(func() { p.debtLoop(ctx) })
	wg.Wait()
	p.validUntil.Store(0)
	if p.hold {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := p.store.ReleaseLease(rctx, p.id); err != nil {
			p.logger.Debug("cache lease not released; it runs out by itself", "err", err)
		}
	}
	return nil
}

// listenLoop keeps the subscription, backing off from 100 ms to 2 s.
func (p *Peers) listenLoop(ctx context.Context) {
	const minWait, maxWait = 100 * time.Millisecond, 2 * time.Second
	wait, lost := minWait, false
	for {
		err := p.store.ListenCache(ctx, func() {
			p.mu.Lock()
			p.listening = true
			p.wake()
			p.mu.Unlock()
			if lost {
				p.logger.Info("cache: listening again; caching resumes with the next lease renewal")
				lost, wait = false, minWait
			}
		}, p.deliver)
		p.mu.Lock()
		p.listening = false
		p.listenGen++
		p.validUntil.Store(0)
		p.mu.Unlock()
		p.epoch.Bump()
		if ctx.Err() != nil {
			return
		}
		if !lost {
			p.logger.Warn("cache: invalidations interrupted; serving without the cache until they return", "err", err)
			lost = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// deliver handles one message from the bus.
func (p *Peers) deliver(m lacop.CacheMessage) {
	if m.Ack {
		p.mu.Lock()
		if m.Seq > p.acked[m.Instance] {
			p.acked[m.Instance] = m.Seq
		}
		p.wake()
		p.mu.Unlock()
		return
	}
	// Bump first: what was read before is gone before anyone is told so.
	// This process's own invalidations were bumped for by the write that
	// sent them (Cache.changed), and the ones before them arrived first.
	if m.Instance != p.id {
		p.epoch.Bump()
	}
	p.mu.Lock()
	p.processed = max(p.processed, m.Seq)
	p.mu.Unlock()
	if p.hold {
		p.askAck()
	}
}

// wake tells waiters that something changed; p.mu is held.
func (p *Peers) wake() {
	close(p.change)
	p.change = make(chan struct{})
}

func (p *Peers) askAck() {
	select {
	case p.ackNow <- struct{}{}:
	default:
	}
}

// ackLoop acknowledges the latest invalidation processed; acknowledgements
// asked for while one is being sent are folded into the next.
func (p *Peers) ackLoop(ctx context.Context) {
	var sent uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.ackNow:
		}
		p.mu.Lock()
		seq := p.processed
		p.mu.Unlock()
		if seq <= sent {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, p.TTL)
		err := p.store.AckCache(actx, p.id, seq)
		cancel()
		if err != nil {
			// The writer waits out our lease instead; nothing is unsafe.
			p.logger.Debug("cache: acknowledgement not sent", "err", err)
			continue
		}
		sent = seq
	}
}

// leaseLoop renews the lease every Renew while listening.
func (p *Peers) leaseLoop(ctx context.Context) {
	t := time.NewTicker(p.Renew)
	defer t.Stop()
	for {
		if p.hold {
			p.renew(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// renew renews or takes the lease, and trusts it only as long as it was
// asked for, counted from before it was asked.
func (p *Peers) renew(ctx context.Context) {
	p.mu.Lock()
	listening, gen := p.listening, p.listenGen
	p.mu.Unlock()
	if !listening {
		return
	}
	sent := time.Since(p.base)
	rctx, cancel := context.WithTimeout(ctx, p.TTL/2)
	live, seq, err := p.store.Lease(rctx, p.id, p.TTL)
	cancel()
	if err != nil {
		// A store that fails means no cache: what it would answer now is
		// unknown. The lease is taken again when it answers.
		p.validUntil.Store(0)
		if ctx.Err() == nil {
			p.logger.Debug("cache: lease not renewed", "err", err)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.listening || p.listenGen != gen {
		return // the subscription was lost meanwhile: messages may be missed
	}
	if !live || seq > p.processed {
		// A new lease, or invalidations this process has not heard of:
		// everything cached goes before the lease is trusted.
		p.epoch.Bump()
		if seq > p.processed {
			p.processed = seq
			p.askAck()
		}
	}
	p.validUntil.Store(int64(sent + p.TTL - p.Margin))
	if !live {
		p.logger.Info("cache: lease taken; sessions are served from memory while it is held", "instance", p.id)
	}
}

// Invalidate tells every other instance holding a lease that what it has
// cached must go, and returns once each has acknowledged or its lease has
// run out. The caller has committed the change and bumped its own epoch.
// It finishes even if ctx is cancelled (the change is made; the peers must
// hear of it), bounded by the lease length. When the store cannot be
// reached the error is returned, and the invalidation is sent again later
// by Run.
func (p *Peers) Invalidate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.TTL+2*time.Second)
	defer cancel()
	seq, live, err := p.store.Invalidate(ctx, p.id)
	if err != nil {
		p.debt.Add(1)
		return fmt.Errorf("cache: tell other instances: %w", err)
	}
	answered := time.Now()
	for _, l := range live {
		if l.Instance == p.id {
			continue
		}
		deadline := answered.Add(l.Left)
		for {
			p.mu.Lock()
			done, ch := p.acked[l.Instance] >= seq, p.change
			p.mu.Unlock()
			wait := time.Until(deadline)
			if done || wait <= 0 {
				break
			}
			timer := time.NewTimer(wait)
			select {
			case <-ch:
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return errors.New("cache: waiting for other instances took longer than a lease")
			}
			timer.Stop()
		}
	}
	return nil
}

// Settle sends the invalidation a failed Invalidate still owes and waits
// for it as Invalidate does; it returns nil at once when nothing is owed.
// A write whose Invalidate failed was answered with an error, but its
// change is made: until it is settled, another instance may still serve
// what it ended. So whatever would answer "that is gone" (a sign-out
// retried with the ended cookie) settles first (Cache.settle).
func (p *Peers) Settle(ctx context.Context) error {
	d := p.debt.Load()
	if d <= p.paid.Load() {
		return nil
	}
	if err := p.Invalidate(ctx); err != nil {
		return err
	}
	for q := p.paid.Load(); q < d && !p.paid.CompareAndSwap(q, d); q = p.paid.Load() {
	}
	return nil
}

// debtLoop settles what failed invalidations owe, every Renew.
func (p *Peers) debtLoop(ctx context.Context) {
	t := time.NewTicker(p.Renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := p.Settle(ctx); err != nil && ctx.Err() == nil {
			p.logger.Debug("cache: an invalidation still owed was not sent", "err", err)
		}
	}
}
