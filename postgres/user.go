package postgres

import (
	"context"
	"errors"
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

// SetDisabled implements lacop.UserStore.
func (s *UserStore) SetDisabled(ctx context.Context, id string, disabled bool) error {
	return s.update(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3`, disabled, ms(s.db.Now()), id)
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
