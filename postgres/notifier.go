package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/notify"
)

var _ lacop.Notifier = (*Notifier)(nil)

// notifyChannel is the LISTEN/NOTIFY channel ended sessions are announced on.
const notifyChannel = "lacop_session_ended"

// maxPayload is the largest NOTIFY payload PostgreSQL takes (under 8000
// bytes in the default build), less a margin.
const maxPayload = 7900

// Notifier relays SessionEnded events between the lacop instances sharing
// one database: Publish sends them with pg_notify, and Run listens on a
// connection of its own and delivers them to this process's subscribers.
// Nothing is stored: an instance that is not listening when an event is
// sent misses it, and its streams learn of the end when they re-check.
type Notifier struct {
	*notify.Hub
	*notify.Relay
	db     *DB
	logger *slog.Logger

	// HealthInterval is how long Run waits for a notification before
	// pinging its connection, so that a server that vanished without
	// closing it (a dead host, a dropped NAT mapping) is noticed.
	HealthInterval time.Duration
}

// NewNotifier returns a relay on db that logs its reconnects to logger.
func NewNotifier(db *DB, logger *slog.Logger) *Notifier {
	return &Notifier{
		Hub:            notify.NewHub(),
		Relay:          notify.NewRelay("postgres", logger),
		db:             db,
		logger:         logger,
		HealthInterval: 30 * time.Second,
	}
}

// Publish implements lacop.Notifier. The events are packed as JSON arrays
// into as few payloads as fit, and every payload goes out in one
// statement: one round trip however many sessions ended.
func (n *Notifier) Publish(ctx context.Context, events ...lacop.SessionEnded) error {
	if len(events) == 0 {
		return nil
	}
	payloads, err := n.pack(events)
	if len(payloads) > 0 {
		if _, perr := n.db.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`,
			notifyChannel, payloads); perr != nil {
			return wrap("publish", perr)
		}
	}
	return err
}

// pack encodes events into payloads of at most maxPayload bytes. An event
// too large to send alone is left out and reported; the rest still go.
func (n *Notifier) pack(events []lacop.SessionEnded) ([]string, error) {
	var payloads []string
	var errs []error
	var buf bytes.Buffer
	flush := func() {
		if buf.Len() > 0 {
			buf.WriteByte(']')
			payloads = append(payloads, buf.String())
			buf.Reset()
		}
	}
	for _, ev := range events {
		if ev.Time.IsZero() {
			ev.Time = n.db.Now()
		}
		data, err := json.Marshal(ev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(data)+2 > maxPayload {
			errs = append(errs, fmt.Errorf("event for session %.40q is %d bytes, too large to send", ev.SessionID, len(data)))
			continue
		}
		if buf.Len()+1+len(data)+1 > maxPayload {
			flush()
		}
		if buf.Len() == 0 {
			buf.WriteByte('[')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(data)
	}
	flush()
	if err := errors.Join(errs...); err != nil {
		return payloads, fmt.Errorf("postgres: publish: %w", err)
	}
	return payloads, nil
}

// Run listens for announcements from every instance and delivers them
// until ctx ends, then returns nil; the Relay reconnects whenever the
// connection is lost. Run must not be called twice at once.
func (n *Notifier) Run(ctx context.Context) error { return n.Loop(ctx, n.listen) }

// listen runs one connection: LISTEN, then deliver what arrives until the
// connection fails or ctx ends, calling listening once LISTEN took.
func (n *Notifier) listen(ctx context.Context, listening func()) error {
	return n.db.listen(ctx, notifyChannel, n.HealthInterval, listening, n.deliver)
}

// deliver decodes one payload, an array of events or a single one, and
// hands each event to its subscribers.
func (n *Notifier) deliver(payload string) {
	var events []lacop.SessionEnded
	var err error
	if len(payload) > 0 && payload[0] == '[' {
		err = json.Unmarshal([]byte(payload), &events)
	} else {
		events = make([]lacop.SessionEnded, 1)
		err = json.Unmarshal([]byte(payload), &events[0])
	}
	if err != nil {
		n.logger.Warn("ignoring a malformed session notification", "err", err, "payload", fmt.Sprintf("%.200s", payload))
		return
	}
	for _, ev := range events {
		n.Deliver(ev)
	}
}
