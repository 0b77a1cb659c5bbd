package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/notify"
)

var _ lacop.Notifier = (*Notifier)(nil)

// Notifier relays SessionEnded events between the processes that share one
// database file: Publish writes them to a table, and Run polls it and
// delivers new rows to this process's subscribers.
type Notifier struct {
	*notify.Hub
	db     *DB
	logger *slog.Logger
	// Interval is how often Run polls; it bounds how late a stream hears
	// of its session's end.
	Interval time.Duration
	// Keep is how long announcements stay in the table.
	Keep time.Duration
}

// NewNotifier returns a relay on db.
func NewNotifier(db *DB, logger *slog.Logger) *Notifier {
	return &Notifier{Hub: notify.NewHub(), db: db, logger: logger, Interval: 200 * time.Millisecond, Keep: 5 * time.Minute}
}

// Publish implements lacop.Notifier.
func (n *Notifier) Publish(ctx context.Context, events ...lacop.SessionEnded) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := n.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: publish: %w", err)
	}
	defer tx.Rollback()
	for _, ev := range events {
		at := ev.Time
		if at.IsZero() {
			at = n.db.Now()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_events (session_id, user_id, reason, time) VALUES (?, ?, ?, ?)`,
			ev.SessionID, ev.UserID, ev.Reason, ms(at)); err != nil {
			return fmt.Errorf("sqlite: publish: %w", err)
		}
	}
	return tx.Commit()
}

// Run delivers announcements from every process until ctx ends. It starts
// after the newest existing row: streams opened later re-check their session
// themselves.
func (n *Notifier) Run(ctx context.Context) error {
	var last int64
	if err := n.db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM session_events`).Scan(&last); err != nil {
		return fmt.Errorf("sqlite: notifier: %w", err)
	}
	t := time.NewTicker(n.Interval)
	defer t.Stop()
	for polls := 0; ; polls++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var err error
		if last, err = n.poll(ctx, last); err != nil {
			n.logger.Warn("poll session events", "err", err)
		}
		if polls%int(max(1, n.Keep/n.Interval/10)) == 0 {
			if _, err := n.db.write.ExecContext(ctx, `DELETE FROM session_events WHERE time < ?`, ms(n.db.Now().Add(-n.Keep))); err != nil {
				n.logger.Warn("prune session events", "err", err)
			}
		}
	}
}

func (n *Notifier) poll(ctx context.Context, last int64) (int64, error) {
	rows, err := n.db.read.QueryContext(ctx, `SELECT id, session_id, user_id, reason, time FROM session_events WHERE id > ? ORDER BY id`, last)
	if err != nil {
		return last, err
	}
	defer rows.Close()
	for rows.Next() {
		var ev lacop.SessionEnded
		var at int64
		if err := rows.Scan(&last, &ev.SessionID, &ev.UserID, &ev.Reason, &at); err != nil {
			return last, err
		}
		ev.Time = fromMS(at)
		n.Deliver(ev)
	}
	return last, rows.Err()
}
