package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.RegulationStore = (*RegulationStore)(nil)

// RegulationStore keeps failed attempts and bans in SQLite, where every
// instance and a restarted server see the same counts.
type RegulationStore struct{ db *DB }

// NewRegulationStore returns a RegulationStore on db.
func NewRegulationStore(db *DB) *RegulationStore { return &RegulationStore{db: db} }

// RecordFailure implements lacop.RegulationStore.
func (s *RegulationStore) RecordFailure(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: record failure: %w", err)
	}
	defer tx.Rollback()
	for _, key := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO regulation_failures (key, time) VALUES (?, ?)`, key, ms(at)); err != nil {
			return fmt.Errorf("sqlite: record failure: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: record failure: %w", err)
	}
	return nil
}

// CountFailures implements lacop.RegulationStore.
func (s *RegulationStore) CountFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM regulation_failures WHERE key = ? AND time >= ?`,
		key, ms(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count failures: %w", err)
	}
	return n, nil
}

// ClearFailures implements lacop.RegulationStore.
func (s *RegulationStore) ClearFailures(ctx context.Context, key string) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM regulation_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("sqlite: clear failures: %w", err)
	}
	return nil
}

// ForgetFailure implements lacop.RegulationStore.
func (s *RegulationStore) ForgetFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM regulation_failures WHERE rowid =
		(SELECT rowid FROM regulation_failures WHERE key = ? AND time = ? LIMIT 1)`, key, ms(at))
	if err != nil {
		return fmt.Errorf("sqlite: forget failure: %w", err)
	}
	return nil
}

// Ban implements lacop.RegulationStore.
func (s *RegulationStore) Ban(ctx context.Context, key string, until time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO regulation_bans (key, until) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET until = max(until, excluded.until)`, key, ms(until))
	if err != nil {
		return fmt.Errorf("sqlite: ban: %w", err)
	}
	return nil
}

// BannedUntil implements lacop.RegulationStore.
func (s *RegulationStore) BannedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	var until int64
	err := s.db.read.QueryRowContext(ctx, `SELECT until FROM regulation_bans WHERE key = ? AND until > ?`,
		key, ms(now)).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: banned until: %w", err)
	}
	return fromMS(until), nil
}

// BanEnd implements lacop.RegulationStore.
func (s *RegulationStore) BanEnd(ctx context.Context, key string) (time.Time, error) {
	var until int64
	err := s.db.read.QueryRowContext(ctx, `SELECT until FROM regulation_bans WHERE key = ?`, key).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: ban end: %w", err)
	}
	return fromMS(until), nil
}

// Bans implements lacop.RegulationStore.
func (s *RegulationStore) Bans(ctx context.Context, now time.Time) ([]lacop.Ban, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT key, until FROM regulation_bans WHERE until > ? ORDER BY until DESC, key`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: bans: %w", err)
	}
	defer rows.Close()
	var bans []lacop.Ban
	for rows.Next() {
		var b lacop.Ban
		var until int64
		if err := rows.Scan(&b.Key, &until); err != nil {
			return nil, fmt.Errorf("sqlite: bans: %w", err)
		}
		b.Until = fromMS(until)
		bans = append(bans, b)
	}
	return bans, rows.Err()
}

// LiftBan implements lacop.RegulationStore.
func (s *RegulationStore) LiftBan(ctx context.Context, key string, now time.Time) (bool, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE regulation_bans SET until = ? WHERE key = ? AND until > ?`, ms(now), key, ms(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: lift ban: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// PruneRegulation implements lacop.RegulationStore.
func (s *RegulationStore) PruneRegulation(ctx context.Context, cutoff time.Time) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: prune regulation: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM regulation_failures WHERE time < ?`, ms(cutoff)); err != nil {
		return fmt.Errorf("sqlite: prune regulation: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM regulation_bans WHERE until < ?`, ms(cutoff)); err != nil {
		return fmt.Errorf("sqlite: prune regulation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: prune regulation: %w", err)
	}
	return nil
}
