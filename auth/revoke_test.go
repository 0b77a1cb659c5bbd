package auth_test

import (
	"testing"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

var admin = auth.Client{IP: "192.0.2.1", UserAgent: "admin-console"}

func TestRevokeSessionNotYours(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	e.createUser(t, "bob@example.com", bobPassword)
	bobs := e.login(t, "bob@example.com", bobPassword, false)
	alices := e.login(t, "alice@example.com", alicePassword, false)
	me := &auth.Identity{User: alice, Session: alices.Session}
	before := len(e.events(t, ""))

	_, foreign := e.svc.EndMySession(e.ctx, me, bobs.Session.ID, client)
	_, unknown := e.svc.EndMySession(e.ctx, me, "no-such-session-id", client)

	wantCode(t, "EndMySession(another user's id)", foreign, lacop.ENOTFOUND)
	wantCode(t, "EndMySession(unknown id)", unknown, lacop.ENOTFOUND)
	if got, want := foreign.Error(), unknown.Error(); got != want {
		t.Errorf("another user's id: %q; want exactly as an unknown id: %q", got, want)
	}
	if got, want := lacop.ErrorMessage(foreign), lacop.ErrorMessage(unknown); got != want {
		t.Errorf("another user's id message %q; want %q", got, want)
	}
	e.mustAuth(t, bobs.Secret)
	if got, want := len(e.events(t, "")), before; got != want {
		t.Errorf("%d audit events after refused revocations; want %d", got, want)
	}
}

func TestRevokeSessionOwn(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	e.createUser(t, "bob@example.com", bobPassword)
	current := e.login(t, "alice@example.com", alicePassword, false)
	stolen := e.login(t, "alice@example.com", alicePassword, false)
	bobs := e.login(t, "bob@example.com", bobPassword, false)

	me := &auth.Identity{User: alice, Session: current.Session}
	out, err := e.svc.EndMySession(e.ctx, me, stolen.Session.ID, client)
	if err != nil {
		t.Fatalf("EndMySession: %v", err)
	}
	if out.CurrentEnded || out.Revoked() != 1 {
		t.Errorf("EndMySession(another of mine) = CurrentEnded %v, Revoked %d; want false, 1", out.CurrentEnded, out.Revoked())
	}
	e.mustBeDead(t, stolen.Secret)
	e.sessionGone(t, stolen.Session.ID)
	e.mustAuth(t, current.Secret)
	e.mustAuth(t, bobs.Secret)

	ev := e.oneSessionEvent(t, lacop.AuditSessionRevoked, stolen.Session.ID)
	if got, want := ev.ActorID, alice.ID; got != want {
		t.Errorf("session.revoked ActorID = %q; want %q", got, want)
	}
	if got, want := ev.Detail["reason"], string(auth.ReasonRevoked); got != want {
		t.Errorf("session.revoked reason = %q; want %q", got, want)
	}
	if got, want := e.user(t, alice.ID).TokenVersion, alice.TokenVersion; got != want {
		t.Errorf("TokenVersion = %d; want unchanged %d", got, want)
	}

	// Already gone: not found, and no second event.
	_, err = e.svc.EndMySession(e.ctx, me, stolen.Session.ID, client)
	wantCode(t, "second EndMySession", err, lacop.ENOTFOUND)
	// Ending the one in use is signing out.
	out, err = e.svc.EndMySession(e.ctx, me, current.Session.ID, client)
	if err != nil || !out.CurrentEnded {
		t.Errorf("EndMySession(this session) = %+v, %v; want CurrentEnded", out, err)
	}
	if n := len(e.sessionEvents(t, lacop.AuditSessionRevoked, stolen.Session.ID)); n != 1 {
		t.Errorf("%d session.revoked events; want 1", n)
	}
}

func TestRevokeSessionByAdmin(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	if err := e.svc.AdminEndSession(e.ctx, in.Session.ID, "admin-id", admin); err != nil {
		t.Fatalf("AdminEndSession: %v", err)
	}
	e.mustBeDead(t, in.Secret)
	ev := e.oneSessionEvent(t, lacop.AuditSessionRevoked, in.Session.ID)
	if got, want := ev.ActorID, "admin-id"; got != want {
		t.Errorf("ActorID = %q; want %q", got, want)
	}
	if got, want := ev.IP, admin.IP; got != want {
		t.Errorf("IP = %q; want %q", got, want)
	}
}

func TestRevokeAll(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	bob := e.createUser(t, "bob@example.com", bobPassword)
	var alices []*auth.SignIn
	for i := range 3 {
		alices = append(alices, e.login(t, "alice@example.com", alicePassword, i == 2))
	}
	bobs := e.login(t, "bob@example.com", bobPassword, false)

	n, err := e.svc.RevokeAll(e.ctx, alice.ID, alice.ID, client)
	if err != nil {
		t.Fatalf("RevokeAll: %v", err)
	}
	if got, want := n, 3; got != want {
		t.Errorf("RevokeAll = %d; want %d", got, want)
	}
	for _, in := range alices {
		e.mustBeDead(t, in.Secret)
		e.sessionGone(t, in.Session.ID)
		ev := e.oneSessionEvent(t, lacop.AuditSessionRevoked, in.Session.ID)
		if got, want := ev.Detail["reason"], string(auth.ReasonAdminRevokedAll); got != want {
			t.Errorf("session.revoked reason = %q; want %q", got, want)
		}
	}
	e.mustAuth(t, bobs.Secret)
	if got, want := e.user(t, alice.ID).TokenVersion, alice.TokenVersion+1; got != want {
		t.Errorf("alice TokenVersion = %d; want %d", got, want)
	}
	if got, want := e.user(t, bob.ID).TokenVersion, bob.TokenVersion; got != want {
		t.Errorf("bob TokenVersion = %d; want unchanged %d", got, want)
	}
	all := e.events(t, lacop.AuditSessionRevokedAll)
	if len(all) != 1 {
		t.Fatalf("%d session.revoked_all events; want 1", len(all))
	}
	for _, f := range []struct{ field, got, want string }{
		{"UserID", all[0].UserID, alice.ID},
		{"ActorID", all[0].ActorID, alice.ID},
		{"IP", all[0].IP, client.IP},
		{"Detail[count]", all[0].Detail["count"], "3"},
	} {
		if f.got != f.want {
			t.Errorf("session.revoked_all %s = %q; want %q", f.field, f.got, f.want)
		}
	}

	// With nothing left it still bumps the version and says so.
	n, err = e.svc.RevokeAll(e.ctx, alice.ID, "", admin)
	if err != nil || n != 0 {
		t.Errorf("second RevokeAll = %d, %v; want 0, nil", n, err)
	}
	if got, want := e.user(t, alice.ID).TokenVersion, alice.TokenVersion+2; got != want {
		t.Errorf("alice TokenVersion after second RevokeAll = %d; want %d", got, want)
	}
	if got := e.events(t, lacop.AuditSessionRevokedAll)[0].Detail["count"]; got != "0" {
		t.Errorf("second session.revoked_all count = %q; want \"0\"", got)
	}
	// A new sign-in works afterwards.
	e.mustAuth(t, e.login(t, "alice@example.com", alicePassword, false).Secret)
}

// TestRevokeAllUnknownUser: an admin or script naming a user id that does
// not exist is a not-found, not an outage.
func TestRevokeAllUnknownUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	_, err := e.svc.RevokeAll(e.ctx, "no-such-user", "", admin)
	wantCode(t, "RevokeAll(unknown user)", err, lacop.ENOTFOUND)
}

