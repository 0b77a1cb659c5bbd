package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.AppStore = (*AppStore)(nil)

// AppStore keeps the OpenID Connect provider's requests in flight, grants,
// app tokens and consents in PostgreSQL. A token is only ever inserted
// while its grant's row is held FOR SHARE, and EndAppGrants deletes the
// grant (waiting for such holders) before its tokens, so no token outlives
// the end of its grant, whatever instance wrote it.
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
	_, err := s.db.pool.Exec(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.ClientID, data, code, r.GrantID, ms(r.CreatedAt), ms(r.ExpiresAt))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "Authorization request already exists.")
	} else if err != nil {
		return wrap("create auth request", err)
	}
	return nil
}

// AuthRequestByID implements lacop.AppStore.
func (s *AppStore) AuthRequestByID(ctx context.Context, id string, now time.Time) (*lacop.AuthRequest, error) {
	if !storable(id) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
	}
	return s.authRequest(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE id = $1 AND expires_at > $2`, id, ms(now))
}

// AuthRequestByCode implements lacop.AppStore.
func (s *AppStore) AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (*lacop.AuthRequest, error) {
	return s.authRequest(ctx, `SELECT `+authRequestColumns+` FROM auth_requests WHERE code_hash = $1 AND expires_at > $2`, codeHash, ms(now))
}

func (s *AppStore) authRequest(ctx context.Context, query string, args ...any) (*lacop.AuthRequest, error) {
	var r lacop.AuthRequest
	var created, expires int64
	err := s.db.pool.QueryRow(ctx, query, args...).
		Scan(&r.ID, &r.ClientID, &r.Data, &r.CodeHash, &r.GrantID, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
	} else if err != nil {
		return nil, wrap("auth request", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return &r, nil
}

// UpdateAuthRequest implements lacop.AppStore.
func (s *AppStore) UpdateAuthRequest(ctx context.Context, id string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE auth_requests SET data = $1 WHERE id = $2`, data, id)
	if err != nil {
		return wrap("update auth request", err)
	} else if tag.RowsAffected() == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
	}
	return nil
}

// SetAuthRequestCode implements lacop.AppStore.
func (s *AppStore) SetAuthRequestCode(ctx context.Context, id string, codeHash []byte) error {
	if len(codeHash) == 0 {
		return lacop.Errorf(lacop.EINVALID, "A code hash is required.")
	}
	return s.setOnce(ctx, "set auth request code", `UPDATE auth_requests SET code_hash = $1 WHERE id = $2 AND code_hash IS NULL`,
		id, codeHash, "A code was issued for this request already.")
}

// ClaimAuthRequest implements lacop.AppStore: one conditional update. Of
// concurrent claims the first takes the row lock; the others wait, re-check
// grant_id = ” on the claimed row and match nothing.
func (s *AppStore) ClaimAuthRequest(ctx context.Context, id, grantID string) error {
	if grantID == "" {
		return lacop.Errorf(lacop.EINVALID, "A grant id is required.")
	}
	return s.setOnce(ctx, "claim auth request", `UPDATE auth_requests SET grant_id = $1 WHERE id = $2 AND grant_id = ''`,
		id, grantID, "The code was used already.")
}

// setOnce runs update ($1 value, $2 id) and tells a missing request
// (ENOTFOUND) from one whose field was set already (ECONFLICT, with msg).
func (s *AppStore) setOnce(ctx context.Context, op, update, id string, value any, msg string) error {
	return s.db.inTx(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, update, value, id)
		if _, ok := uniqueViolation(err); ok {
			return lacop.Errorf(lacop.ECONFLICT, "%s", msg)
		} else if err != nil {
			return err
		} else if tag.RowsAffected() > 0 {
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_requests WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		} else if !exists {
			return lacop.Errorf(lacop.ENOTFOUND, "Authorization request not found.")
		}
		return lacop.Errorf(lacop.ECONFLICT, "%s", msg)
	})
}

// DeleteAuthRequest implements lacop.AppStore.
func (s *AppStore) DeleteAuthRequest(ctx context.Context, id string) error {
	if !storable(id) {
		return nil
	}
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id); err != nil {
		return wrap("delete auth request", err)
	}
	return nil
}

const grantColumns = `id, session_id, user_id, client_id, scopes, auth_time, created_at`

