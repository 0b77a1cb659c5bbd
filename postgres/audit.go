package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lacop/lacop"
)

var _ lacop.AuditStore = (*AuditStore)(nil)

// AuditStore keeps the audit log in PostgreSQL.
type AuditStore struct{ db *DB }

// NewAuditStore returns an AuditStore on db.
func NewAuditStore(db *DB) *AuditStore { return &AuditStore{db: db} }

// defaultAuditLimit caps a listing when the filter sets no limit.
const defaultAuditLimit = 100

// RecordEvents implements lacop.AuditStore. The events travel as one array
// per column and are inserted by one statement, whatever their number: in
// one round trip, ending 10,000 sessions records 10,000 events.
func (s *AuditStore) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	times := make([]int64, n)
	cols := make([][]string, 7) // type, user, session, actor, ip, user agent, detail
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, e := range events {
		if e.Time.IsZero() {
			e.Time = s.db.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond) // stored as milliseconds
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		detail := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			detail[clean(k)] = clean(v) // jsonb refuses \u0000
		}
		data, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("postgres: record events: %w", err)
		}
		times[i] = ms(e.Time)
		for c, v := range []string{e.Type, e.UserID, e.SessionID, e.ActorID, e.IP, e.UserAgent, string(data)} {
			cols[c][i] = clean(v)
		}
	}
	var outbox []*lacop.Delivery
	for _, e := range events {
		outbox = append(outbox, e.Outbox...)
	}
	var ids []int64
	insert := func(q queryer) error {
		var err error
		ids, err = insertEvents(ctx, q, n, times, cols)
		return err
	}
	if len(outbox) == 0 {
		if err := insert(s.db.pool); err != nil {
			return err
		}
	} else if err := s.db.inTx(ctx, "record events", func(tx pgx.Tx) error {
		if err := insert(tx); err != nil {
			return err
		}
		return insertDeliveries(ctx, tx, outbox)
	}); err != nil {
		return err
	}
	for i, e := range events {
		e.ID = strconv.FormatInt(ids[i], 10)
	}
	return nil
}

// insertEvents writes the events' columns on q and returns their ids in
// input order.
func insertEvents(ctx context.Context, q queryer, n int, times []int64, cols [][]string) ([]int64, error) {
	// Rows are inserted in input order, so the serial ids come out
	// ascending in that order; RETURNING's own order is not promised, hence
	// the sort.
	rows, err := q.Query(ctx, `INSERT INTO audit_events
		(time, type, user_id, session_id, actor_id, ip, user_agent, detail)
		SELECT t, ty, u, se, a, ip, ua, d::jsonb
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
			WITH ORDINALITY AS e(t, ty, u, se, a, ip, ua, d, ord)
		ORDER BY ord
		RETURNING id`, times, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])
	if err != nil {
		return nil, wrap("record events", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("record events", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("record events", err)
	}
	if len(ids) != n {
		return nil, fmt.Errorf("postgres: record events: %d ids for %d events", len(ids), n)
	}
	slices.Sort(ids)
	return ids, nil
}

// Events implements lacop.AuditStore.
func (s *AuditStore) Events(ctx context.Context, f lacop.AuditFilter) ([]*lacop.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.UserID != "" {
		add("user_id = $%d", f.UserID)
	}
	if f.Type != "" {
		add("type = $%d", f.Type)
	}
	if !f.Since.IsZero() {
		add("time >= $%d", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < $%d", ms(f.Until))
	}
	if f.BeforeID != "" {
		before, err := strconv.ParseInt(f.BeforeID, 10, 64)
		if err != nil {
			return nil, lacop.Errorf(lacop.EINVALID, "Invalid event id %q.", f.BeforeID)
		}
		add("id < $%d", before)
	}
	query := `SELECT id, time, type, user_id, session_id, actor_id, ip, user_agent, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))

	rows, err := s.db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("events", err)
	}
	defer rows.Close()
	events := []*lacop.AuditEvent{}
	for rows.Next() {
		var e lacop.AuditEvent
		var id, at int64
		var detail []byte
		if err := rows.Scan(&id, &at, &e.Type, &e.UserID, &e.SessionID, &e.ActorID, &e.IP, &e.UserAgent, &detail); err != nil {
			return nil, wrap("events", err)
		}
		if err := json.Unmarshal(detail, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: event %d detail: %w", id, err)
		}
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.ID, e.Time = strconv.FormatInt(id, 10), fromMS(at)
		events = append(events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("events", err)
	}
	return events, nil
}