func TestResetPassword(t *testing.T) {
	const newPassword = "granite-Orchard-2264-plum"
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	e.createUser(t, "bob@example.com", bobPassword)
	a1 := e.login(t, "alice@example.com", alicePassword, false)
	a2 := e.login(t, "alice@example.com", alicePassword, true)
	bobs := e.login(t, "bob@example.com", bobPassword, false)

	if err := e.svc.ResetPassword(e.ctx, alice.ID, newPassword, "admin-id", admin); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	for _, in := range []*auth.SignIn{a1, a2} {
		e.mustBeDead(t, in.Secret)
		ev := e.oneSessionEvent(t, lacop.AuditSessionRevoked, in.Session.ID)
		if got, want := ev.Detail["reason"], string(auth.ReasonPasswordReset); got != want {
			t.Errorf("session.revoked reason = %q; want %q", got, want)
		}
		if got, want := ev.ActorID, "admin-id"; got != want {
			t.Errorf("session.revoked ActorID = %q; want %q", got, want)
		}
	}
	e.mustAuth(t, bobs.Secret)
	if got, want := e.user(t, alice.ID).TokenVersion, alice.TokenVersion+1; got != want {
		t.Errorf("TokenVersion = %d; want %d", got, want)
	}
	changed := e.events(t, lacop.AuditPasswordChanged)
	if len(changed) != 1 || changed[0].UserID != alice.ID || changed[0].ActorID != "admin-id" {
		t.Errorf("password.changed events = %+v; want one for alice by admin-id", changed)
	}

	_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: client})
	wantCode(t, "Login with the old password", err, lacop.EINVALIDCREDENTIALS)
	e.mustAuth(t, e.login(t, "alice@example.com", newPassword, false).Secret)
	e.noSecretsLeak(t, alicePassword, newPassword)
}

