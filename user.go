package lacop

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
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
	// Passkeys counts the user's registered passkeys (read with the user,
	// so deciding whether a session owes a second factor costs no extra
	// read).
	Passkeys int `json:"-"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"-"`
}

// HasTOTP reports whether the user signs in with a second factor.
func (u *User) HasTOTP() bool { return len(u.TOTPSecret) > 0 }

// HasSecondFactor reports whether a password alone leaves the user's
// session owing a second step: a TOTP secret or a passkey is registered.
func (u *User) HasSecondFactor() bool { return u.HasTOTP() || u.Passkeys > 0 }

// emailProfile is PRECIS's UsernameCaseMapped profile (RFC 8265 §3.3)
// without its Bidi Rule: fullwidth letters folded to their usual width,
// lower case, NFC, and only the characters of the IdentifierClass (no
// spaces, controls, format characters such as bidi overrides, or symbols).
// The Bidi Rule is written for one label; over a whole address it refuses
// ordinary ones, a Hebrew mailbox at an ASCII domain, or the fullwidth
// digits an IME types. Like a compiled regexp it never changes, and it is
// safe for concurrent use.
var emailProfile = precis.NewIdentifier(precis.FoldWidth, precis.LowerCase(), precis.Norm(norm.NFC))

// NormalizeEmail returns the form of an address that lookups and the
// uniqueness check compare, so that "Zoë@Exämple.com" typed precomposed,
// decomposed, in capitals or in fullwidth letters is one address: trimmed,
// then PRECIS (see emailProfile). An address PRECIS refuses comes back only
// trimmed and lower-cased, as lacop compared addresses before: Validate
// refuses to store it, and a lookup finds nobody, or the account an older
// lacop stored under it.
func NormalizeEmail(email string) string {
	email = strings.TrimSpace(email)
	if n, err := emailProfile.String(email); err == nil {
		return n
	}
	return strings.ToLower(email)
}

// PlainText reports whether s can be shown to a person as it is: valid
// UTF-8 without control characters (C0, DEL, C1), bidi controls (they
// reorder the text around them, so one name can pass for another) or line
// and paragraph separators. Names, groups and notes reach the admin pages,
// the audit log and terminals. multiline allows the line breaks and tabs of
// a text box.
func PlainText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u2028', r == '\u2029':
			return false
		}
	}
	return true
}

// Validate reports an EINVALID error when the user cannot be stored.
func (u *User) Validate() error {
	if u.Email == "" {
		return Errorf(EINVALID, "Email is required.")
	} else if len(u.Email) > 254 {
		return Errorf(EINVALID, "Email is too long.")
	} else if _, err := emailProfile.String(u.Email); err != nil {
		return Errorf(EINVALID, "Email %q is not a valid address: it has a space, control character, symbol or other character an address cannot have.", u.Email)
	} else if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || a.Name != "" {
		return Errorf(EINVALID, "Email %q is not a valid address.", u.Email)
	} else if u.Email != NormalizeEmail(u.Email) {
		return Errorf(EINVALID, "Email %q is not in normal form (lower case, NFC).", u.Email)
	} else if len(u.Name) > 200 {
		return Errorf(EINVALID, "Name is too long.")
	} else if !PlainText(u.Name, false) {
		return Errorf(EINVALID, "Name %q has control characters (such as NUL, escapes, line breaks or bidi overrides); use plain text.", u.Name)
	}
	for _, g := range u.Groups {
		if g == "" || len(g) > 100 || strings.ContainsAny(g, ", \t\r\n") || !PlainText(g, false) {
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

	// ListUsers returns one page of the users q selects, ordered by email,
	// and how many it selects in all: the admin list pages through ten
	// thousand people without reading them all.
	ListUsers(ctx context.Context, q UserQuery) (users []*User, total int, err error)

	// CountUsers counts every user, disabled or not.
	CountUsers(ctx context.Context) (int, error)

	// SetPasswordHash replaces the password hash. Returns ENOTFOUND.
	SetPasswordHash(ctx context.Context, id, hash string) error

	// SetEmail changes the user's email. Returns ECONFLICT when it is taken,
	// EINVALID when it is not an address, ENOTFOUND for an unknown id.
	SetEmail(ctx context.Context, id, email string) error

	// SetDisabled disables or enables a user. Returns ENOTFOUND, and
	// ECONFLICT (changing nothing) for disabling the last enabled
	// administrator, decided as SetAdmin decides it.
	SetDisabled(ctx context.Context, id string, disabled bool) error

	// SetName changes the display name. EINVALID when it fails Validate,
	// ENOTFOUND for an unknown id.
	SetName(ctx context.Context, id, name string) error

	// SetGroups replaces the user's groups. EINVALID for a bad group name,
	// ENOTFOUND for an unknown id.
	SetGroups(ctx context.Context, id string, groups []string) error

	// SetAdmin makes the user an administrator or not. Taking it from the
	// last enabled administrator returns ECONFLICT and changes nothing,
	// decided in the same step as the change, so two admins demoting each
	// other at once cannot leave none.
	SetAdmin(ctx context.Context, id string, admin bool) error

	// DeleteUser removes the user and what is kept for them (sessions,
	// second factors, passkeys, tokens, grants, links, known devices), so
	// the email is free again; audit events stay. ECONFLICT for the last
	// enabled administrator (decided with the delete), ENOTFOUND for an
	// unknown id. Ending the user's sessions is the caller's first step
	// (auth.Service.DeleteUser): this only removes rows.
	DeleteUser(ctx context.Context, id string) error

	// BumpTokenVersion increments the user's token version and returns it,
	// so that every access token carrying an older version fails.
	BumpTokenVersion(ctx context.Context, id string) (int64, error)
}

// UserQuery selects users for the admin list. Zero values select
// everyone.
type UserQuery struct {
	// Search keeps users whose email or name contains it, ignoring case.
	Search string
	// Disabled keeps only disabled users; Admins only administrators.
	Disabled, Admins bool
	// Group keeps only members of the group.
	Group string
	// Offset skips that many users; Limit caps the page (0: no cap).
	Offset, Limit int
}

// ErrLastAdmin refuses a change that would leave no enabled administrator.
var ErrLastAdmin = Errorf(ECONFLICT, "This is the last administrator: make someone else an administrator first.")

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
