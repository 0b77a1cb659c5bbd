package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.AuditStore = (*AuditStore)(nil)

// AuditStore keeps the audit log in SQLite.
type AuditStore struct{ db *DB }

// NewAuditStore returns an AuditStore on db.
func NewAuditStore(db *DB) *AuditStore { return &AuditStore{db: db} }

// defaultAuditLimit caps a listing when the filter sets no limit.
const defaultAuditLimit = 100

// RecordEvents implements lacop.AuditStore.
func (s *AuditStore) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: record events: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_events
		(time, type, user_id, session_id, actor_id, ip, user_agent, detail_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	if err != nil {
		return fmt.Errorf("sqlite: record events: %w", err)
	}
	defer stmt.Close()
	ids := make([]int64, len(events))
	for i, e := range events {
		if e.Time.IsZero() {
			e.Time = s.db.Now()
		}
		e.Time = e.Time.UTC().Truncate(time.Millisecond) // stored as milliseconds
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		data, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("sqlite: record events: %w", err)
		}
		if err := stmt.QueryRowContext(ctx, ms(e.Time), e.Type, e.UserID, e.SessionID, e.ActorID, e.IP, e.UserAgent,
			string(data)).Scan(&ids[i]); err != nil {
			return fmt.Errorf("sqlite: record events: %w", err)
		}
	}
	for _, e := range events {
		if err := insertDeliveries(ctx, tx, e.Outbox); err != nil {
			return fmt.Errorf("sqlite: record events: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: record events: %w", err)
	}
	for i, e := range events {
		e.ID = strconv.FormatInt(ids[i], 10)
	}
	return nil
}

// Events implements lacop.AuditStore.
func (s *AuditStore) Events(ctx context.Context, f lacop.AuditFilter) ([]*lacop.AuditEvent, error) {
	var where []string
	var args []any
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, ms(f.Until))
	}
	if f.BeforeID != "" {
		before, err := strconv.ParseInt(f.BeforeID, 10, 64)
		if err != nil {
			return nil, lacop.Errorf(lacop.EINVALID, "Invalid event id %q.", f.BeforeID)
		}
		where, args = append(where, "id < ?"), append(args, before)
	}
	query := `SELECT id, time, type, user_id, session_id, actor_id, ip, user_agent, detail_json FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)

	rows, err := s.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	events := []*lacop.AuditEvent{}
	for rows.Next() {
		var e lacop.AuditEvent
		var id, at int64
		var detail string
		if err := rows.Scan(&id, &at, &e.Type, &e.UserID, &e.SessionID, &e.ActorID, &e.IP, &e.UserAgent, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: event %d detail: %w", id, err)
		}
		e.ID, e.Time = strconv.FormatInt(id, 10), fromMS(at)
		events = append(events, &e)
	}
	return events, rows.Err()
}
