package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.OutboxStore = (*OutboxStore)(nil)

// OutboxStore keeps deliveries that must reach another system at least
// once. Instances claim deliveries with FOR UPDATE SKIP LOCKED, so claims
// running at the same moment on different instances never return the same
// delivery and never wait on each other.
type OutboxStore struct{ db *DB }

// NewOutboxStore returns an OutboxStore on db.
func NewOutboxStore(db *DB) *OutboxStore { return &OutboxStore{db: db} }

const deliveryColumns = `id, kind, key, payload, state, attempts, last_error, created_at, next_attempt_at, lease_owner, lease_until`

// EnqueueDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) EnqueueDeliveries(ctx context.Context, ds ...*lacop.Delivery) error {
	if err := insertDeliveries(ctx, s.db.pool, ds); err != nil {
		return wrap("enqueue deliveries", err)
	}
	return nil
}

// ClaimDeliveries implements lacop.OutboxStore. It walks the receivers with
// pending deliveries down the outbox_key_due index (a skip scan) and takes
// each one's earliest due, as many as it has room for: a few index lookups
// per receiver however long the queue, where a window over every due row
// made draining a burst quadratic (a sender claims as each attempt ends).
// Two instances claiming at once may pick the same candidates; the update
// re-checks each row's lease under its lock, so the later one skips what
// the first took.
func (s *OutboxStore) ClaimDeliveries(ctx context.Context, c lacop.Claim) ([]*lacop.Delivery, error) {
	if c.Owner == "" || c.Lease <= 0 || c.Limit <= 0 || c.PerKey < 0 {
		return nil, lacop.Errorf(lacop.EINVALID, "A claim needs an owner, a lease and a limit.")
	}
	busy := c.Busy
	if busy == nil {
		busy = map[string]int{}
	}
	out, err := scanDeliveries(s.db.pool.Query(ctx, `WITH RECURSIVE keys(key) AS (
			SELECT min(key) FROM outbox WHERE state = 'pending'
			UNION ALL
			SELECT (SELECT min(key) FROM outbox WHERE state = 'pending' AND key > keys.key) FROM keys WHERE keys.key IS NOT NULL),
		due AS (
			SELECT d.id FROM keys CROSS JOIN LATERAL (
				SELECT id, next_attempt_at, created_at FROM outbox o
				WHERE o.state = 'pending' AND o.key = keys.key AND o.next_attempt_at <= $3 AND o.lease_until <= $3
				ORDER BY next_attempt_at, created_at, id
				LIMIT CASE WHEN $5 = 0 THEN $4 ELSE greatest(least($4, $5 - coalesce(($6::jsonb ->> keys.key)::int, 0)), 0) END) d
			WHERE keys.key IS NOT NULL
			ORDER BY d.next_attempt_at, d.created_at, d.id LIMIT $4),
		claimed AS (
			UPDATE outbox o SET lease_owner = $1, lease_until = $2 FROM due
			WHERE o.id = due.id AND o.state = 'pending' AND o.lease_until <= $3
			RETURNING o.id, o.kind, o.key, o.payload, o.state, o.attempts, o.last_error,
				o.created_at, o.next_attempt_at, o.lease_owner, o.lease_until)
		SELECT `+deliveryColumns+` FROM claimed ORDER BY next_attempt_at, created_at, id`,
		c.Owner, ms(c.Now.Add(c.Lease)), ms(c.Now), c.Limit, c.PerKey, busy))
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	return out, nil
}

// FinishDelivery implements lacop.OutboxStore.
func (s *OutboxStore) FinishDelivery(ctx context.Context, id string) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id); err != nil {
		return wrap("finish delivery", err)
	}
	return nil
}

// RetryDelivery implements lacop.OutboxStore.
func (s *OutboxStore) RetryDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return s.update(ctx, "retry delivery", `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
		next_attempt_at = $3, lease_owner = '', lease_until = 0 WHERE id = $1 AND state = 'pending'`,
		id, clean(lastError), ms(next))
}

// FailDelivery implements lacop.OutboxStore.
func (s *OutboxStore) FailDelivery(ctx context.Context, id string, lastError string) error {
	return s.update(ctx, "fail delivery", `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
		state = 'failed', lease_owner = '', lease_until = 0 WHERE id = $1 AND state = 'pending'`,
		id, clean(lastError))
}

// update runs one statement on one pending delivery; ENOTFOUND if it is
// gone or no longer pending.
func (s *OutboxStore) update(ctx context.Context, op, query string, args ...any) error {
	tag, err := s.db.pool.Exec(ctx, query, args...)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "No pending delivery with that id.")
	}
	return nil
}

// Deliveries implements lacop.OutboxStore.
func (s *OutboxStore) Deliveries(ctx context.Context, state string, limit int) ([]*lacop.Delivery, error) {
	if limit <= 0 || !storable(state) {
		return nil, nil
	}
	out, err := scanDeliveries(s.db.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM outbox
		WHERE state = $1 ORDER BY created_at, id LIMIT $2`, state, limit))
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	return out, nil
}

// CountDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) CountDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, wrap("count deliveries", err)
	}
	counts := map[string]int{}
	var state string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		counts[state] = n
		return nil
	}); err != nil {
		return nil, wrap("count deliveries", err)
	}
	return counts, nil
}

// PruneDeliveries implements lacop.OutboxStore.
func (s *OutboxStore) PruneDeliveries(ctx context.Context, before time.Time) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM outbox WHERE state = 'failed' AND created_at < $1`, ms(before)); err != nil {
		return wrap("prune deliveries", err)
	}
	return nil
}

// scanDeliveries reads rows of deliveryColumns.
func scanDeliveries(rows pgx.Rows, err error) ([]*lacop.Delivery, error) {
	if err != nil {
		return nil, err
	}
	var out []*lacop.Delivery
	var d lacop.Delivery
	var created, next, until int64
	if _, err := pgx.ForEachRow(rows, []any{&d.ID, &d.Kind, &d.Key, &d.Payload, &d.State, &d.Attempts,
		&d.LastError, &created, &next, &d.LeaseOwner, &until}, func() error {
		c := d
		c.Payload = append([]byte(nil), d.Payload...)
		c.CreatedAt, c.NextAttemptAt, c.LeaseUntil = fromMSOrZero(created), fromMSOrZero(next), fromMSOrZero(until)
		out = append(out, &c)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}
