package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/password"
)

func TestLoginSuccess(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)

	in := e.login(t, "alice@example.com", alicePassword, false)

	if got, want := len(in.Secret), 43; got != want {
		t.Errorf("len(Secret) = %d; want %d", got, want)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(in.Secret); err != nil || len(raw) != 32 {
		t.Errorf("Secret %q decodes to %d bytes, %v; want 32 bytes of base64url", in.Secret, len(raw), err)
	}
	if got, want := in.Session.SecretHash, auth.HashSecret(in.Secret); !bytes.Equal(got, want) {
		t.Errorf("Session.SecretHash = %x; want HashSecret(secret) = %x", got, want)
	}
	if bytes.Equal(in.Session.SecretHash, []byte(in.Secret)) || bytes.Contains(in.Session.SecretHash, []byte(in.Secret)) {
		t.Errorf("Session.SecretHash holds the secret itself")
	}
	if in.Session.ID == "" || in.Session.ID == in.Secret || strings.Contains(in.Secret, in.Session.ID) {
		t.Errorf("Session.ID = %q; want a public id unrelated to secret %q", in.Session.ID, in.Secret)
	}
	if got, want := in.User.ID, u.ID; got != want {
		t.Errorf("User.ID = %q; want %q", got, want)
	}

	// The store holds the same session under the hash, and never the secret.
	stored, err := e.sessions.SessionByHash(e.ctx, auth.HashSecret(in.Secret))
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	if got, want := stored.ID, in.Session.ID; got != want {
		t.Errorf("stored ID = %q; want %q", got, want)
	}
	if _, err := e.sessions.SessionByHash(e.ctx, []byte(in.Secret)); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("SessionByHash(raw secret) err = %v; want ENOTFOUND", err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"UserID", stored.UserID, u.ID},
		{"AuthLevel", stored.AuthLevel, lacop.AuthLevelOneFactor},
		{"RememberMe", stored.RememberMe, false},
		{"CreatedAt", stored.CreatedAt, t0},
		{"LastActiveAt", stored.LastActiveAt, t0},
		{"ExpiresAt", stored.ExpiresAt, t0.Add(defaultConfig.Lifetime)},
		{"IP", stored.IP, client.IP},
		{"UserAgent", stored.UserAgent, client.UserAgent},
	} {
		if c.got != c.want {
			t.Errorf("stored %s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoginRememberMeLifetime(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, true)
	stored, err := e.sessions.SessionByID(e.ctx, in.Session.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if got, want := stored.ExpiresAt, t0.Add(defaultConfig.RememberMeLifetime); !got.Equal(want) {
		t.Errorf("ExpiresAt = %v; want %v", got, want)
	}
	if !stored.RememberMe {
		t.Errorf("RememberMe = false; want true")
	}
}

func TestLoginFreshSecretEachTime(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	a := e.login(t, "alice@example.com", alicePassword, false)
	b := e.login(t, "alice@example.com", alicePassword, false)
	if a.Secret == b.Secret {
		t.Errorf("two logins gave the same secret %q", a.Secret)
	}
	if a.Session.ID == b.Session.ID {
		t.Errorf("two logins gave the same session id %q", a.Session.ID)
	}
	if a.Session.ID == b.Secret || b.Session.ID == a.Secret {
		t.Errorf("a session id equals the other session's secret")
	}
	e.mustAuth(t, a.Secret)
	e.mustAuth(t, b.Secret)
}

func TestLoginEmailNormalised(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	for _, email := range []string{"alice@example.com", "Alice@Example.COM", "  alice@example.com\t", " ALICE@EXAMPLE.COM \n"} {
		in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: email, Password: alicePassword, Client: client})
		if err != nil {
			t.Errorf("Login(%q): %v; want success", email, err)
			continue
		}
		if got, want := in.User.ID, u.ID; got != want {
			t.Errorf("Login(%q).User.ID = %q; want %q", email, got, want)
		}
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, defaultConfig)
	alice := e.createUser(t, "alice@example.com", alicePassword)
	bob := e.createUser(t, "bob@example.com", bobPassword)
	if err := e.svc.DisableUser(e.ctx, bob.ID, "", auth.Client{}); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	long := alicePassword + strings.Repeat("x", 2000-len(alicePassword))

	tests := []struct {
		name       string
		email      string
		password   string
		wantUserID string
		wantReason string
	}{
		{"wrong password", "alice@example.com", "not-" + alicePassword, alice.ID, "bad_password"},
		{"unknown email", "nobody@example.com", alicePassword, "", "unknown_user"},
		{"disabled user, right password", "bob@example.com", bobPassword, bob.ID, "disabled"},
		{"disabled user, wrong password", "bob@example.com", alicePassword, bob.ID, "bad_password"},
		{"empty password", "alice@example.com", "", alice.ID, "bad_password"},
		{"2000-byte password", "alice@example.com", long, alice.ID, "bad_password"},
		{"empty email", "", alicePassword, "", "unknown_user"},
	}
	var firstErr error
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auth.Client{IP: "198.51.100." + string(rune('1'+i)), UserAgent: "agent-" + tt.name}
			before := len(e.events(t, lacop.AuditLoginFailed))

			in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: tt.email, Password: tt.password, Client: c})

			if in != nil {
				t.Errorf("Login returned %+v; want nil", in)
			}
			wantCode(t, "Login", err, lacop.EINVALIDCREDENTIALS)
			if firstErr == nil {
				firstErr = err
			}
			if got, want := lacop.ErrorMessage(err), lacop.ErrorMessage(firstErr); got != want {
				t.Errorf("message %q; want the same as every other failure, %q", got, want)
			}
			if got, want := err.Error(), firstErr.Error(); got != want {
				t.Errorf("Error() %q; want %q", got, want)
			}

			failed := e.events(t, lacop.AuditLoginFailed)
			if got, want := len(failed), before+1; got != want {
				t.Fatalf("%d login.failed events; want %d", got, want)
			}
			ev := failed[0]
			for _, c := range []struct{ field, got, want string }{
				{"IP", ev.IP, c.IP},
				{"UserAgent", ev.UserAgent, c.UserAgent},
				{"UserID", ev.UserID, tt.wantUserID},
				{"SessionID", ev.SessionID, ""},
				{"Detail[reason]", ev.Detail["reason"], tt.wantReason},
			} {
				if c.got != c.want {
					t.Errorf("login.failed %s = %q; want %q", c.field, c.got, c.want)
				}
			}
		})
	}

	// No failure started a session.
	for _, u := range []*lacop.User{alice, bob} {
		list, err := e.sessions.UserSessions(e.ctx, u.ID)
		if err != nil {
			t.Fatalf("UserSessions: %v", err)
		}
		if len(list) != 0 {
			t.Errorf("user %s has %d sessions after failed logins; want 0", u.Email, len(list))
		}
	}
	if n := len(e.events(t, lacop.AuditLoginSucceeded)); n != 0 {
		t.Errorf("%d login.succeeded events; want 0", n)
	}
	e.noSecretsLeak(t, alicePassword, bobPassword, "not-"+alicePassword, long, long[len(long)-40:])
}

