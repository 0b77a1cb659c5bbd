package auth_test

import (
	"strings"
	"testing"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

func TestLogout(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	e.mustAuth(t, in.Secret)

	c := auth.Client{IP: "192.0.2.44", UserAgent: "logout-agent"}
	if err := e.svc.Logout(e.ctx, in.Secret, c); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	e.mustBeDead(t, in.Secret)
	e.sessionGone(t, in.Session.ID)

	ev := e.oneSessionEvent(t, lacop.AuditLogout, in.Session.ID)
	for _, f := range []struct{ field, got, want string }{
		{"UserID", ev.UserID, u.ID},
		{"ActorID", ev.ActorID, u.ID},
		{"IP", ev.IP, c.IP},
		{"UserAgent", ev.UserAgent, c.UserAgent},
		{"Detail[reason]", ev.Detail["reason"], string(auth.ReasonLogout)},
	} {
		if f.got != f.want {
			t.Errorf("logout %s = %q; want %q", f.field, f.got, f.want)
		}
	}

	// Logging out again succeeds and records nothing more.
	if err := e.svc.Logout(e.ctx, in.Secret, c); err != nil {
		t.Errorf("second Logout: %v; want nil", err)
	}
	if n := len(e.sessionEvents(t, lacop.AuditLogout, in.Session.ID)); n != 1 {
		t.Errorf("%d logout events after logging out twice; want 1", n)
	}
	e.noSecretsLeak(t, alicePassword, in.Secret)
}

func TestLogoutWithoutLiveSession(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	before := len(e.events(t, ""))

	for _, tt := range []struct{ name, secret string }{
		{"empty", ""},
		{"malformed", "not a secret"},
		{"wrong length", in.Secret[:40]},
		{"bad characters", "+" + in.Secret[1:]},
		{"public id", in.Session.ID},
		{"unknown", strings.Repeat("Z", 43)},
	} {
		if err := e.svc.Logout(e.ctx, tt.secret, client); err != nil {
			t.Errorf("Logout(%s) = %v; want nil", tt.name, err)
		}
	}
	if got, want := len(e.events(t, "")), before; got != want {
		t.Errorf("%d audit events after no-op logouts; want %d", got, want)
	}
	e.mustAuth(t, in.Secret)
}

func TestLogoutLeavesOtherSessions(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	laptop := e.login(t, "alice@example.com", alicePassword, false)
	phone := e.login(t, "alice@example.com", alicePassword, true)

	if err := e.svc.Logout(e.ctx, laptop.Secret, client); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	e.mustBeDead(t, laptop.Secret)
	e.mustAuth(t, phone.Secret)

	list, err := e.sessions.UserSessions(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(list) != 1 || list[0].ID != phone.Session.ID {
		t.Errorf("UserSessions = %d sessions; want only %q", len(list), phone.Session.ID)
	}
	if n := len(e.events(t, lacop.AuditLogout)); n != 1 {
		t.Errorf("%d logout events; want 1", n)
	}
	if got, want := e.user(t, u.ID).TokenVersion, u.TokenVersion; got != want {
		t.Errorf("TokenVersion after a single logout = %d; want unchanged %d", got, want)
	}
}
