package lacop

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// User is a person who can sign in.
type User struct {
	ID     string   `json:"id"`
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Admin  bool     `json:"admin"`
	Groups []string `json:"groups"`

	// PasswordHash is an argon2id PHC string; never serialised.
	PasswordHash string `json:"-"`
	// Disabled users cannot sign in and have no sessions.
	Disabled bool `json:"-"`
	// TokenVersion is bumped to invalidate every access token issued before.
	TokenVersion int64 `json:"-"`
	// TOTPSecret is the sealed (encrypted) TOTP secret; empty when the user
	// has no second factor.
	TOTPSecret []byte `json:"-"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"-"`
}

// HasTOTP reports whether the user signs in with a second factor.
func (u *User) HasTOTP() bool { return len(u.TOTPSecret) > 0 }

// NormalizeEmail trims and lowercases an address so that lookups and the
// uniqueness check agree on what "the same email" is.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// Validate reports an EINVALID error when the user cannot be stored.
func (u *User) Validate() error {
	if u.Email == "" {
		return Errorf(EINVALID, "Email is required.")
	} else if len(u.Email) > 254 {
		return Errorf(EINVALID, "Email is too long.")
	} else if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || a.Name != "" {
		return Errorf(EINVALID, "Email %q is not a valid address.", u.Email)
	} else if u.Email != NormalizeEmail(u.Email) {
		return Errorf(EINVALID, "Email must be lowercase.")
	} else if len(u.Name) > 200 {
		return Errorf(EINVALID, "Name is too long.")
	}
	for _, g := range u.Groups {
		if g == "" || len(g) > 100 || strings.ContainsAny(g, ", \t\r\n") {
			return Errorf(EINVALID, "Group %q is not a valid group name.", g)
		}
	}
	return nil
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser stores u, setting CreatedAt and UpdatedAt. Returns ECONFLICT
	// when the email is taken, EINVALID when u fails Validate.
	CreateUser(ctx context.Context, u *User) error

	// UserByID returns ENOTFOUND when no user has the id.
	UserByID(ctx context.Context, id string) (*User, error)

	// UserByEmail looks the normalised email up. Returns ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (*User, error)

	// Users lists every user, oldest first.
	Users(ctx context.Context) ([]*User, error)

	// CountUsers counts every user, disabled or not.
	CountUsers(ctx context.Context) (int, error)

	// SetPasswordHash replaces the password hash. Returns ENOTFOUND.
	SetPasswordHash(ctx context.Context, id, hash string) error

	// SetEmail changes the user's email. Returns ECONFLICT when it is taken,
	// EINVALID when it is not an address, ENOTFOUND for an unknown id.
	SetEmail(ctx context.Context, id, email string) error

	// SetDisabled disables or enables a user. Returns ENOTFOUND.
	SetDisabled(ctx context.Context, id string, disabled bool) error

	// BumpTokenVersion increments the user's token version and returns it,
	// so that every access token carrying an older version fails.
	BumpTokenVersion(ctx context.Context, id string) (int64, error)
}

// SetupStore guards the one-time link that creates the first admin.
type SetupStore interface {
	// ResetSetupToken replaces any pending setup token with one whose
	// SHA-256 is hash. Only the hash is stored.
	ResetSetupToken(ctx context.Context, hash []byte, expiresAt time.Time) error

	// SetupTokenValid reports whether hash names a pending, unexpired token
	// while no user exists yet.
	SetupTokenValid(ctx context.Context, hash []byte, now time.Time) (bool, error)

	// ClaimSetup atomically spends the token and creates u, only if the
	// token is pending and unexpired and no user exists yet; otherwise it
	// returns ENOTFOUND and creates nothing. The link dies once used.
	ClaimSetup(ctx context.Context, hash []byte, now time.Time, u *User) error
}
