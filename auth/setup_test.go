package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// setupLinkLifetime mirrors the 24 hours a first-admin link stays usable.
const setupLinkLifetime = 24 * time.Hour

func (e *env) prepareSetup(t *testing.T) string {
	t.Helper()
	token, err := e.svc.PrepareSetup(e.ctx)
	if err != nil {
		t.Fatalf("PrepareSetup: %v", err)
	}
	if token == "" {
		t.Fatalf("PrepareSetup on an empty store = \"\"; want a token")
	}
	return token
}

func (e *env) tokenValid(t *testing.T, token string) bool {
	t.Helper()
	ok, err := e.svc.SetupTokenValid(e.ctx, token)
	if err != nil {
		t.Fatalf("SetupTokenValid: %v", err)
	}
	return ok
}

var firstAdmin = auth.NewUser{Email: "Root@Example.com", Name: "Root", Password: alicePassword}

func TestCompleteSetup(t *testing.T) {
	e := newEnv(t, defaultConfig)
	token := e.prepareSetup(t)
	if !e.tokenValid(t, token) {
		t.Fatalf("SetupTokenValid(new token) = false; want true")
	}

	in, err := e.svc.CompleteSetup(e.ctx, token, firstAdmin, client)
	if err != nil {
		t.Fatalf("CompleteSetup: %v", err)
	}
	if !in.User.Admin {
		t.Errorf("first user Admin = false; want true")
	}
	if got, want := in.User.Email, "root@example.com"; got != want {
		t.Errorf("first user Email = %q; want %q", got, want)
	}
	if got, want := len(in.Secret), 43; got != want {
		t.Errorf("len(Secret) = %d; want %d", got, want)
	}
	id := e.mustAuth(t, in.Secret)
	if got, want := id.User.ID, in.User.ID; got != want {
		t.Errorf("signed-in user = %q; want %q", got, want)
	}
	if !e.user(t, in.User.ID).Admin {
		t.Errorf("stored first user is not an admin")
	}

	// The token is spent.
	if e.tokenValid(t, token) {
		t.Errorf("SetupTokenValid after use = true; want false")
	}
	again := firstAdmin
	again.Email = "other@example.com"
	_, err = e.svc.CompleteSetup(e.ctx, token, again, client)
	wantCode(t, "second CompleteSetup", err, lacop.ENOTFOUND)
	if n, err := e.users.CountUsers(e.ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
	// And no new one is handed out once a user exists.
	if token, err := e.svc.PrepareSetup(e.ctx); err != nil || token != "" {
		t.Errorf("PrepareSetup with a user = %q, %v; want \"\", nil", token, err)
	}

	created := e.events(t, lacop.AuditUserCreated)
	if len(created) != 1 || created[0].UserID != in.User.ID || created[0].Detail["via"] != "setup" {
		t.Errorf("user.created events = %+v; want one via setup", created)
	}
	e.oneSessionEvent(t, lacop.AuditLoginSucceeded, in.Session.ID)
	e.noSecretsLeak(t, alicePassword, token, in.Secret)

	// The admin can sign in normally afterwards.
	e.login(t, "root@example.com", alicePassword, false)
}

func TestPrepareSetupWithUsers(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	token, err := e.svc.PrepareSetup(e.ctx)
	if err != nil || token != "" {
		t.Errorf("PrepareSetup = %q, %v; want \"\", nil", token, err)
	}
}

func TestPrepareSetupReplacesToken(t *testing.T) {
	e := newEnv(t, defaultConfig)
	first := e.prepareSetup(t)
	second := e.prepareSetup(t)
	if first == second {
		t.Fatalf("PrepareSetup gave the same token twice")
	}
	if e.tokenValid(t, first) {
		t.Errorf("first token still valid after a new one was prepared")
	}
	if !e.tokenValid(t, second) {
		t.Errorf("second token not valid")
	}
	_, err := e.svc.CompleteSetup(e.ctx, first, firstAdmin, client)
	wantCode(t, "CompleteSetup(replaced token)", err, lacop.ENOTFOUND)
}

func TestCompleteSetupWeakPassword(t *testing.T) {
	e := newEnv(t, defaultConfig)
	token := e.prepareSetup(t)
	for _, tt := range []struct {
		name string
		nu   auth.NewUser
		want string
	}{
		{"weak password", auth.NewUser{Email: "root@example.com", Password: "password1234"}, lacop.EWEAKPASSWORD},
		{"short password", auth.NewUser{Email: "root@example.com", Password: "short"}, lacop.EWEAKPASSWORD},
		{"password has email", auth.NewUser{Email: "root@example.com", Password: "root@example.com-2024!"}, lacop.EWEAKPASSWORD},
		{"invalid email", auth.NewUser{Email: "root", Password: alicePassword}, lacop.EINVALID},
	} {
		in, err := e.svc.CompleteSetup(e.ctx, token, tt.nu, client)
		if in != nil {
			t.Errorf("CompleteSetup(%s) = %+v; want nil", tt.name, in)
		}
		wantCode(t, "CompleteSetup("+tt.name+")", err, tt.want)
		if !e.tokenValid(t, token) {
			t.Fatalf("token invalid after CompleteSetup(%s) failed; want still valid", tt.name)
		}
	}
	if n, err := e.users.CountUsers(e.ctx); err != nil || n != 0 {
		t.Errorf("CountUsers = %d, %v; want 0", n, err)
	}
	if _, err := e.svc.CompleteSetup(e.ctx, token, firstAdmin, client); err != nil {
		t.Errorf("CompleteSetup after failed attempts: %v", err)
	}
}

func TestSetupTokenExpiry(t *testing.T) {
	e := newEnv(t, defaultConfig)
	token := e.prepareSetup(t)
	e.clock.Advance(setupLinkLifetime - time.Millisecond)
	if !e.tokenValid(t, token) {
		t.Fatalf("token invalid just before %v; want valid", setupLinkLifetime)
	}
	e.clock.Advance(time.Millisecond)
	if e.tokenValid(t, token) {
		t.Errorf("token valid at %v; want expired", setupLinkLifetime)
	}
	_, err := e.svc.CompleteSetup(e.ctx, token, firstAdmin, client)
	wantCode(t, "CompleteSetup(expired token)", err, lacop.ENOTFOUND)
	if n, err := e.users.CountUsers(e.ctx); err != nil || n != 0 {
		t.Errorf("CountUsers = %d, %v; want 0", n, err)
	}
	// A fresh link works again.
	if _, err := e.svc.CompleteSetup(e.ctx, e.prepareSetup(t), firstAdmin, client); err != nil {
		t.Errorf("CompleteSetup(fresh token): %v", err)
	}
}

func TestSetupTokenInvalid(t *testing.T) {
	e := newEnv(t, defaultConfig)
	token := e.prepareSetup(t)
	for _, bad := range []string{"", "x", token[:len(token)-1], token + "x", strings.Repeat("A", 101), strings.ToUpper(token)} {
		if bad == token {
			continue
		}
		if e.tokenValid(t, bad) {
			t.Errorf("SetupTokenValid(%.20q) = true; want false", bad)
		}
		_, err := e.svc.CompleteSetup(e.ctx, bad, firstAdmin, client)
		wantCode(t, "CompleteSetup(bad token)", err, lacop.ENOTFOUND)
	}
	if !e.tokenValid(t, token) {
		t.Errorf("real token invalid after bad attempts; want valid")
	}
}
