package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.RegulationStore = (*RegulationStore)(nil)

// RegulationStore keeps failed attempts and bans in PostgreSQL, where every
// instance and a restarted server see the same counts. Keys come from
// request input, so they are cleaned to storable text: the same input
// always gives the same key.
type RegulationStore struct{ db *DB }

// NewRegulationStore returns a RegulationStore on db.
func NewRegulationStore(db *DB) *RegulationStore { return &RegulationStore{db: db} }

// RecordFailure implements lacop.RegulationStore, in one statement.
func (s *RegulationStore) RecordFailure(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	cleaned := make([]string, len(keys))
	for i, k := range keys {
		cleaned[i] = clean(k)
	}
	_, err := s.db.pool.Exec(ctx, `INSERT INTO regulation_failures (key, time) SELECT unnest($1::text[]), $2`,
		cleaned, ms(at))
	if err != nil {
		return wrap("record failure", err)
	}
	return nil
}

// CountFailures implements lacop.RegulationStore.
func (s *RegulationStore) CountFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM regulation_failures WHERE key = $1 AND time >= $2`,
		clean(key), ms(since)).Scan(&n)
	if err != nil {
		return 0, wrap("count failures", err)
	}
	return n, nil
}

// ClearFailures implements lacop.RegulationStore.
func (s *RegulationStore) ClearFailures(ctx context.Context, key string) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM regulation_failures WHERE key = $1`, clean(key)); err != nil {
		return wrap("clear failures", err)
	}
	return nil
}

// ForgetFailure implements lacop.RegulationStore. SKIP LOCKED lets two
// withdrawals racing for failures at the same instant take one each.
func (s *RegulationStore) ForgetFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.pool.Exec(ctx, `DELETE FROM regulation_failures WHERE id =
		(SELECT id FROM regulation_failures WHERE key = $1 AND time = $2 LIMIT 1 FOR UPDATE SKIP LOCKED)`,
		clean(key), ms(at))
	if err != nil {
		return wrap("forget failure", err)
	}
	return nil
}

// Ban implements lacop.RegulationStore.
func (s *RegulationStore) Ban(ctx context.Context, key string, until time.Time) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO regulation_bans (key, until) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET until = greatest(regulation_bans.until, excluded.until)`, clean(key), ms(until))
	if err != nil {
		return wrap("ban", err)
	}
	return nil
}

// BannedUntil implements lacop.RegulationStore.
func (s *RegulationStore) BannedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	var until int64
	err := s.db.pool.QueryRow(ctx, `SELECT until FROM regulation_bans WHERE key = $1 AND until > $2`,
		clean(key), ms(now)).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, wrap("banned until", err)
	}
	return fromMS(until), nil
}

// BanEnd implements lacop.RegulationStore.
func (s *RegulationStore) BanEnd(ctx context.Context, key string) (time.Time, error) {
	var until int64
	err := s.db.pool.QueryRow(ctx, `SELECT until FROM regulation_bans WHERE key = $1`, clean(key)).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, wrap("ban end", err)
	}
	return fromMS(until), nil
}

// Bans implements lacop.RegulationStore.
func (s *RegulationStore) Bans(ctx context.Context, now time.Time) ([]lacop.Ban, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT key, until FROM regulation_bans WHERE until > $1 ORDER BY until DESC, key`, ms(now))
	if err != nil {
		return nil, wrap("bans", err)
	}
	bans, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (lacop.Ban, error) {
		var b lacop.Ban
		var until int64
		err := row.Scan(&b.Key, &until)
		b.Until = fromMS(until)
		return b, err
	})
	if err != nil {
		return nil, wrap("bans", err)
	}
	return bans, nil
}

// LiftBan implements lacop.RegulationStore.
func (s *RegulationStore) LiftBan(ctx context.Context, key string, now time.Time) (bool, error) {
	tag, err := s.db.pool.Exec(ctx, `UPDATE regulation_bans SET until = $1 WHERE key = $2 AND until > $1`, ms(now), clean(key))
	if err != nil {
		return false, wrap("lift ban", err)
	}
	return tag.RowsAffected() > 0, nil
}

// PruneRegulation implements lacop.RegulationStore.
func (s *RegulationStore) PruneRegulation(ctx context.Context, cutoff time.Time) error {
	return s.db.inTx(ctx, "prune regulation", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM regulation_failures WHERE time < $1`, ms(cutoff)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM regulation_bans WHERE until < $1`, ms(cutoff))
		return err
	})
}
