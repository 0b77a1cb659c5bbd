package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testUsers(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CreateAndGet", func(t *testing.T) { testUserCreateAndGet(t, open(t).Users) })
	t.Run("ByEmailNormalized", func(t *testing.T) { testUserByEmailNormalized(t, open(t).Users) })
	t.Run("DuplicateEmail", func(t *testing.T) { testUserDuplicateEmail(t, open(t).Users) })
	t.Run("Invalid", func(t *testing.T) { testUserInvalid(t, open(t).Users) })
	t.Run("NotFound", func(t *testing.T) { testUserNotFound(t, open(t).Users) })
	t.Run("ListOldestFirst", func(t *testing.T) { testUsersOldestFirst(t, open(t).Users) })
	t.Run("Groups", func(t *testing.T) { testUserGroups(t, open(t).Users) })
	t.Run("SetPasswordHash", func(t *testing.T) { testUserSetPasswordHash(t, open(t).Users) })
	t.Run("SetDisabled", func(t *testing.T) { testUserSetDisabled(t, open(t).Users) })
	t.Run("BumpTokenVersion", func(t *testing.T) { testUserBumpTokenVersion(t, open(t).Users) })
	t.Run("Admin", func(t *testing.T) { testUserAdmin(t, open) })
}

// diffUser describes how got differs from want in the stored fields; ""
// when they match.
func diffUser(got, want *lacop.User) string {
	switch {
	case got.ID != want.ID:
		return fmt.Sprintf("ID = %q; want %q", got.ID, want.ID)
	case got.Email != want.Email:
		return fmt.Sprintf("Email = %q; want %q", got.Email, want.Email)
	case got.Name != want.Name:
		return fmt.Sprintf("Name = %q; want %q", got.Name, want.Name)
	case got.Admin != want.Admin:
		return fmt.Sprintf("Admin = %v; want %v", got.Admin, want.Admin)
	case !slices.Equal(got.Groups, want.Groups):
		return fmt.Sprintf("Groups = %q; want %q", got.Groups, want.Groups)
	case got.PasswordHash != want.PasswordHash:
		return fmt.Sprintf("PasswordHash = %q; want %q", got.PasswordHash, want.PasswordHash)
	case got.Disabled != want.Disabled:
		return fmt.Sprintf("Disabled = %v; want %v", got.Disabled, want.Disabled)
	case got.TokenVersion != want.TokenVersion:
		return fmt.Sprintf("TokenVersion = %d; want %d", got.TokenVersion, want.TokenVersion)
	case !sameMS(got.CreatedAt, want.CreatedAt):
		return fmt.Sprintf("CreatedAt = %v; want %v", got.CreatedAt, want.CreatedAt)
	}
	return ""
}

func testUserCreateAndGet(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	u := &lacop.User{
		ID:           "u1",
		Email:        "ann@example.com",
		Name:         "Ann Example",
		Admin:        true,
		Groups:       []string{"ops", "dev"},
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
	}
	before := time.Now()
	must(t, "CreateUser", s.CreateUser(ctx, u))
	if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
		t.Errorf("after CreateUser: CreatedAt = %v, UpdatedAt = %v; want both set", u.CreatedAt, u.UpdatedAt)
	}
	want := *u

	byID, err := s.UserByID(ctx, "u1")
	must(t, "UserByID", err)
	if d := diffUser(byID, &want); d != "" {
		t.Errorf("UserByID(%q): %s", "u1", d)
	}
	byEmail, err := s.UserByEmail(ctx, "ann@example.com")
	must(t, "UserByEmail", err)
	if d := diffUser(byEmail, &want); d != "" {
		t.Errorf("UserByEmail(%q): %s", "ann@example.com", d)
	}
	// The store's clock is the real one unless a backend's test replaces
	// it; a generous window keeps the check meaningful without flaking.
	if got := byID.CreatedAt; got.Before(before.Add(-time.Hour)) || got.After(time.Now().Add(time.Hour)) {
		t.Errorf("CreatedAt = %v; want about %v", got, before)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers() = %d, %v; want 1, nil", n, err)
	}
}

func testUserByEmailNormalized(t *testing.T, s lacop.UserStore) {
	createUsers(t, s, "ann")
	for _, email := range []string{
		"ann@example.com",
		"Ann@Example.COM",
		"  ANN@EXAMPLE.COM\t",
	} {
		u, err := s.UserByEmail(t.Context(), email)
		if err != nil {
			t.Errorf("UserByEmail(%q): %v", email, err)
			continue
		}
		if u.ID != "ann" {
			t.Errorf("UserByEmail(%q).ID = %q; want %q", email, u.ID, "ann")
		}
	}
}

func testUserDuplicateEmail(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "ann")
	dup := newUser("other")
	dup.Email = "ann@example.com"
	wantCode(t, "CreateUser(duplicate email)", s.CreateUser(ctx, dup), lacop.ECONFLICT)

	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers() = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.UserByID(ctx, "other"); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("UserByID(%q) after refused create: err = %v; want ENOTFOUND", "other", err)
	}
}

