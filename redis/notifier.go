package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/notify"
)

var _ lacop.Notifier = (*Notifier)(nil)

// Notifier carries SessionEnded events between lacop processes over Redis
// pub/sub: Publish sends them as JSON on one channel, and Run delivers what
// arrives into this process's Hub.
//
// Pub/sub keeps nothing: an event published while a process is not
// subscribed (before Ready, or while Redis restarts) never reaches it. That
// only delays the news, as the Notifier contract allows: streams re-check
// their session on their own.
type Notifier struct {
	*notify.Hub
	*notify.Relay
	c      *Client
	logger *slog.Logger

	// Now stamps events published without a time.
	Now func() time.Time
	// Check is how long Run waits on a silent subscription before it pings
	// Redis; when the ping gets no answer within as long again, the
	// connection is taken for dead and replaced.
	Check time.Duration
}

// NewNotifier returns a Notifier on c.
func NewNotifier(c *Client, logger *slog.Logger) *Notifier {
	return &Notifier{Hub: notify.NewHub(), Relay: notify.NewRelay("redis", logger), c: c, logger: logger,
		Now: time.Now, Check: 5 * time.Second}
}

// Publish implements lacop.Notifier, in one pipeline however many events.
func (n *Notifier) Publish(ctx context.Context, events ...lacop.SessionEnded) error {
	if len(events) == 0 {
		return nil
	}
	channel := n.c.channel()
	pipe := n.c.rdb.Pipeline()
	for _, ev := range events {
		if ev.Time.IsZero() {
			ev.Time = n.Now()
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("redis: publish: %w", err)
		}
		pipe.Publish(ctx, channel, b)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis: publish: %w", err)
	}
	return nil
}

// Run delivers events from every process until ctx ends, and returns nil
// then; the Relay subscribes again whenever the subscription fails (Redis
// restarts, the network drops).
func (n *Notifier) Run(ctx context.Context) error { return n.Loop(ctx, n.subscribe) }

// subscribe holds one subscription, calling confirmed when Redis confirms
// it, until it fails or ctx ends.
func (n *Notifier) subscribe(ctx context.Context, confirmed func()) error {
	return n.c.listen(ctx, n.c.channel(), n.Check, confirmed, func(payload string) {
		var ev lacop.SessionEnded
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			n.logger.Warn("redis: malformed session-ended event", "err", err)
			return
		}
		n.Deliver(ev)
	})
}
