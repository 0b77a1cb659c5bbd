package postgres

import (
	"context"

	"github.com/lacop/lacop"
)

var _ lacop.KeyStore = (*KeyStore)(nil)

// KeyStore keeps access-token signing keys in PostgreSQL, so that every
// instance signs and verifies with the same set.
type KeyStore struct{ db *DB }

// NewKeyStore returns a KeyStore on db.
func NewKeyStore(db *DB) *KeyStore { return &KeyStore{db: db} }

// AddSigningKey implements lacop.KeyStore.
func (s *KeyStore) AddSigningKey(ctx context.Context, k *lacop.SigningKey) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO signing_keys (id, sealed, created_at) VALUES ($1, $2, $3)`,
		k.ID, k.Sealed, ms(k.CreatedAt))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "Signing key %s already exists.", k.ID)
	} else if err != nil {
		return wrap("add signing key", err)
	}
	return nil
}

// SigningKeys implements lacop.KeyStore.
func (s *KeyStore) SigningKeys(ctx context.Context) ([]*lacop.SigningKey, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT id, sealed, created_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, wrap("signing keys", err)
	}
	defer rows.Close()
	var keys []*lacop.SigningKey
	for rows.Next() {
		var k lacop.SigningKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Sealed, &created); err != nil {
			return nil, wrap("signing keys", err)
		}
		k.CreatedAt = fromMS(created)
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("signing keys", err)
	}
	return keys, nil
}

// DeleteSigningKey implements lacop.KeyStore.
func (s *KeyStore) DeleteSigningKey(ctx context.Context, id string) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id); err != nil {
		return wrap("delete signing key", err)
	}
	return nil
}
