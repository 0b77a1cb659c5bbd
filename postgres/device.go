package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lacop/lacop"
)

var _ lacop.DeviceStore = (*DeviceStore)(nil)

// DeviceStore keeps known devices in PostgreSQL.
type DeviceStore struct{ db *DB }

// NewDeviceStore returns a DeviceStore on db.
func NewDeviceStore(db *DB) *DeviceStore { return &DeviceStore{db: db} }

// SeenDevice implements lacop.DeviceStore.
func (s *DeviceStore) SeenDevice(ctx context.Context, userID string, hash []byte, now time.Time) (bool, bool, error) {
	var same, all int
	err := s.db.inTx(ctx, "seen device", func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE hash = $1), count(*) FROM known_devices WHERE user_id = $2`,
			hash, clean(userID)).Scan(&same, &all); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO known_devices (user_id, hash, first_seen, last_seen) VALUES ($1, $2, $3, $3)
			ON CONFLICT (user_id, hash) DO UPDATE SET last_seen = excluded.last_seen`, clean(userID), hash, ms(now))
		return err
	})
	if err != nil {
		return false, false, err
	}
	return same > 0, all == 0, nil
}

// NewSignInAlerts implements lacop.DeviceStore.
func (s *DeviceStore) NewSignInAlerts(ctx context.Context, userID string) (bool, error) {
	var off bool
	if err := s.db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sign_in_alerts_off WHERE user_id = $1)`, clean(userID)).Scan(&off); err != nil {
		return false, wrap("sign-in alerts", err)
	}
	return !off, nil
}

// SetNewSignInAlerts implements lacop.DeviceStore.
func (s *DeviceStore) SetNewSignInAlerts(ctx context.Context, userID string, on bool) error {
	q := `INSERT INTO sign_in_alerts_off (user_id) VALUES ($1) ON CONFLICT DO NOTHING`
	if on {
		q = `DELETE FROM sign_in_alerts_off WHERE user_id = $1`
	}
	if _, err := s.db.pool.Exec(ctx, q, clean(userID)); err != nil {
		return wrap("set sign-in alerts", err)
	}
	return nil
}

// PruneDevices implements lacop.DeviceStore.
func (s *DeviceStore) PruneDevices(ctx context.Context, before time.Time) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM known_devices WHERE last_seen < $1`, ms(before)); err != nil {
		return wrap("prune devices", err)
	}
	return nil
}
