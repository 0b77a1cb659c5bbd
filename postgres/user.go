package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
)

var _ lacop.UserStore = (*UserStore)(nil)

// UserStore keeps users in PostgreSQL.
type UserStore struct{ db *DB }

// NewUserStore returns a UserStore on db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

const userColumns = `id, email, name, admin, groups, password_hash, disabled, token_version, created_at, updated_at, totp_secret`

// userSelect is userColumns and the user's passkey count.
const userSelect = userColumns + `, (SELECT count(*) FROM passkeys WHERE passkeys.user_id = users.id)`

// CreateUser implements lacop.UserStore.
func (s *UserStore) CreateUser(ctx context.Context, u *lacop.User) error {
	return createUser(ctx, s.db.pool, s.db, u)
}

// createUser validates and inserts u through q, so that ClaimSetup can
// create the first user inside its own transaction.
func createUser(ctx context.Context, q queryer, db *DB, u *lacop.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	now := db.Now().UTC().Truncate(time.Millisecond) // stored as milliseconds
	u.CreatedAt, u.UpdatedAt = now, now
	if u.Groups == nil {
		u.Groups = []string{} // pgx writes a nil slice as NULL
	}
	if u.TOTPSecret == nil {
		u.TOTPSecret = []byte{}
	}
	_, err := q.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Email, u.Name, u.Admin, u.Groups, u.PasswordHash, u.Disabled, u.TokenVersion, ms(now), ms(now), u.TOTPSecret)
	if c, ok := uniqueViolation(err); ok && c == "users_email_key" {
		return lacop.Errorf(lacop.ECONFLICT, "A user with email %s already exists.", u.Email)
	} else if ok {
		return lacop.Errorf(lacop.ECONFLICT, "A user with id %s already exists.", u.ID)
	} else if err != nil {
		return wrap("create user", err)
	}
	return nil
}

// UserByID implements lacop.UserStore.
func (s *UserStore) UserByID(ctx context.Context, id string) (*lacop.User, error) {
	return s.one(ctx, `SELECT `+userSelect+` FROM users WHERE id = $1`, id)
}

// UserByEmail implements lacop.UserStore.
func (s *UserStore) UserByEmail(ctx context.Context, email string) (*lacop.User, error) {
	return s.one(ctx, `SELECT `+userSelect+` FROM users WHERE email = $1`, lacop.NormalizeEmail(email))
}

func (s *UserStore) one(ctx context.Context, query, arg string) (*lacop.User, error) {
	if !storable(arg) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	}
	u, err := scanUser(s.db.pool.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, wrap("user", err)
	}
	return u, nil
}

