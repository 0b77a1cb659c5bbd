package storetest

import (
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testSetup(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("TokenValid", func(t *testing.T) { testSetupTokenValid(t, open(t)) })
	t.Run("Claim", func(t *testing.T) { testSetupClaim(t, open(t)) })
	t.Run("ClaimRefused", func(t *testing.T) { testSetupClaimRefused(t, open(t)) })
	t.Run("ClaimInvalidUser", func(t *testing.T) { testSetupClaimInvalidUser(t, open(t)) })
	t.Run("UserExists", func(t *testing.T) { testSetupUserExists(t, open(t)) })
	t.Run("ResetReplaces", func(t *testing.T) { testSetupResetReplaces(t, open(t)) })
}

var (
	setupHash   = hashOf("setup token")
	setupExpiry = base.Add(time.Hour)
)

// wantValid fails the test unless SetupTokenValid(hash, now) reports want.
func wantValid(t *testing.T, s lacop.SetupStore, what string, hash []byte, now time.Time, want bool) {
	t.Helper()
	if got, err := s.SetupTokenValid(t.Context(), hash, now); err != nil || got != want {
		t.Errorf("SetupTokenValid(%s) = %v, %v; want %v, nil", what, got, err, want)
	}
}

// wantUsers fails the test unless the store holds exactly n users.
func wantUsers(t *testing.T, s lacop.UserStore, n int) {
	t.Helper()
	if got, err := s.CountUsers(t.Context()); err != nil || got != n {
		t.Errorf("CountUsers() = %d, %v; want %d, nil", got, err, n)
	}
}

func testSetupTokenValid(t *testing.T, st Stores) {
	s := st.Setup
	wantValid(t, s, "before any token", setupHash, base, false)
	must(t, "ResetSetupToken", s.ResetSetupToken(t.Context(), setupHash, setupExpiry))

	tests := []struct {
		name string
		hash []byte
		now  time.Time
		want bool
	}{
		{"pending token", setupHash, base, true},
		{"just before expiry", setupHash, setupExpiry.Add(-time.Second), true},
		{"wrong hash", hashOf("wrong token"), base, false},
		{"nil hash", nil, base, false},
		{"after expiry", setupHash, setupExpiry.Add(time.Second), false},
		{"long after expiry", setupHash, setupExpiry.Add(24 * time.Hour), false},
	}
	for _, tt := range tests {
		wantValid(t, s, tt.name, tt.hash, tt.now, tt.want)
	}
	// Checking does not spend the token.
	wantValid(t, s, "after checks", setupHash, base, true)
}

func testSetupClaim(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Setup
	must(t, "ResetSetupToken", s.ResetSetupToken(ctx, setupHash, setupExpiry))
	admin := newUser("admin")
	admin.Admin = true
	must(t, "ClaimSetup", s.ClaimSetup(ctx, setupHash, base, admin))

	got, err := st.Users.UserByEmail(ctx, "admin@example.com")
	must(t, "UserByEmail", err)
	if got.ID != "admin" || !got.Admin || got.CreatedAt.IsZero() {
		t.Errorf("claimed user = %+v; want id admin, Admin true, CreatedAt set", *got)
	}
	wantUsers(t, st.Users, 1)
	wantValid(t, s, "after claim", setupHash, base, false)

	second := newUser("intruder")
	second.Admin = true
	wantCode(t, "second ClaimSetup", s.ClaimSetup(ctx, setupHash, base, second), lacop.ENOTFOUND)
	wantUsers(t, st.Users, 1)
	_, err = st.Users.UserByID(ctx, "intruder")
	wantCode(t, "UserByID(intruder)", err, lacop.ENOTFOUND)
}

func testSetupClaimRefused(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Setup
	wantCode(t, "ClaimSetup before any token", s.ClaimSetup(ctx, setupHash, base, newUser("a")), lacop.ENOTFOUND)
	must(t, "ResetSetupToken", s.ResetSetupToken(ctx, setupHash, setupExpiry))

	tests := []struct {
		name string
		hash []byte
		now  time.Time
	}{
		{"wrong hash", hashOf("wrong token"), base},
		{"nil hash", nil, base},
		{"expired", setupHash, setupExpiry.Add(time.Second)},
	}
	for _, tt := range tests {
		err := s.ClaimSetup(ctx, tt.hash, tt.now, newUser("admin"))
		wantCode(t, "ClaimSetup("+tt.name+")", err, lacop.ENOTFOUND)
	}
	wantUsers(t, st.Users, 0)
	// Refused claims leave the real token usable.
	wantValid(t, s, "after refused claims", setupHash, base, true)
	must(t, "ClaimSetup", s.ClaimSetup(ctx, setupHash, base, newUser("admin")))
	wantUsers(t, st.Users, 1)
}

// testSetupClaimInvalidUser checks that the claim is atomic: a user that
// cannot be stored leaves the token unspent, so the form can be retried.
func testSetupClaimInvalidUser(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Setup
	must(t, "ResetSetupToken", s.ResetSetupToken(ctx, setupHash, setupExpiry))
	bad := newUser("admin")
	bad.Email = "not-an-address"
	wantCode(t, "ClaimSetup(invalid user)", s.ClaimSetup(ctx, setupHash, base, bad), lacop.EINVALID)
	wantUsers(t, st.Users, 0)
	wantValid(t, s, "after invalid claim", setupHash, base, true)
	must(t, "ClaimSetup", s.ClaimSetup(ctx, setupHash, base, newUser("admin")))
	wantUsers(t, st.Users, 1)
}

func testSetupUserExists(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Setup
	createUsers(t, st.Users, "first")
	must(t, "ResetSetupToken", s.ResetSetupToken(ctx, setupHash, setupExpiry))
	wantValid(t, s, "with a user present", setupHash, base, false)
	wantCode(t, "ClaimSetup(user exists)", s.ClaimSetup(ctx, setupHash, base, newUser("admin")), lacop.ENOTFOUND)
	wantUsers(t, st.Users, 1)
	_, err := st.Users.UserByID(ctx, "admin")
	wantCode(t, "UserByID(admin)", err, lacop.ENOTFOUND)
}

func testSetupResetReplaces(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Setup
	oldHash, newHash := hashOf("old token"), hashOf("new token")
	must(t, "ResetSetupToken(old)", s.ResetSetupToken(ctx, oldHash, setupExpiry))
	must(t, "ResetSetupToken(new)", s.ResetSetupToken(ctx, newHash, base.Add(2*time.Hour)))

	wantValid(t, s, "old token", oldHash, base, false)
	wantValid(t, s, "new token", newHash, base, true)
	// The new token carries its own expiry, not the old one's.
	wantValid(t, s, "new token after old expiry", newHash, setupExpiry.Add(time.Minute), true)

	wantCode(t, "ClaimSetup(old token)", s.ClaimSetup(ctx, oldHash, base, newUser("admin")), lacop.ENOTFOUND)
	wantUsers(t, st.Users, 0)
	must(t, "ClaimSetup(new token)", s.ClaimSetup(ctx, newHash, base, newUser("admin")))
	wantUsers(t, st.Users, 1)

	// Re-resetting the same hash is allowed and does not revive a spent
	// token once a user exists.
	must(t, "ResetSetupToken(same)", s.ResetSetupToken(ctx, newHash, setupExpiry))
	wantValid(t, s, "reset after claim", newHash, base, false)
}