func TestLoginAuditSucceeded(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, true)

	ev := e.oneSessionEvent(t, lacop.AuditLoginSucceeded, in.Session.ID)
	for _, c := range []struct{ field, got, want string }{
		{"UserID", ev.UserID, u.ID},
		{"ActorID", ev.ActorID, u.ID},
		{"SessionID", ev.SessionID, in.Session.ID},
		{"IP", ev.IP, client.IP},
		{"UserAgent", ev.UserAgent, client.UserAgent},
		{"Detail[rememberMe]", ev.Detail["rememberMe"], "true"},
	} {
		if c.got != c.want {
			t.Errorf("login.succeeded %s = %q; want %q", c.field, c.got, c.want)
		}
	}
	if got, want := ev.Time, t0; !got.Equal(want) {
		t.Errorf("login.succeeded Time = %v; want %v", got, want)
	}

	// A failure next to it, then nothing may carry the password or secret.
	if _, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword + "!", Client: client}); err == nil {
		t.Fatalf("Login with wrong password succeeded")
	}
	e.noSecretsLeak(t, alicePassword, in.Secret, base64.RawURLEncoding.EncodeToString(auth.HashSecret(in.Secret)))
}

func TestLoginLongUserAgentBounded(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	ua := strings.Repeat("u", 5000)
	in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword,
		Client: auth.Client{IP: client.IP, UserAgent: ua}})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	stored, err := e.sessions.SessionByID(e.ctx, in.Session.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if got, max := len(stored.UserAgent), 512; got > max {
		t.Errorf("stored UserAgent is %d bytes; want at most %d", got, max)
	}
}

// TestLoginDefaultParams runs the real argon2id cost end to end, once, to
// show that the defaults the server ships with work with the service.
func TestLoginDefaultParams(t *testing.T) {
	e := newEnvParams(t, defaultConfig, password.DefaultParams())
	u := e.createUser(t, "alice@example.com", alicePassword)
	if !strings.HasPrefix(e.user(t, u.ID).PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("PasswordHash = %q; want the default argon2id parameters", e.user(t, u.ID).PasswordHash)
	}
	in := e.login(t, "alice@example.com", alicePassword, false)
	e.mustAuth(t, in.Secret)
}

// TestLoginBusy: when every password slot is taken and the queue is full,
// a sign-in is refused at once as unavailable (503, try again), the same
// for an account that exists and one that does not, and nothing is
// counted against either.
func TestLoginBusy(t *testing.T) {
	e := newEnv(t, auth.Config{})
	e.createUser(t, "busy@example.com", "correct horse battery")
	// One slot, one place in the queue, and a check that takes seconds.
	slow := password.Params{Time: 30, Memory: 32 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}
	e.svc.Passwords = password.NewHasher(slow, 1).LimitQueue(1)
	done := make(chan struct{}, 2)
	for range 2 { // one in the slot, one queued
		go func() {
			_, _ = e.svc.Passwords.Hash(context.Background(), "x")
			done <- struct{}{}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	for _, email := range []string{"busy@example.com", "nobody@example.com"} {
		start := time.Now()
		_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: email, Password: "wrong password!", Client: client})
		if lacop.ErrorCode(err) != lacop.EUNAVAILABLE {
			t.Errorf("Login(%s) with the queue full = %v; want %s", email, err, lacop.EUNAVAILABLE)
		}
		if took := time.Since(start); took > 150*time.Millisecond {
			t.Errorf("Login(%s) with the queue full took %v; want an answer at once", email, took)
		}
	}
	<-done
	<-done
	e.svc.Passwords = password.NewHasher(fastParams, 2)
	// Nothing was counted: the right password still signs in at once.
	e.login(t, "busy@example.com", "correct horse battery", false)
}
