package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

func TestSweep(t *testing.T) {
	cfg := auth.Config{InactivityTimeout: 30 * time.Minute, Lifetime: time.Hour, RememberMeLifetime: 720 * time.Hour}
	e := newEnv(t, cfg)
	u := e.createUser(t, "alice@example.com", alicePassword)

	idle := e.login(t, "alice@example.com", alicePassword, false)
	busy := e.login(t, "alice@example.com", alicePassword, false)
	remember := e.login(t, "alice@example.com", alicePassword, true)
	e.clock.Advance(25 * time.Minute)
	e.mustAuth(t, busy.Secret)
	e.clock.Advance(25 * time.Minute)
	e.mustAuth(t, busy.Secret)
	fresh := e.login(t, "alice@example.com", alicePassword, false)
	e.clock.Advance(15 * time.Minute)
	// Now t0+65m: idle has been idle 65m; busy was active 15m ago but is
	// past its 1h lifetime; remember has been idle 65m but is remember-me;
	// fresh is 15m old.

	n, err := e.svc.Sweep(e.ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got, want := n, 2; got != want {
		t.Errorf("Sweep = %d; want %d", got, want)
	}
	for _, in := range []*auth.SignIn{idle, busy} {
		e.sessionGone(t, in.Session.ID)
		ev := e.oneSessionEvent(t, lacop.AuditSessionExpired, in.Session.ID)
		if got, want := ev.UserID, u.ID; got != want {
			t.Errorf("session.expired UserID = %q; want %q", got, want)
		}
		if got, want := ev.Detail["reason"], string(auth.ReasonExpired); got != want {
			t.Errorf("session.expired reason = %q; want %q", got, want)
		}
		e.mustBeDead(t, in.Secret)
	}
	if got, want := len(e.events(t, lacop.AuditSessionExpired)), 2; got != want {
		t.Errorf("%d session.expired events; want %d", got, want)
	}
	list, err := e.sessions.UserSessions(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{remember.Session.ID, fresh.Session.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("sessions left = %v; want %v", ids, want)
	}
	e.mustAuth(t, remember.Secret)
	e.mustAuth(t, fresh.Secret)

	// Nothing more to do.
	if n, err := e.svc.Sweep(e.ctx); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
	}

	// At the end of its lifetime the remember-me session goes too.
	e.clock.Advance(cfg.RememberMeLifetime)
	if n, err := e.svc.Sweep(e.ctx); err != nil || n != 2 {
		t.Errorf("last Sweep = %d, %v; want 2, nil", n, err)
	}
	e.sessionGone(t, remember.Session.ID)
	e.oneSessionEvent(t, lacop.AuditSessionExpired, remember.Session.ID)
}

func TestSweepEmpty(t *testing.T) {
	e := newEnv(t, defaultConfig)
	if n, err := e.svc.Sweep(e.ctx); err != nil || n != 0 {
		t.Errorf("Sweep on an empty store = %d, %v; want 0, nil", n, err)
	}
}
