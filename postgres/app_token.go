package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

const appTokenColumns = `hash, grant_id, kind, created_at, expires_at, spent_at`

// CreateAppToken implements lacop.AppStore.
func (s *AppStore) CreateAppToken(ctx context.Context, t *lacop.AppToken) error {
	if err := insertAppToken(ctx, s.db.pool, t); err != nil {
		return wrap("create app token", err)
	}
	return nil
}

// insertAppToken inserts t by selecting its grant FOR SHARE, in one
// statement: a grant that has ended gives no row (ENOTFOUND); one being
// ended makes the insert wait for that end and then give no row; and one
// whose end comes later makes the end wait for this insert's transaction,
// whose token the end's next statement then sees and deletes.
func insertAppToken(ctx context.Context, q queryer, t *lacop.AppToken) error {
	if t.Kind != lacop.AppTokenAccess && t.Kind != lacop.AppTokenRefresh {
		return lacop.Errorf(lacop.EINVALID, "Unknown app token kind %q.", t.Kind)
	}
	if !storable(t.GrantID) {
		return lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	var spent int64
	if !t.SpentAt.IsZero() {
		spent = ms(t.SpentAt)
	}
	tag, err := q.Exec(ctx, `INSERT INTO app_tokens (`+appTokenColumns+`)
		SELECT $1, id, $2, $3, $4, $5 FROM app_grants WHERE id = $6 FOR SHARE`,
		t.Hash, t.Kind, ms(t.CreatedAt), ms(t.ExpiresAt), spent, t.GrantID)
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "App token already exists.")
	} else if err != nil {
		return err
	} else if tag.RowsAffected() == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	return nil
}

// AppTokenByHash implements lacop.AppStore. EndAppGrants deletes a grant
// and its tokens together, so the join is a second line of defence, not
// the mechanism.
func (s *AppStore) AppTokenByHash(ctx context.Context, hash []byte) (*lacop.AppToken, error) {
	var t lacop.AppToken
	var created, expires, spent int64
	err := s.db.pool.QueryRow(ctx, `SELECT t.hash, t.grant_id, t.kind, t.created_at, t.expires_at, t.spent_at
		FROM app_tokens t JOIN app_grants g ON g.id = t.grant_id WHERE t.hash = $1`, hash).
		Scan(&t.Hash, &t.GrantID, &t.Kind, &created, &expires, &spent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "App token not found.")
	} else if err != nil {
		return nil, wrap("app token", err)
	}
	t.CreatedAt, t.ExpiresAt, t.SpentAt = fromMS(created), fromMS(expires), fromMSOrZero(spent)
	return &t, nil
}

// SpendAppToken implements lacop.AppStore, in one transaction that takes
// its locks in the order EndAppGrants does, grant before token, so the two
// never deadlock: the grant FOR SHARE (ENOTFOUND if it ended), then the
// conditional update on spent_at = 0 (of concurrent spends the first takes
// the row lock; the others wait, re-check and match nothing), then next.
func (s *AppStore) SpendAppToken(ctx context.Context, hash []byte, at time.Time, next *lacop.AppToken) error {
	return s.db.inTx(ctx, "spend app token", func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM app_grants g JOIN app_tokens t ON t.grant_id = g.id
			WHERE t.hash = $1 FOR SHARE OF g`, hash).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return lacop.Errorf(lacop.ENOTFOUND, "App token not found.")
		} else if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE app_tokens SET spent_at = $1 WHERE hash = $2 AND spent_at = 0`, ms(at), hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_tokens WHERE hash = $1)`, hash).Scan(&exists); err != nil {
				return err
			} else if !exists {
				return lacop.Errorf(lacop.ENOTFOUND, "App token not found.") // revoked meanwhile
			}
			return lacop.Errorf(lacop.ECONFLICT, "App token already spent.")
		}
		if next == nil {
			return nil
		}
		return insertAppToken(ctx, tx, next)
	})
}

// DeleteAppToken implements lacop.AppStore.
func (s *AppStore) DeleteAppToken(ctx context.Context, hash []byte) error {
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM app_tokens WHERE hash = $1`, hash); err != nil {
		return wrap("delete app token", err)
	}
	return nil
}

const consentColumns = `user_id, client_id, scopes, created_at`

// Consent implements lacop.AppStore; ENOTFOUND when none was given.
func (s *AppStore) Consent(ctx context.Context, userID, clientID string) (*lacop.Consent, error) {
	if !storable(userID) || !storable(clientID) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Consent not found.")
	}
	list, err := s.consents(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Consent not found.")
	}
	return list[0], nil
}

// SaveConsent implements lacop.AppStore: a later consent replaces the
// earlier one, scopes and time.
func (s *AppStore) SaveConsent(ctx context.Context, c *lacop.Consent) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, nonNil(c.Scopes), ms(c.CreatedAt))
	if err != nil {
		return wrap("save consent", err)
	}
	return nil
}

// UserConsents implements lacop.AppStore.
func (s *AppStore) UserConsents(ctx context.Context, userID string) ([]*lacop.Consent, error) {
	if !storable(userID) {
		return nil, nil
	}
	return s.consents(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = $1 ORDER BY created_at, client_id`, userID)
}

func (s *AppStore) consents(ctx context.Context, query string, args ...any) ([]*lacop.Consent, error) {
	rows, err := s.db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("consents", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*lacop.Consent, error) {
		var c lacop.Consent
		var created int64
		if err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMS(created)
		return &c, nil
	})
	if err != nil {
		return nil, wrap("consents", err)
	}
	return list, nil
}

// PruneApps implements lacop.AppStore. Grants have no expiry of their own:
// they end with their session.
func (s *AppStore) PruneApps(ctx context.Context, now time.Time) error {
	return s.db.inTx(ctx, "prune apps", func(tx pgx.Tx) error {
		for _, table := range []string{"auth_requests", "app_tokens"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE expires_at <= $1`, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
