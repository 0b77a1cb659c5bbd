package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.OutboxStore = (*OutboxStore)(nil)

// OutboxStore keeps deliveries that must reach another system at least
// once. Claims go through the single write connection, so two senders of
// one process can never lease the same delivery; several processes on one
// SQLite file share that file's write lock the same way.
type OutboxStore struct{ db *DB }

// NewOutboxStore returns an OutboxStore on db.
func NewOutboxStore(db *DB) *OutboxStore { return &OutboxStore{db: db} }

const deliveryColumns = `id, kind, key, payload, state, attempts, last_error, created_at, next_attempt_at, lease_owner, lease_until`

// EnqueueDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) EnqueueDeliveries(ctx context.Context, ds ...*lacop.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	return s.db.writeTx(ctx, "enqueue deliveries", func(tx *sql.Tx) error {
		return insertDeliveries(ctx, tx, ds)
	})
}

// ClaimDeliveries implements lacop.OutboxStore. It costs a few index
// lookups per receiver with room, however many deliveries wait: a sender
// claims each time an attempt finishes, so a claim that read every due row
// (a window over the whole queue) made draining a burst quadratic.
func (s *OutboxStore) ClaimDeliveries(ctx context.Context, c lacop.Claim) ([]*lacop.Delivery, error) {
	if err := checkClaim(c); err != nil {
		return nil, err
	}
	var out []*lacop.Delivery
	err := s.db.writeTx(ctx, "claim deliveries", func(tx *sql.Tx) error {
		ids, err := dueDeliveries(ctx, tx, c)
		if err != nil || len(ids) == 0 {
			return err
		}
		args := []any{c.Owner, ms(c.Now.Add(c.Lease))}
		for _, id := range ids {
			args = append(args, id)
		}
		out, err = scanDeliveries(tx.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?
			WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) RETURNING `+deliveryColumns, args...))
		return err
	})
	if err != nil {
		return nil, err
	}
	sortDeliveries(out) // RETURNING gives no order
	return out, nil
}

// pendingKeys walks the distinct receivers with pending deliveries down the
// outbox_key_due index, one lookup each (a skip scan).
const pendingKeys = `WITH RECURSIVE k(key) AS (
		SELECT min(key) FROM outbox WHERE state = 'pending'
		UNION ALL
		SELECT (SELECT min(key) FROM outbox WHERE state = 'pending' AND key > k.key) FROM k WHERE k.key IS NOT NULL)
	SELECT key FROM k WHERE key IS NOT NULL`

// dueDeliveries picks the ids a claim takes: per receiver the earliest due
// and unleased, as many as it has room for, then the earliest of those
// up to the claim's limit.
func dueDeliveries(ctx context.Context, tx *sql.Tx, c lacop.Claim) ([]string, error) {
	rows, err := tx.QueryContext(ctx, pendingKeys)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
	}
	type due struct {
		id            string
		next, created int64
	}
	var cands []due
	now := ms(c.Now)
	for _, k := range keys {
		room := c.Limit
		if c.PerKey > 0 {
			room = min(room, c.PerKey-c.Busy[k])
		}
		if room <= 0 {
			continue
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, next_attempt_at, created_at FROM outbox
			WHERE state = 'pending' AND key = ? AND next_attempt_at <= ? AND lease_until <= ?
			ORDER BY next_attempt_at, created_at, id LIMIT ?`, k, now, now, room)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
		}
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.next, &d.created); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
			}
			cands = append(cands, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
		}
	}
	slices.SortFunc(cands, func(a, b due) int {
		if a.next != b.next {
			return cmp.Compare(a.next, b.next)
		}
		if a.created != b.created {
			return cmp.Compare(a.created, b.created)
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, 0, min(len(cands), c.Limit))
	for _, d := range cands[:min(len(cands), c.Limit)] {
		ids = append(ids, d.id)
	}
	return ids, nil
}

// checkClaim refuses a claim no sender should make.
func checkClaim(c lacop.Claim) error {
	if c.Owner == "" || c.Lease <= 0 || c.Limit <= 0 || c.PerKey < 0 {
		return lacop.Errorf(lacop.EINVALID, "A claim needs an owner, a lease and a limit.")
	}
	return nil
}

// FinishDelivery implements lacop.OutboxStore.
func (s *OutboxStore) FinishDelivery(ctx context.Context, id string) error {
	return s.db.writeTx(ctx, "finish delivery", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id)
		return err
	})
}

// RetryDelivery implements lacop.OutboxStore.
func (s *OutboxStore) RetryDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return s.update(ctx, "retry delivery", `UPDATE outbox SET attempts = attempts + 1, last_error = ?,
		next_attempt_at = ?, lease_owner = '', lease_until = 0 WHERE id = ? AND state = 'pending'`,
		lastError, ms(next), id)
}

// FailDelivery implements lacop.OutboxStore.
func (s *OutboxStore) FailDelivery(ctx context.Context, id string, lastError string) error {
	return s.update(ctx, "fail delivery", `UPDATE outbox SET attempts = attempts + 1, last_error = ?,
		state = 'failed', lease_owner = '', lease_until = 0 WHERE id = ? AND state = 'pending'`,
		lastError, id)
}

// update runs one statement on one pending delivery; ENOTFOUND if it is
// gone or no longer pending.
func (s *OutboxStore) update(ctx context.Context, op, query string, args ...any) error {
	return s.db.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return lacop.Errorf(lacop.ENOTFOUND, "No pending delivery with that id.")
		}
		return nil
	})
}

// Deliveries implements lacop.OutboxStore.
func (s *OutboxStore) Deliveries(ctx context.Context, state string, limit int) ([]*lacop.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	return scanDeliveries(s.db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM outbox
		WHERE state = ? ORDER BY created_at, id LIMIT ?`, state, limit))
}

// CountDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) CountDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
		}
		counts[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
	}
	return counts, nil
}

// PruneDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) PruneDeliveries(ctx context.Context, before time.Time) error {
	return s.db.writeTx(ctx, "prune deliveries", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE state = 'failed' AND created_at < ?`, ms(before))
		return err
	})
}

// scanDeliveries reads rows of deliveryColumns.
func scanDeliveries(rows *sql.Rows, err error) ([]*lacop.Delivery, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	defer rows.Close()
	var out []*lacop.Delivery
	for rows.Next() {
		var d lacop.Delivery
		var created, next, until int64
		if err := rows.Scan(&d.ID, &d.Kind, &d.Key, &d.Payload, &d.State, &d.Attempts, &d.LastError,
			&created, &next, &d.LeaseOwner, &until); err != nil {
			return nil, fmt.Errorf("sqlite: deliveries: %w", err)
		}
		d.CreatedAt, d.NextAttemptAt, d.LeaseUntil = fromMSOrZero(created), fromMSOrZero(next), fromMSOrZero(until)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	return out, nil
}

// sortDeliveries puts deliveries in the order a sender should work them:
// due first, then oldest.
func sortDeliveries(list []*lacop.Delivery) {
	slices.SortFunc(list, func(a, b *lacop.Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// fromMSOrZero is fromMS for columns where 0 means "not set".
func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}