func TestResetPasswordWeak(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	hash := e.user(t, alice.ID).PasswordHash
	before := len(e.events(t, ""))

	for _, pw := range []string{
		"",
		"short",
		"aaaaaaaaaaaaaaaa",
		"123456789012",
		"qwertyuiopasdf",
		"my-alice@example.com-pw",
		"xx-alice-1234-yy",
	} {
		err := e.svc.ResetPassword(e.ctx, alice.ID, pw, "admin-id", admin)
		wantCode(t, "ResetPassword("+pw+")", err, lacop.EWEAKPASSWORD)
	}
	u := e.user(t, alice.ID)
	if u.PasswordHash != hash {
		t.Errorf("PasswordHash changed after refused resets")
	}
	if got, want := u.TokenVersion, alice.TokenVersion; got != want {
		t.Errorf("TokenVersion = %d; want unchanged %d", got, want)
	}
	if got, want := len(e.events(t, "")), before; got != want {
		t.Errorf("%d audit events after refused resets; want %d", got, want)
	}
	e.mustAuth(t, in.Secret)
	e.login(t, "alice@example.com", alicePassword, false)
}

func TestResetPasswordUnknownUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	err := e.svc.ResetPassword(e.ctx, "no-such-user", "granite-Orchard-2264-plum", "", admin)
	wantCode(t, "ResetPassword(unknown user)", err, lacop.ENOTFOUND)
}

func TestDisableUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	e.createUser(t, "bob@example.com", bobPassword)
	a1 := e.login(t, "alice@example.com", alicePassword, false)
	a2 := e.login(t, "alice@example.com", alicePassword, true)
	bobs := e.login(t, "bob@example.com", bobPassword, false)

	if err := e.svc.DisableUser(e.ctx, alice.ID, "admin-id", admin); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	for _, in := range []*auth.SignIn{a1, a2} {
		e.mustBeDead(t, in.Secret)
		e.sessionGone(t, in.Session.ID)
		ev := e.oneSessionEvent(t, lacop.AuditSessionRevoked, in.Session.ID)
		if got, want := ev.Detail["reason"], string(auth.ReasonUserDisabled); got != want {
			t.Errorf("session.revoked reason = %q; want %q", got, want)
		}
	}
	e.mustAuth(t, bobs.Secret)

	u := e.user(t, alice.ID)
	if !u.Disabled {
		t.Errorf("Disabled = false; want true")
	}
	if got, want := u.TokenVersion, alice.TokenVersion+1; got != want {
		t.Errorf("TokenVersion = %d; want %d", got, want)
	}
	disabled := e.events(t, lacop.AuditUserDisabled)
	if len(disabled) != 1 {
		t.Fatalf("%d user.disabled events; want 1", len(disabled))
	}
	if got, want := disabled[0].UserID, alice.ID; got != want {
		t.Errorf("user.disabled UserID = %q; want %q", got, want)
	}
	if got, want := disabled[0].ActorID, "admin-id"; got != want {
		t.Errorf("user.disabled ActorID = %q; want %q", got, want)
	}

	_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: client})
	wantCode(t, "Login of a disabled user", err, lacop.EINVALIDCREDENTIALS)
	_, wrong := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: "wrong-" + alicePassword, Client: client})
	if got, want := lacop.ErrorMessage(err), lacop.ErrorMessage(wrong); got != want {
		t.Errorf("disabled login message %q; want the wrong-password message %q", got, want)
	}
	list, lerr := e.sessions.UserSessions(e.ctx, alice.ID)
	if lerr != nil || len(list) != 0 {
		t.Errorf("UserSessions after disable = %d, %v; want none", len(list), lerr)
	}
}

func TestDisableUnknownUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	err := e.svc.DisableUser(e.ctx, "no-such-user", "", admin)
	wantCode(t, "DisableUser(unknown user)", err, lacop.ENOTFOUND)
	if n := len(e.events(t, "")); n != 0 {
		t.Errorf("%d audit events; want 0", n)
	}
}

func TestCreateUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u, err := e.svc.CreateUser(e.ctx, auth.NewUser{Email: " Alice@Example.com ", Name: " Alice ", Password: alicePassword,
		Admin: true, Groups: []string{"ops"}}, "admin-id", admin)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	stored := e.user(t, u.ID)
	if got, want := stored.Email, "alice@example.com"; got != want {
		t.Errorf("Email = %q; want %q", got, want)
	}
	if got, want := stored.Name, "Alice"; got != want {
		t.Errorf("Name = %q; want %q", got, want)
	}
	if !stored.Admin || len(stored.Groups) != 1 || stored.Groups[0] != "ops" {
		t.Errorf("Admin, Groups = %v, %v; want true, [ops]", stored.Admin, stored.Groups)
	}
	if stored.PasswordHash == alicePassword || len(stored.PasswordHash) < 20 || stored.PasswordHash[:10] != "$argon2id$" {
		t.Errorf("PasswordHash = %q; want an argon2id PHC string", stored.PasswordHash)
	}
	created := e.events(t, lacop.AuditUserCreated)
	if len(created) != 1 || created[0].UserID != u.ID || created[0].ActorID != "admin-id" {
		t.Errorf("user.created events = %+v; want one for the user by admin-id", created)
	}

	for _, tt := range []struct {
		name string
		nu   auth.NewUser
		want string
	}{
		{"duplicate email", auth.NewUser{Email: "ALICE@example.com", Password: bobPassword}, lacop.ECONFLICT},
		{"invalid email", auth.NewUser{Email: "not an email", Password: bobPassword}, lacop.EINVALID},
		{"empty email", auth.NewUser{Email: "", Password: bobPassword}, lacop.EINVALID},
		{"weak password", auth.NewUser{Email: "bob@example.com", Password: "password"}, lacop.EWEAKPASSWORD},
		{"bad group", auth.NewUser{Email: "bob@example.com", Password: bobPassword, Groups: []string{"a b"}}, lacop.EINVALID},
	} {
		_, err := e.svc.CreateUser(e.ctx, tt.nu, "", auth.Client{})
		wantCode(t, "CreateUser("+tt.name+")", err, tt.want)
	}
	if n, err := e.users.CountUsers(e.ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
	e.noSecretsLeak(t, alicePassword, bobPassword)
}
