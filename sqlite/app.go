package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.AppStore = (*AppStore)(nil)

// AppStore keeps the OpenID Connect provider's requests in flight, grants,
// app tokens and consents in SQLite. Every write goes through the single
// write connection, so a token inserted "if its grant exists" and the end
// of that grant can never interleave.
type AppStore struct{ db *DB }

// NewAppStore returns an AppStore on db.
func NewAppStore(db *DB) *AppStore { return &AppStore{db: db} }

const authRequestColumns = `id, client_id, data, code_hash, grant_id, created_at, expires_at`

// CreateAuthRequest implements lacop.AppStore.
func (s *AppStore) CreateAuthRequest(ctx context.Context, r *lacop.AuthRequest) error {
	var code any // NULL until a code is issued: the column is unique
	if len(r.CodeHash) > 0 {
		code = r.CodeHash
	}
	data := r.Data
	if data == nil {
		data = []byte{}
	}
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ClientID, data, code, r.GrantID, ms(r.CreatedAt), ms(r.ExpiresAt))
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "Authorization request already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlite: create auth request: %w", err)
	}
	return nil
}

// AuthRequestByID implements lacop.AppStore.
func (s *AppStore) AuthRequestByID(ctx context.Context, id string, now time.Time) (*lacop.AuthRequest, error) {
	return s.authRequest(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = ? AND expires_at > ?`, id, ms(now))
}

// AuthRequestByCode implements lacop.AppStore.
func (s *AppStore) AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (*lacop.AuthRequest, error) {
	return s.authRequest(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE code_hash = ? AND expires_at > ?`, codeHash, ms(now))
}

func (s *AppStore) authRequest(ctx context.Context, query string, args ...any) (*lacop.AuthRequest, error) {
	var r lacop.AuthRequest
	var created, expires int64
	err := s.db.read.QueryRowContext(ctx, query, args...).
		Scan(&r.ID, &r.ClientID, &r.Data, &r.CodeHash, &r.GrantID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: auth request: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return &r, nil
}

// UpdateAuthRequest implements lacop.AppStore.
func (s *AppStore) UpdateAuthRequest(ctx context.Context, id string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_requests SET data = ? WHERE id = ?`, data, id)
	if err != nil {
		return fmt.Errorf("sqlite: update auth request: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
	}
	return nil
}

// SetAuthRequestCode implements lacop.AppStore.
func (s *AppStore) SetAuthRequestCode(ctx context.Context, id string, codeHash []byte) error {
	if len(codeHash) == 0 {
		return lacop.Errorf(lacop.EINVALID, "A code hash is required.")
	}
	return s.setOnce(ctx, "set auth request code", `UPDATE auth_requests SET code_hash = ? WHERE id = ? AND code_hash IS NULL`,
		id, codeHash, "A code was issued for this request already.")
}

// ClaimAuthRequest implements lacop.AppStore: one conditional update, so
// of concurrent claims the first to write wins and the others match
// nothing.
func (s *AppStore) ClaimAuthRequest(ctx context.Context, id, grantID string) error {
	if grantID == "" {
		return lacop.Errorf(lacop.EINVALID, "A grant id is required.")
	}
	return s.setOnce(ctx, "claim auth request", `UPDATE auth_requests SET grant_id = ? WHERE id = ? AND grant_id = ''`,
		id, grantID, "The code was used already.")
}

// setOnce runs update (value, id) and tells a missing request (ENOTFOUND)
// from one whose field was set already (ECONFLICT, with msg).
func (s *AppStore) setOnce(ctx context.Context, op, update, id string, value any, msg string) error {
	return s.db.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, update, value, id)
		if isUniqueViolation(err) {
			return lacop.Errorf(lacop.ECONFLICT, "%s", msg)
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM auth_requests WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
		} else if err != nil {
			return err
		}
		return lacop.Errorf(lacop.ECONFLICT, "%s", msg)
	})
}

// DeleteAuthRequest implements lacop.AppStore.
func (s *AppStore) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM auth_requests WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete auth request: %w", err)
	}
	return nil
}

const grantColumns = `id, session_id, user_id, client_id, scopes, auth_time, created_at`

// CreateAppGrant implements lacop.AppStore.
func (s *AppStore) CreateAppGrant(ctx context.Context, g *lacop.AppGrant) error {
	scopes, err := scopesJSON(g.Scopes)
	if err != nil {
		return err
	}
	_, err = s.db.write.ExecContext(ctx, `INSERT INTO app_grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.SessionID, g.UserID, g.ClientID, scopes, ms(g.AuthTime), ms(g.CreatedAt))
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "App grant already exists.")
	} else if err != nil {
		return fmt.Errorf("sqlite: create app grant: %w", err)
	}
	return nil
}