// CreateAppGrant implements lacop.AppStore.
func (s *AppStore) CreateAppGrant(ctx context.Context, g *lacop.AppGrant) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO app_grants (`+grantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		g.ID, g.SessionID, g.UserID, g.ClientID, nonNil(g.Scopes), ms(g.AuthTime), ms(g.CreatedAt))
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "App grant already exists.")
	} else if err != nil {
		return wrap("create app grant", err)
	}
	return nil
}

// AppGrantByID implements lacop.AppStore.
func (s *AppStore) AppGrantByID(ctx context.Context, id string) (*lacop.AppGrant, error) {
	if !storable(id) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	list, err := s.grants(ctx, s.db.pool, `SELECT `+grantColumns+` FROM app_grants WHERE id = $1`, id)
	if err != nil {
		return nil, wrap("app grant", err)
	} else if len(list) == 0 {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "App grant not found.")
	}
	return list[0], nil
}

// AppGrants implements lacop.AppStore. Unlike EndAppGrants it takes any
// selection, an empty one included (every live grant): listing ends
// nothing, and the admin panel lists a client's grants by ClientID alone.
func (s *AppStore) AppGrants(ctx context.Context, sel lacop.GrantSelection) ([]*lacop.AppGrant, error) {
	if !selectionStorable(sel) {
		return nil, nil // text PostgreSQL cannot hold matches no grant
	}
	where, args := grantWhere(sel)
	list, err := s.grants(ctx, s.db.pool, `SELECT `+grantColumns+` FROM app_grants WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, wrap("app grants", err)
	}
	return list, nil
}

// AppGrantSessionIDs implements lacop.AppStore.
func (s *AppStore) AppGrantSessionIDs(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.pool.Query(ctx, `SELECT DISTINCT session_id FROM app_grants WHERE session_id > $1
		ORDER BY session_id LIMIT $2`, clean(after), limit)
	if err != nil {
		return nil, wrap("app grant session ids", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("app grant session ids", err)
	}
	return ids, nil
}

// EndAppGrants implements lacop.AppStore, in one transaction: the selected
// grants are locked in id order (so two overlapping ends cannot deadlock
// whatever plan each query gets),
// deleted, then their tokens, the consent if asked, and the deliveries
// announcing the end are inserted. Of two overlapping ends, the second
// waits for the first and does not see the grants it ended, so each grant
// is announced once.
func (s *AppStore) EndAppGrants(ctx context.Context, sel lacop.GrantSelection, outbox func(*lacop.AppGrant) []*lacop.Delivery) ([]*lacop.AppGrant, error) {
	if err := checkSelection(sel); err != nil {
		return nil, err
	}
	where, args := grantWhere(sel)
	var ended []*lacop.AppGrant
	err := s.db.inTx(ctx, "end app grants", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM app_grants WHERE `+where+` ORDER BY id FOR UPDATE`, args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		ended = nil
		if len(ids) > 0 {
			if ended, err = s.grants(ctx, tx, `DELETE FROM app_grants WHERE id = ANY ($1) RETURNING `+grantColumns, ids); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM app_tokens WHERE grant_id = ANY ($1)`, ids); err != nil {
				return err
			}
		}
		if sel.DropConsent {
			if _, err := tx.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, sel.UserID, sel.ClientID); err != nil {
				return err
			}
		}
		if outbox == nil {
			return nil
		}
		var ds []*lacop.Delivery
		for _, g := range ended {
			ds = append(ds, outbox(g)...)
		}
		return insertDeliveries(ctx, tx, ds)
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

// selectionStorable reports whether every text of sel can be stored; one
// that cannot matches nothing.
func selectionStorable(sel lacop.GrantSelection) bool {
	return storable(sel.UserID) && storable(sel.ClientID) &&
		!slices.ContainsFunc(sel.GrantIDs, func(s string) bool { return !storable(s) }) &&
		!slices.ContainsFunc(sel.SessionIDs, func(s string) bool { return !storable(s) })
}

// grantWhere turns a selection into a condition on app_grants; lists
// travel as one array parameter each.
func grantWhere(sel lacop.GrantSelection) (string, []any) {
	conds, args := []string{"true"}, []any(nil)
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if len(sel.GrantIDs) > 0 {
		add(`id = ANY ($%d)`, sel.GrantIDs)
	}
	if len(sel.SessionIDs) > 0 {
		add(`session_id = ANY ($%d)`, sel.SessionIDs)
	}
	if sel.UserID != "" {
		add(`user_id = $%d`, sel.UserID)
	}
	if sel.ClientID != "" {
		add(`client_id = $%d`, sel.ClientID)
	}
	return strings.Join(conds, " AND "), args
}

func (s *AppStore) grants(ctx context.Context, q queryer, query string, args ...any) ([]*lacop.AppGrant, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*lacop.AppGrant, error) {
		var g lacop.AppGrant
		var authTime, created int64
		if err := row.Scan(&g.ID, &g.SessionID, &g.UserID, &g.ClientID, &g.Scopes, &authTime, &created); err != nil {
			return nil, err
		}
		g.AuthTime, g.CreatedAt = fromMS(authTime), fromMS(created)
		return &g, nil
	})
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

// nonNil returns list, or an empty list for nil: pgx sends a nil slice as
// NULL, which the NOT NULL array columns refuse.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
