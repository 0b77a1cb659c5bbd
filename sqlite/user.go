package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

var _ lacop.UserStore = (*UserStore)(nil)

// UserStore keeps users in SQLite.
type UserStore struct{ db *DB }

// NewUserStore returns a UserStore on db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

const userColumns = `id, email, name, admin, groups_json, password_hash, disabled, token_version, created_at, updated_at, totp_secret`

// userSelect is userColumns and the user's passkey count.
const userSelect = userColumns + `, (SELECT count(*) FROM passkeys WHERE passkeys.user_id = users.id)`

// CreateUser implements lacop.UserStore.
func (s *UserStore) CreateUser(ctx context.Context, u *lacop.User) error {
	return createUser(ctx, s.db.write, s.db, u)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func createUser(ctx context.Context, ex execer, db *DB, u *lacop.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	now := db.Now().UTC().Truncate(time.Millisecond) // stored as milliseconds
	u.CreatedAt, u.UpdatedAt = now, now
	if u.Groups == nil {
		u.Groups = []string{}
	}
	groups, err := json.Marshal(u.Groups)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	if u.TOTPSecret == nil {
		u.TOTPSecret = []byte{}
	}
	_, err = ex.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.Admin, string(groups), u.PasswordHash, u.Disabled, u.TokenVersion, ms(now), ms(now), u.TOTPSecret)
	if isUniqueViolation(err) && strings.Contains(err.Error(), "users.email") {
		return lacop.Errorf(lacop.ECONFLICT, "A user with email %s already exists.", u.Email)
	} else if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "A user with id %s already exists.", u.ID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

// UserByID implements lacop.UserStore.
func (s *UserStore) UserByID(ctx context.Context, id string) (*lacop.User, error) {
	return s.one(ctx, `SELECT `+userSelect+` FROM users WHERE id = ?`, id)
}

// UserByEmail implements lacop.UserStore.
func (s *UserStore) UserByEmail(ctx context.Context, email string) (*lacop.User, error) {
	return s.one(ctx, `SELECT `+userSelect+` FROM users WHERE email = ?`, lacop.NormalizeEmail(email))
}

func (s *UserStore) one(ctx context.Context, query string, arg any) (*lacop.User, error) {
	u, err := scanUser(s.db.queryRow(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// Users implements lacop.UserStore.
func (s *UserStore) Users(ctx context.Context) ([]*lacop.User, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+userSelect+` FROM users ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var users []*lacop.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// CountUsers implements lacop.UserStore.
func (s *UserStore) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count users: %w", err)
	}
	return n, nil
}

// SetPasswordHash implements lacop.UserStore.
func (s *UserStore) SetPasswordHash(ctx context.Context, id, hash string) error {
	return s.update(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ms(s.db.Now()), id)
}

// SetEmail implements lacop.UserStore.
func (s *UserStore) SetEmail(ctx context.Context, id, email string) error {
	email = lacop.NormalizeEmail(email)
	if err := (&lacop.User{Email: email}).Validate(); err != nil {
		return err
	}
	err := s.update(ctx, `UPDATE users SET email = ?, updated_at = ? WHERE id = ?`, email, ms(s.db.Now()), id)
	if isUniqueViolation(err) {
		return lacop.Errorf(lacop.ECONFLICT, "A user with email %s already exists.", email)
	}
	return err
}

// SetDisabled implements lacop.UserStore. Disabling the last enabled
// administrator is refused in the same statement, as SetAdmin does.
func (s *UserStore) SetDisabled(ctx context.Context, id string, disabled bool) error {
	if !disabled {
		return s.update(ctx, `UPDATE users SET disabled = 0, updated_at = ? WHERE id = ?`, ms(s.db.Now()), id)
	}
	err := s.update(ctx, `UPDATE users SET disabled = 1, updated_at = ? WHERE id = ? AND (admin = 0 OR disabled = 1 OR `+otherAdmin+`)`,
		ms(s.db.Now()), id, id)
	return s.lastAdmin(ctx, id, err)
}

// ListUsers implements lacop.UserStore.
func (s *UserStore) ListUsers(ctx context.Context, q lacop.UserQuery) ([]*lacop.User, int, error) {
	where, args := "1", []any{}
	if q.Search != "" {
		// instr, not LIKE: nothing typed can act as a wildcard.
		needle := strings.ToLower(q.Search)
		where += ` AND (instr(email, ?) > 0 OR instr(lower(name), ?) > 0)`
		args = append(args, needle, needle)
	}
	if q.Disabled {
		where += ` AND disabled = 1`
	}
	if q.Admins {
		where += ` AND admin = 1`
	}
	if q.Group != "" {
		where += ` AND EXISTS (SELECT 1 FROM json_each(users.groups_json) WHERE json_each.value = ?)`
		args = append(args, q.Group)
	}
	var total int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: list users: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+userSelect+` FROM users WHERE `+where+
		` ORDER BY email LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var users []*lacop.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	return users, total, rows.Err()
}

// SetName implements lacop.UserStore.
func (s *UserStore) SetName(ctx context.Context, id, name string) error {
	if err := (&lacop.User{Email: "a@b.c", Name: name}).Validate(); err != nil {
		return err
	}
	return s.update(ctx, `UPDATE users SET name = ?, updated_at = ? WHERE id = ?`, name, ms(s.db.Now()), id)
}

// SetGroups implements lacop.UserStore.
func (s *UserStore) SetGroups(ctx context.Context, id string, groups []string) error {
	if groups == nil {
		groups = []string{}
	}
	if err := (&lacop.User{Email: "a@b.c", Groups: groups}).Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	return s.update(ctx, `UPDATE users SET groups_json = ?, updated_at = ? WHERE id = ?`, string(data), ms(s.db.Now()), id)
}

// otherAdmin is true when an enabled administrator other than the user ?
// exists: the condition under which that user may stop being one.
const otherAdmin = `EXISTS (SELECT 1 FROM users o WHERE o.admin = 1 AND o.disabled = 0 AND o.id != ?)`

// SetAdmin implements lacop.UserStore. The check and the change are one
// statement on the one write connection, so no other change comes between.
func (s *UserStore) SetAdmin(ctx context.Context, id string, admin bool) error {
	if admin {
		return s.update(ctx, `UPDATE users SET admin = 1, updated_at = ? WHERE id = ?`, ms(s.db.Now()), id)
	}
	err := s.update(ctx, `UPDATE users SET admin = 0, updated_at = ? WHERE id = ? AND (admin = 0 OR disabled = 1 OR `+otherAdmin+`)`,
		ms(s.db.Now()), id, id)
	return s.lastAdmin(ctx, id, err)
}

// lastAdmin tells an update or delete that matched no row because the
// user is the last administrator from one whose user does not exist.
func (s *UserStore) lastAdmin(ctx context.Context, id string, err error) error {
	if lacop.ErrorCode(err) != lacop.ENOTFOUND {
		return err
	}
	if _, uerr := s.UserByID(ctx, id); uerr == nil {
		return lacop.ErrLastAdmin
	}
	return err
}

// DeleteUser implements lacop.UserStore: the users row (its sessions,
// second factor and passkeys go with it by foreign key) and the rows kept
// by user id without one, in one transaction. App grants are left to the
// path that ends them when their session is gone, which sends the apps
// their back-channel logout; session events stay for open tabs to read.
func (s *UserStore) DeleteUser(ctx context.Context, id string) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: delete user: %w", err)
	}
	defer tx.Rollback()
	// Which sessions the user's passkeys signed in goes first: the
	// passkeys themselves go with the user by foreign key. (Rolled back
	// with the rest if the user is the last administrator.)
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_sessions WHERE passkey_id IN (SELECT id FROM passkeys WHERE user_id = ?)`, id); err != nil {
		return fmt.Errorf("sqlite: delete user's passkey sessions: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ? AND (admin = 0 OR disabled = 1 OR `+otherAdmin+`)`, id, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.lastAdmin(ctx, id, lacop.Errorf(lacop.ENOTFOUND, "User not found."))
	}
	for _, table := range []string{"refresh_tokens", "access_tokens", "consents", "links",
		"known_devices", "sign_in_alerts_off", "session_purges"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete user's %s: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: delete user: %w", err)
	}
	return nil
}

// BumpTokenVersion implements lacop.UserStore.
func (s *UserStore) BumpTokenVersion(ctx context.Context, id string) (int64, error) {
	var v int64
	err := s.db.write.QueryRowContext(ctx,
		`UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version`,
		ms(s.db.Now()), id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	} else if err != nil {
		return 0, fmt.Errorf("sqlite: bump token version: %w", err)
	}
	return v, nil
}

func (s *UserStore) update(ctx context.Context, query string, args ...any) error {
	res, err := s.db.write.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return lacop.Errorf(lacop.ENOTFOUND, "User not found.")
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (*lacop.User, error) {
	var u lacop.User
	var groups string
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Admin, &groups, &u.PasswordHash,
		&u.Disabled, &u.TokenVersion, &created, &updated, &u.TOTPSecret, &u.Passkeys); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return nil, fmt.Errorf("groups of user %s: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return &u, nil
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