// AppGrantByID implements lacop.AppStore.
func (s *AppStore) AppGrantByID(ctx context.Context, id string) (*lacop.AppGrant, error) {
	list, err := s.grants(ctx, s.db.read, `SELECT `+grantColumns+` FROM app_grants WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	return list[0], nil
}

// AppGrants implements lacop.AppStore. Unlike EndAppGrants it takes any
// selection, an empty one included (every live grant): listing ends
// nothing, and the admin panel lists a client's grants by ClientID alone.
func (s *AppStore) AppGrants(ctx context.Context, sel lacop.GrantSelection) ([]*lacop.AppGrant, error) {
	where, args := grantWhere(sel)
	return s.grants(ctx, s.db.read, `SELECT `+grantColumns+` FROM app_grants WHERE `+where+` ORDER BY created_at, id`, args...)
}

// AppGrantSessionIDs implements lacop.AppStore.
func (s *AppStore) AppGrantSessionIDs(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT DISTINCT session_id FROM app_grants WHERE session_id > ?
		ORDER BY session_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: app grant session ids: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: app grant session ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: app grant session ids: %w", err)
	}
	return ids, nil
}

// EndAppGrants implements lacop.AppStore: the grants, their tokens, the
// consent if asked and the deliveries announcing the end are written in
// one transaction.
func (s *AppStore) EndAppGrants(ctx context.Context, sel lacop.GrantSelection, outbox func(*lacop.AppGrant) []*lacop.Delivery) ([]*lacop.AppGrant, error) {
	if err := checkSelection(sel); err != nil {
		return nil, err
	}
	where, args := grantWhere(sel)
	var ended []*lacop.AppGrant
	err := s.db.writeTx(ctx, "end app grants", func(tx *sql.Tx) error {
		var err error
		ended, err = s.grants(ctx, tx, `DELETE FROM app_grants WHERE `+where+` RETURNING `+grantColumns, args...)
		if err != nil {
			return err
		}
		if len(ended) > 0 {
			ids := make([]string, len(ended))
			for i, g := range ended {
				ids[i] = g.ID
			}
			list, err := jsonList(ids)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM app_tokens WHERE grant_id IN (SELECT value FROM json_each(?))`, list); err != nil {
				return err
			}
		}
		if sel.DropConsent {
			if _, err := tx.ExecContext(ctx, `DELETE FROM consents WHERE user_id = ? AND client_id = ?`, sel.UserID, sel.ClientID); err != nil {
				return err
			}
		}
		if outbox == nil {
			return nil
		}
		for _, g := range ended {
			if err := insertDeliveries(ctx, tx, outbox(g)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortGrants(ended) // RETURNING gives no order
	return ended, nil
}

// checkSelection refuses a selection EndAppGrants must not run: one that
// would end every grant of a client, or every grant at all, by omission.
func checkSelection(sel lacop.GrantSelection) error {
	if len(sel.GrantIDs) == 0 && len(sel.SessionIDs) == 0 && sel.UserID == "" {
		return lacop.Errorf(lacop.EINVALID, "A grant selection needs grant ids, session ids or a user.")
	}
	if sel.DropConsent && (sel.UserID == "" || sel.ClientID == "") {
		return lacop.Errorf(lacop.EINVALID, "Dropping a consent needs a user and a client.")
	}
	return nil
}

// grantWhere turns a selection into a condition on app_grants; lists
// travel as one JSON parameter each, so their length is not bounded by
// SQLite's variable limit.
func grantWhere(sel lacop.GrantSelection) (string, []any) {
	conds, args := []string{"1"}, []any(nil)
	if len(sel.GrantIDs) > 0 {
		list, _ := jsonList(sel.GrantIDs) // []string always marshals
		conds, args = append(conds, `id IN (SELECT value FROM json_each(?))`), append(args, list)
	}
	if len(sel.SessionIDs) > 0 {
		list, _ := jsonList(sel.SessionIDs)
		conds, args = append(conds, `session_id IN (SELECT value FROM json_each(?))`), append(args, list)
	}
	if sel.UserID != "" {
		conds, args = append(conds, `user_id = ?`), append(args, sel.UserID)
	}
	if sel.ClientID != "" {
		conds, args = append(conds, `client_id = ?`), append(args, sel.ClientID)
	}
	return strings.Join(conds, " AND "), args
}

func jsonList(ids []string) (string, error) {
	b, err := json.Marshal(ids)
	return string(b), err
}

func (s *AppStore) grants(ctx context.Context, q querier, query string, args ...any) ([]*lacop.AppGrant, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: app grants: %w", err)
	}
	defer rows.Close()
	var list []*lacop.AppGrant
	for rows.Next() {
		var g lacop.AppGrant
		var scopes string
		var authTime, created int64
		if err := rows.Scan(&g.ID, &g.SessionID, &g.UserID, &g.ClientID, &scopes, &authTime, &created); err != nil {
			return nil, fmt.Errorf("sqlite: app grants: %w", err)
		}
		if err := json.Unmarshal([]byte(scopes), &g.Scopes); err != nil {
			return nil, fmt.Errorf("sqlite: scopes of app grant %s: %w", g.ID, err)
		}
		g.AuthTime, g.CreatedAt = fromMS(authTime), fromMS(created)
		list = append(list, &g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: app grants: %w", err)
	}
	return list, nil
}

// sortGrants puts grants oldest first, as AppGrants lists them.
func sortGrants(list []*lacop.AppGrant) {
	slices.SortFunc(list, func(a, b *lacop.AppGrant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// scopesJSON encodes scopes for a TEXT column; nil is stored as [].
func scopesJSON(scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{}
	}
	b, err := json.Marshal(scopes)
	if err != nil {
		return "", fmt.Errorf("sqlite: scopes: %w", err)
	}
	return string(b), nil
}
