package auth_test

import (
	"context"
	"testing"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// hookedUsers is the real SQLite user store with a hook that runs right
// after a user is read by email. It is not a fake: every call goes to
// SQLite. It only fixes one interleaving of two requests, so a race that
// would need luck and load to show up happens on every run.
type hookedUsers struct {
	lacop.UserStore
	afterByEmail func()
}

func (h *hookedUsers) UserByEmail(ctx context.Context, email string) (*lacop.User, error) {
	u, err := h.UserStore.UserByEmail(ctx, email)
	if f := h.afterByEmail; f != nil {
		h.afterByEmail = nil
		f()
	}
	return u, err
}

// startLoginDuring signs alice in with her current password while revoke
// runs between the sign-in reading her record and checking the password,
// the window a real argon2id computation leaves open. It returns the
// sign-in's result once revoke has returned.
func startLoginDuring(t *testing.T, e *env, revoke func() error) (*auth.SignIn, error) {
	t.Helper()
	hooked := &hookedUsers{UserStore: e.users}
	e.svc.Users = hooked
	defer func() { e.svc.Users = e.users }()
	var revokeErr error
	hooked.afterByEmail = func() { revokeErr = revoke() }
	in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: client})
	if revokeErr != nil {
		t.Fatalf("revocation during sign-in: %v", revokeErr)
	}
	return in, err
}

// TestLoginRacingPasswordReset: a sign-in with the old password that is in
// flight (user read, argon2id running) while an admin resets the password
// must not come out with a live session. Otherwise an attacker who knows the
// old password and keeps signing in keeps access through the very reset
// meant to lock them out (CONTRACT.md: "user passwd … ends every session
// and token of that user").
func TestLoginRacingPasswordReset(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in, err := startLoginDuring(t, e, func() error {
		return e.svc.ResetPassword(e.ctx, u.ID, "granite-Orchard-2264-plum", "admin-id", admin)
	})
	if err == nil {
		if id, aerr := e.svc.Authenticate(e.ctx, in.Secret, client); aerr == nil {
			t.Errorf("sign-in with the old password overlapping ResetPassword returned session %q, "+
				"still live after the reset (Authenticate accepts it as %s); want no live session", id.Session.ID, id.User.Email)
		}
	}
	list, lerr := e.sessions.UserSessions(e.ctx, u.ID)
	if lerr != nil {
		t.Fatalf("UserSessions: %v", lerr)
	}
	if len(list) != 0 {
		t.Errorf("user has %d sessions after ResetPassword returned; want 0", len(list))
	}
}

// TestLoginRacingDisableUser: the same interleaving with DisableUser. The
// session row may survive the race, but it must never let anyone in.
func TestLoginRacingDisableUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in, err := startLoginDuring(t, e, func() error {
		return e.svc.DisableUser(e.ctx, u.ID, "admin-id", admin)
	})
	if err == nil {
		e.mustBeDead(t, in.Secret)
	}
	// A fresh sign-in is refused as it would be for anyone disabled.
	_, err = e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: client})
	wantCode(t, "Login after DisableUser", err, lacop.EINVALIDCREDENTIALS)
}
