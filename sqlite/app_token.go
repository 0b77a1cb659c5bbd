package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

const appTokenColumns = `hash, grant_id, kind, created_at, expires_at, spent_at`

// CreateAppToken implements lacop.AppStore. The token is inserted by
// selecting its grant, in one statement, so a grant that has ended gets
// no token (no rows: ENOTFOUND).
func (s *AppStore) CreateAppToken(ctx context.Context, t *lacop.AppToken) error {
	if err := insertAppToken(ctx, s.db.write, t); err != nil {
		var domain *lacop.Error
		if errors.As(err, &domain) {
			return err
		}
		return fmt.Errorf("sqlite: create app token: %w", err)
	}
	return nil
}

func insertAppToken(ctx context.Context, ex execer, t *lacop.AppToken) error {
	if t.Kind != lacop.AppTokenAccess && t.Kind != lacop.AppTokenRefresh {
		return lacop.Errorf(lacop.EINVALID, "Unknown app token kind %q.", t.Kind)
	}
	var spent int64
	if !t.SpentAt.IsZero() {
		spent = ms(t.SpentAt)
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO app_tokens (`+appTokenColumns+`)
		SELECT ?, id, ?, ?, ?, ? FROM app_grants WHERE id = ?`,
		t.Hash, t.Kind, ms(t.CreatedAt), ms(t.ExpiresAt), spent, t.GrantID)
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "App token already exists.")
	} else if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	return nil
}

// liveToken keeps the tokens whose grant has not ended. EndAppGrants
// deletes both in one transaction, so this is a second line of defence,
// not the mechanism.
const liveToken = `EXISTS (SELECT 1 FROM app_grants WHERE app_grants.id = app_tokens.grant_id)`

// AppTokenByHash implements lacop.AppStore.
func (s *AppStore) AppTokenByHash(ctx context.Context, hash []byte) (*lacop.AppToken, error) {
	var t lacop.AppToken
	var created, expires, spent int64
	err := s.db.queryRow(ctx, `SELECT `+appTokenColumns+` FROM app_tokens WHERE hash = ? AND `+liveToken, hash).
		Scan(&t.Hash, &t.GrantID, &t.Kind, &created, &expires, &spent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "App token not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: app token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	if spent != 0 {
		t.SpentAt = fromMS(spent)
	}
	return &t, nil
}

// SpendAppToken implements lacop.AppStore: a conditional update on
// spent_at = 0 and the insert of next, in one transaction.
func (s *AppStore) SpendAppToken(ctx context.Context, hash []byte, at time.Time, next *lacop.AppToken) error {
	return s.db.writeTx(ctx, "spend app token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE app_tokens SET spent_at = ? WHERE hash = ? AND spent_at = 0 AND `+liveToken,
			ms(at), hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM app_tokens WHERE hash = ? AND `+liveToken, hash).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return lacop.Errorf(lacop.ENOTFOUND, "App token not found.")
			} else if err != nil {
				return err
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
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM app_tokens WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: delete app token: %w", err)
	}
	return nil
}

const consentColumns = `user_id, client_id, scopes, created_at`

// Consent implements lacop.AppStore; ENOTFOUND when none was given.
func (s *AppStore) Consent(ctx context.Context, userID, clientID string) (*lacop.Consent, error) {
	list, err := s.consents(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
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
	scopes, err := scopesJSON(c.Scopes)
	if err != nil {
		return err
	}
	_, err = s.db.write.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, scopes, ms(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: save consent: %w", err)
	}
	return nil
}

// UserConsents implements lacop.AppStore.
func (s *AppStore) UserConsents(ctx context.Context, userID string) ([]*lacop.Consent, error) {
	return s.consents(ctx, `SELECT `+consentColumns+` FROM consents WHERE user_id = ? ORDER BY created_at, client_id`, userID)
}

func (s *AppStore) consents(ctx context.Context, query string, args ...any) ([]*lacop.Consent, error) {
	rows, err := s.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consents: %w", err)
	}
	defer rows.Close()
	var list []*lacop.Consent
	for rows.Next() {
		var c lacop.Consent
		var scopes string
		var created int64
		if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &created); err != nil {
			return nil, fmt.Errorf("sqlite: consents: %w", err)
		}
		if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
			return nil, fmt.Errorf("sqlite: scopes of consent %s/%s: %w", c.UserID, c.ClientID, err)
		}
		c.CreatedAt = fromMS(created)
		list = append(list, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: consents: %w", err)
	}
	return list, nil
}

// PruneApps implements lacop.AppStore. Grants have no expiry of their own:
// they end with their session.
func (s *AppStore) PruneApps(ctx context.Context, now time.Time) error {
	return s.db.writeTx(ctx, "prune apps", func(tx *sql.Tx) error {
		for _, table := range []string{"auth_requests", "app_tokens"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