// Users implements lacop.UserStore.
func (s *UserStore) Users(ctx context.Context) ([]*lacop.User, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT `+userSelect+` FROM users ORDER BY created_at, seq`)
	if err != nil {
		return nil, wrap("users", err)
	}
	defer rows.Close()
	var users []*lacop.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("users", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("users", err)
	}
	return users, nil
}

// CountUsers implements lacop.UserStore.
func (s *UserStore) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrap("count users", err)
	}
	return n, nil
}

// SetPasswordHash implements lacop.UserStore.
func (s *UserStore) SetPasswordHash(ctx context.Context, id, hash string) error {
	return s.update(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, ms(s.db.Now()), id)
}

// SetEmail implements lacop.UserStore.
func (s *UserStore) SetEmail(ctx context.Context, id, email string) error {
	email = lacop.NormalizeEmail(email)
	if err := (&lacop.User{Email: email}).Validate(); err != nil {
		return err
	}
	err := s.update(ctx, `UPDATE users SET email = $1, updated_at = $2 WHERE id = $3`, email, ms(s.db.Now()), id)
	if _, ok := uniqueViolation(err); ok {
		return lacop.Errorf(lacop.ECONFLICT, "A user with email %s already exists.", email)
	}
	return err
}

// SetDisabled implements lacop.UserStore. Disabling the last enabled
// administrator is refused, decided as SetAdmin decides it.
func (s *UserStore) SetDisabled(ctx context.Context, id string, disabled bool) error {
	if !disabled {
		return s.update(ctx, `UPDATE users SET disabled = false, updated_at = $1 WHERE id = $2`, ms(s.db.Now()), id)
	}
	return s.withoutLastAdmin(ctx, "disable user", id, func(tx pgx.Tx) (int64, error) {
		tag, err := tx.Exec(ctx, `UPDATE users SET disabled = true, updated_at = $1 WHERE id = $2`, ms(s.db.Now()), id)
		return tag.RowsAffected(), err
	})
}

// ListUsers implements lacop.UserStore.
func (s *UserStore) ListUsers(ctx context.Context, q lacop.UserQuery) ([]*lacop.User, int, error) {
	where, args := "true", []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q.Search != "" {
		if !storable(q.Search) {
			return nil, 0, nil
		}
		// strpos, not LIKE: nothing typed can act as a wildcard.
		n := arg(strings.ToLower(q.Search))
		where += ` AND (strpos(email, ` + n + `) > 0 OR strpos(lower(name), ` + n + `) > 0)`
	}
	if q.Disabled {
		where += ` AND disabled`
	}
	if q.Admins {
		where += ` AND admin`
	}
	if q.Group != "" {
		if !storable(q.Group) {
			return nil, 0, nil
		}
		where += ` AND ` + arg(q.Group) + ` = ANY (groups)`
	}
	var total int
	if err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, wrap("list users", err)
	}
	page := ` ORDER BY email OFFSET ` + arg(max(q.Offset, 0))
	if q.Limit > 0 {
		page += ` LIMIT ` + arg(q.Limit)
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+userSelect+` FROM users WHERE `+where+page, args...)
	if err != nil {
		return nil, 0, wrap("list users", err)
	}
	defer rows.Close()
	var users []*lacop.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, wrap("list users", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("list users", err)
	}
	return users, total, nil
}

// SetName implements lacop.UserStore.
func (s *UserStore) SetName(ctx context.Context, id, name string) error {
	if err := (&lacop.User{Email: "a@b.c", Name: name}).Validate(); err != nil {
		return err
	}
	return s.update(ctx, `UPDATE users SET name = $1, updated_at = $2 WHERE id = $3`, name, ms(s.db.Now()), id)
}

// SetGroups implements lacop.UserStore.
func (s *UserStore) SetGroups(ctx context.Context, id string, groups []string) error {
	if groups == nil {
		groups = []string{} // pgx writes a nil slice as NULL
	}
	if err := (&lacop.User{Email: "a@b.c", Groups: groups}).Validate(); err != nil {
		return err
	}
	return s.update(ctx, `UPDATE users SET groups = $1, updated_at = $2 WHERE id = $3`, groups, ms(s.db.Now()), id)
}

// SetAdmin implements lacop.UserStore.
func (s *UserStore) SetAdmin(ctx context.Context, id string, admin bool) error {
	if admin {
		return s.update(ctx, `UPDATE users SET admin = true, updated_at = $1 WHERE id = $2`, ms(s.db.Now()), id)
	}
	return s.withoutLastAdmin(ctx, "set admin", id, func(tx pgx.Tx) (int64, error) {
		tag, err := tx.Exec(ctx, `UPDATE users SET admin = false, updated_at = $1 WHERE id = $2`, ms(s.db.Now()), id)
		return tag.RowsAffected(), err
	})
}

// DeleteUser implements lacop.UserStore: the users row (its sessions,
// second factor and passkeys go with it by foreign key) and the rows kept
// by user id without one, in one transaction. App grants are left to the
// path that ends them when their session is gone, which sends the apps
// their back-channel logout.
func (s *UserStore) DeleteUser(ctx context.Context, id string) error {
	return s.withoutLastAdmin(ctx, "delete user", id, func(tx pgx.Tx) (int64, error) {
		// Which sessions the user's passkeys signed in goes first: the
		// passkeys go with the user by foreign key.
		if _, err := tx.Exec(ctx, `DELETE FROM passkey_sessions WHERE passkey_id IN (SELECT id FROM passkeys WHERE user_id = $1)`, id); err != nil {
			return 0, err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return 0, err
		}
		for _, table := range []string{"refresh_tokens", "access_tokens", "consents", "links", "known_devices", "sign_in_alerts_off"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, id); err != nil {
				return 0, err
			}
		}
		return tag.RowsAffected(), nil
	})
}

// withoutLastAdmin runs change (which makes id no administrator, or no
// user) in a transaction that first locks every enabled administrator's
// row: a concurrent demotion or delete waits for this one to commit, then
// sees its result, so two admins demoting each other cannot leave none.
// change returns how many rows it changed (0: the user does not exist).
func (s *UserStore) withoutLastAdmin(ctx context.Context, op, id string, change func(tx pgx.Tx) (int64, error)) error {
	if !storable(id) {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	}
	return s.db.inTx(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM users WHERE admin AND NOT disabled ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		admins, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(admins) == 1 && admins[0] == id {
			return lacop.ErrLastAdmin
		}
		n, err := change(tx)
		if err != nil {
			return err
		} else if n == 0 {
			return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
		}
		return nil
	})
}

// BumpTokenVersion implements lacop.UserStore.
func (s *UserStore) BumpTokenVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	err := s.db.pool.QueryRow(ctx,
		`UPDATE users SET token_version = token_version + 1, updated_at = $1 WHERE id = $2 RETURNING token_version`,
		ms(s.db.Now()), id).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return 0, wrap("bump token version", err)
	}
	return v, nil
}

// update runs a one-user UPDATE; ENOTFOUND when it matched no row. A
// unique violation is returned unwrapped for SetEmail to translate.
func (s *UserStore) update(ctx context.Context, query string, args ...any) error {
	tag, err := s.db.pool.Exec(ctx, query, args...)
	if _, ok := uniqueViolation(err); ok {
		return err
	} else if err != nil {
		return wrap("update user", err)
	}
	if tag.RowsAffected() == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	}
	return nil
}

func scanUser(row pgx.Row) (*lacop.User, error) {
	var u lacop.User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Admin, &u.Groups, &u.PasswordHash,
		&u.Disabled, &u.TokenVersion, &created, &updated, &u.TOTPSecret, &u.Passkeys); err != nil {
		return nil, err
	}
	if u.Groups == nil {
		u.Groups = []string{}
	}
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return &u, nil
}