var invalidUsers = []struct {
	name string
	edit func(u *lacop.User)
}{
	{"empty email", func(u *lacop.User) { u.Email = "" }},
	{"not an address", func(u *lacop.User) { u.Email = "not-an-address" }},
	{"display name", func(u *lacop.User) { u.Email = "Ann <ann@example.com>" }},
	{"uppercase email", func(u *lacop.User) { u.Email = "Ann@example.com" }},
	{"group with comma", func(u *lacop.User) { u.Groups = []string{"a,b"} }},
	{"empty group", func(u *lacop.User) { u.Groups = []string{""} }},
}

func testUserInvalid(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	for _, tt := range invalidUsers {
		u := newUser("bad")
		tt.edit(u)
		wantCode(t, fmt.Sprintf("CreateUser(%s)", tt.name), s.CreateUser(ctx, u), lacop.EINVALID)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers() = %d, %v; want 0, nil", n, err)
	}
}

func testUserNotFound(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "ann")
	_, err := s.UserByID(ctx, "nobody")
	wantCode(t, "UserByID(unknown)", err, lacop.ENOTFOUND)
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, "UserByEmail(unknown)", err, lacop.ENOTFOUND)
	wantCode(t, "SetPasswordHash(unknown)", s.SetPasswordHash(ctx, "nobody", "x"), lacop.ENOTFOUND)
	wantCode(t, "SetDisabled(unknown)", s.SetDisabled(ctx, "nobody", true), lacop.ENOTFOUND)
	_, err = s.BumpTokenVersion(ctx, "nobody")
	wantCode(t, "BumpTokenVersion(unknown)", err, lacop.ENOTFOUND)
}

func testUsersOldestFirst(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	if users, err := s.Users(ctx); err != nil || len(users) != 0 {
		t.Errorf("Users() on an empty store = %d users, %v; want 0, nil", len(users), err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers() on an empty store = %d, %v; want 0, nil", n, err)
	}
	// Ids out of alphabetical order, so that sorting by id is caught. The
	// pause keeps creation times apart at the stores' millisecond precision.
	want := []string{"carol", "alice", "bob", "dave"}
	for _, id := range want {
		createUsers(t, s, id)
		time.Sleep(2 * time.Millisecond)
	}
	must(t, "SetDisabled", s.SetDisabled(ctx, "alice", true))

	users, err := s.Users(ctx)
	must(t, "Users", err)
	got := make([]string, len(users))
	for i, u := range users {
		got[i] = u.ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("Users() ids = %q; want %q", got, want)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != len(want) {
		t.Errorf("CountUsers() = %d, %v; want %d, nil (disabled users count)", n, err, len(want))
	}
}

func testUserGroups(t *testing.T, s lacop.UserStore) {
	tests := []struct {
		id     string
		groups []string
		want   []string
	}{
		{"nil", nil, []string{}},
		{"empty", []string{}, []string{}},
		{"one", []string{"admins"}, []string{"admins"}},
		{"ordered", []string{"zeta", "alpha", "mid"}, []string{"zeta", "alpha", "mid"}},
	}
	for _, tt := range tests {
		u := newUser(tt.id)
		u.Groups = tt.groups
		must(t, "CreateUser "+tt.id, s.CreateUser(t.Context(), u))
		got, err := s.UserByID(t.Context(), tt.id)
		must(t, "UserByID "+tt.id, err)
		if got.Groups == nil || !slices.Equal(got.Groups, tt.want) {
			t.Errorf("Groups stored as %#v read back as %#v; want %#v", tt.groups, got.Groups, tt.want)
		}
	}
}

func testUserSetPasswordHash(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "ann", "bob")
	must(t, "SetPasswordHash", s.SetPasswordHash(ctx, "ann", "new-hash"))
	for id, want := range map[string]string{"ann": "new-hash", "bob": newUser("bob").PasswordHash} {
		u, err := s.UserByID(ctx, id)
		must(t, "UserByID", err)
		if u.PasswordHash != want {
			t.Errorf("UserByID(%q).PasswordHash = %q; want %q", id, u.PasswordHash, want)
		}
	}
}

func testUserSetDisabled(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "ann", "bob")
	for _, want := range []bool{true, true, false} {
		must(t, "SetDisabled", s.SetDisabled(ctx, "ann", want))
		u, err := s.UserByID(ctx, "ann")
		must(t, "UserByID", err)
		if u.Disabled != want {
			t.Errorf("after SetDisabled(%v): Disabled = %v; want %v", want, u.Disabled, want)
		}
	}
	must(t, "SetDisabled", s.SetDisabled(ctx, "ann", true))
	if u, err := s.UserByID(ctx, "bob"); err != nil || u.Disabled {
		t.Errorf("other user: UserByID(%q) = Disabled %v, %v; want false, nil", "bob", u != nil && u.Disabled, err)
	}
}

func testUserBumpTokenVersion(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "ann", "bob")
	for want := int64(1); want <= 3; want++ {
		got, err := s.BumpTokenVersion(ctx, "ann")
		if err != nil || got != want {
			t.Errorf("BumpTokenVersion(%q) = %d, %v; want %d, nil", "ann", got, err, want)
		}
	}
	for id, want := range map[string]int64{"ann": 3, "bob": 0} {
		u, err := s.UserByID(ctx, id)
		must(t, "UserByID", err)
		if u.TokenVersion != want {
			t.Errorf("UserByID(%q).TokenVersion = %d; want %d", id, u.TokenVersion, want)
		}
	}
}
