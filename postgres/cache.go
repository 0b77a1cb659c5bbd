package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.CacheLeaseStore = (*CacheLeases)(nil)

// cacheChannel is the LISTEN/NOTIFY channel of cache invalidations and
// their acknowledgements.
const cacheChannel = "lacop_cache"

// nowMS is the database's clock in Unix milliseconds at the moment the
// expression runs (not the transaction's start, as now() would be).
const nowMS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

// CacheLeases keeps the instances' cache leases in PostgreSQL and carries
// invalidations and acknowledgements with NOTIFY. Invalidate updates the
// one counter row and Lease reads it FOR SHARE, so each waits for the
// other to commit: a lease renewed before an Invalidate is in its list,
// one renewed after reads its number.
type CacheLeases struct {
	db *DB
	// HealthInterval is how long ListenCache waits for a message before
	// it pings its connection.
	HealthInterval time.Duration
}

// NewCacheLeases returns the lease store on db.
func NewCacheLeases(db *DB) *CacheLeases {
	return &CacheLeases{db: db, HealthInterval: 5 * time.Second}
}

// Lease implements lacop.CacheLeaseStore in one statement.
func (l *CacheLeases) Lease(ctx context.Context, instance string, ttl time.Duration) (bool, uint64, error) {
	var live bool
	var seq int64
	err := l.db.pool.QueryRow(ctx, `
WITH s AS (SELECT n FROM cache_seq WHERE id = 1 FOR SHARE),
     old AS (SELECT expires_at FROM cache_leases WHERE instance = $1),
     up AS (INSERT INTO cache_leases (instance, expires_at) VALUES ($1, `+nowMS+` + $2)
            ON CONFLICT (instance) DO UPDATE SET expires_at = excluded.expires_at RETURNING expires_at)
SELECT coalesce((SELECT expires_at FROM old) > `+nowMS+`, false), (SELECT n FROM s), (SELECT count(*) FROM up)`,
		instance, ttl.Milliseconds()).Scan(&live, &seq, new(int64))
	if err != nil {
		return false, 0, wrap("cache lease", err)
	}
	return live, uint64(seq), nil
}

// ReleaseLease implements lacop.CacheLeaseStore.
func (l *CacheLeases) ReleaseLease(ctx context.Context, instance string) error {
	if _, err := l.db.pool.Exec(ctx, `DELETE FROM cache_leases WHERE instance = $1`, instance); err != nil {
		return wrap("release cache lease", err)
	}
	return nil
}

// Invalidate implements lacop.CacheLeaseStore: the counter, the live
// leases and the NOTIFY (sent when the transaction commits) in one
// transaction that holds the counter row.
func (l *CacheLeases) Invalidate(ctx context.Context, from string) (uint64, []lacop.CacheLease, error) {
	var seq int64
	var live []lacop.CacheLease
	err := l.db.inTx(ctx, "cache invalidate", func(tx pgx.Tx) error {
		live = live[:0]
		if err := tx.QueryRow(ctx, `UPDATE cache_seq SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&seq); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM cache_leases WHERE expires_at <= `+nowMS+` RETURNING NULL`)
		if err != nil {
			return err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT instance, expires_at - `+nowMS+` FROM cache_leases`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var inst string
			var left int64
			if err := rows.Scan(&inst, &left); err != nil {
				return err
			}
			if left > 0 {
				live = append(live, lacop.CacheLease{Instance: inst, Left: time.Duration(left) * time.Millisecond})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, cacheChannel, lacop.CacheMessage{Seq: uint64(seq), Instance: from}.String())
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return uint64(seq), live, nil
}

// AckCache implements lacop.CacheLeaseStore.
func (l *CacheLeases) AckCache(ctx context.Context, instance string, seq uint64) error {
	msg := lacop.CacheMessage{Ack: true, Seq: seq, Instance: instance}.String()
	if _, err := l.db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, cacheChannel, msg); err != nil {
		return wrap("cache ack", err)
	}
	return nil
}

// ListenCache implements lacop.CacheLeaseStore on a connection of its
// own; a connection silent for HealthInterval is pinged.
func (l *CacheLeases) ListenCache(ctx context.Context, listening func(), deliver func(lacop.CacheMessage)) error {
	err := l.db.listen(ctx, cacheChannel, l.HealthInterval, listening, func(payload string) {
		if m, ok := lacop.ParseCacheMessage(payload); ok {
			deliver(m)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("postgres: cache listen: %w", err)
	}
	return err
}
