package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.DeviceStore = (*DeviceStore)(nil)

// DeviceStore keeps known devices in SQLite.
type DeviceStore struct{ db *DB }

// NewDeviceStore returns a DeviceStore on db.
func NewDeviceStore(db *DB) *DeviceStore { return &DeviceStore{db: db} }

// SeenDevice implements lacop.DeviceStore. It runs on the write
// connection, in one transaction: SQLite takes writers one at a time.
func (s *DeviceStore) SeenDevice(ctx context.Context, userID string, hash []byte, now time.Time) (bool, bool, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, false, fmt.Errorf("sqlite: seen device: %w", err)
	}
	defer tx.Rollback()
	var same, all int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE hash = ?), count(*) FROM known_devices WHERE user_id = ?`,
		hash, userID).Scan(&same, &all); err != nil {
		return false, false, fmt.Errorf("sqlite: seen device: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO known_devices (user_id, hash, first_seen, last_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, hash) DO UPDATE SET last_seen = excluded.last_seen`, userID, hash, ms(now), ms(now)); err != nil {
		return false, false, fmt.Errorf("sqlite: seen device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, false, fmt.Errorf("sqlite: seen device: %w", err)
	}
	return same > 0, all == 0, nil
}

// NewSignInAlerts implements lacop.DeviceStore.
func (s *DeviceStore) NewSignInAlerts(ctx context.Context, userID string) (bool, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM sign_in_alerts_off WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: sign-in alerts: %w", err)
	}
	return n == 0, nil
}

// SetNewSignInAlerts implements lacop.DeviceStore.
func (s *DeviceStore) SetNewSignInAlerts(ctx context.Context, userID string, on bool) error {
	q := `INSERT INTO sign_in_alerts_off (user_id) VALUES (?) ON CONFLICT DO NOTHING`
	if on {
		q = `DELETE FROM sign_in_alerts_off WHERE user_id = ?`
	}
	if _, err := s.db.write.ExecContext(ctx, q, userID); err != nil {
		return fmt.Errorf("sqlite: set sign-in alerts: %w", err)
	}
	return nil
}

// PruneDevices implements lacop.DeviceStore.
func (s *DeviceStore) PruneDevices(ctx context.Context, before time.Time) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM known_devices WHERE last_seen < ?`, ms(before)); err != nil {
		return fmt.Errorf("sqlite: prune devices: %w", err)
	}
	return nil
}
