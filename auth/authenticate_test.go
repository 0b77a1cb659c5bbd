package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

func TestAuthenticateGood(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)

	id := e.mustAuth(t, in.Secret)
	if got, want := id.User.ID, u.ID; got != want {
		t.Errorf("User.ID = %q; want %q", got, want)
	}
	if got, want := id.User.Email, "alice@example.com"; got != want {
		t.Errorf("User.Email = %q; want %q", got, want)
	}
	if got, want := id.Session.ID, in.Session.ID; got != want {
		t.Errorf("Session.ID = %q; want %q", got, want)
	}
}

func TestAuthenticateRejectsMalformed(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	s := in.Secret

	tests := []struct{ name, secret string }{
		{"empty", ""},
		{"short", "abc"},
		{"one short", s[:42]},
		{"one long", s + "A"},
		{"padded", s + "="},
		{"std base64 plus", "+" + s[1:]},
		{"std base64 slash", s[:42] + "/"},
		{"space", " " + s[1:]},
		{"dot", s[:20] + "." + s[21:]},
		{"NUL", s[:42] + "\x00"},
		{"non-ASCII", "é" + s[2:]}, // 43 bytes, not 43 base64url characters
		{"the hash", fmt.Sprintf("%x", auth.HashSecret(s))},
		{"the public id", in.Session.ID},
		{"huge", strings.Repeat("A", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := e.svc.Authenticate(e.ctx, tt.secret, client)
			if id != nil {
				t.Errorf("Authenticate(%.20q) = %+v; want nil", tt.secret, id)
			}
			wantCode(t, "Authenticate", err, lacop.EUNAUTHENTICATED)
			if errors.Is(err, auth.ErrSessionExpired) {
				t.Errorf("Authenticate(%.20q) = ErrSessionExpired; want plain unauthenticated", tt.secret)
			}
		})
	}
	// None of that touched the real session.
	e.mustAuth(t, s)
	if n := len(e.events(t, lacop.AuditSessionExpired)); n != 0 {
		t.Errorf("%d session.expired events; want 0", n)
	}
}

func TestAuthenticateUnknownSecret(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	e.login(t, "alice@example.com", alicePassword, false)
	for _, secret := range []string{strings.Repeat("A", 43), strings.Repeat("_", 43), "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"} {
		id, err := e.svc.Authenticate(e.ctx, secret, client)
		if id != nil {
			t.Errorf("Authenticate(%q) = %+v; want nil", secret, id)
		}
		wantCode(t, fmt.Sprintf("Authenticate(%q)", secret), err, lacop.EUNAUTHENTICATED)
		if errors.Is(err, auth.ErrSessionExpired) {
			t.Errorf("Authenticate(%q) = ErrSessionExpired; want plain unauthenticated", secret)
		}
	}
}

func TestAuthenticateInactivityTimeout(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	justInTime := e.login(t, "alice@example.com", alicePassword, false)
	late := e.login(t, "alice@example.com", alicePassword, false)

	e.clock.Advance(defaultConfig.InactivityTimeout - time.Millisecond)
	e.mustAuth(t, justInTime.Secret)

	e.clock.Advance(time.Millisecond) // exactly the timeout since late was used
	id, err := e.svc.Authenticate(e.ctx, late.Secret, client)
	if id != nil {
		t.Errorf("Authenticate = %+v; want nil", id)
	}
	if !errors.Is(err, auth.ErrSessionExpired) {
		t.Fatalf("Authenticate after %v idle: err %v; want ErrSessionExpired", defaultConfig.InactivityTimeout, err)
	}
	wantCode(t, "Authenticate", err, lacop.EUNAUTHENTICATED)
	e.sessionGone(t, late.Session.ID)

	ev := e.oneSessionEvent(t, lacop.AuditSessionExpired, late.Session.ID)
	for _, c := range []struct{ field, got, want string }{
		{"UserID", ev.UserID, u.ID},
		{"ActorID", ev.ActorID, ""},
		{"IP", ev.IP, client.IP},
		{"Detail[reason]", ev.Detail["reason"], string(auth.ReasonExpired)},
	} {
		if c.got != c.want {
			t.Errorf("session.expired %s = %q; want %q", c.field, c.got, c.want)
		}
	}

	// Gone now: a second try is plain unauthenticated and records nothing.
	_, err = e.svc.Authenticate(e.ctx, late.Secret, client)
	wantCode(t, "second Authenticate", err, lacop.EUNAUTHENTICATED)
	if errors.Is(err, auth.ErrSessionExpired) {
		t.Errorf("second Authenticate = ErrSessionExpired; want plain unauthenticated")
	}
	if n := len(e.sessionEvents(t, lacop.AuditSessionExpired, late.Session.ID)); n != 1 {
		t.Errorf("%d session.expired events; want 1", n)
	}

	// The session used in time is still alive, and still dies when idle.
	e.mustAuth(t, justInTime.Secret)
	e.clock.Advance(defaultConfig.InactivityTimeout)
	if _, err := e.svc.Authenticate(e.ctx, justInTime.Secret, client); !errors.Is(err, auth.ErrSessionExpired) {
		t.Errorf("Authenticate after a second idle period: err %v; want ErrSessionExpired", err)
	}
}

func TestAuthenticateActivityKeepsAlive(t *testing.T) {
	timeout := defaultConfig.InactivityTimeout
	for _, step := range []time.Duration{
		20 * time.Second,           // well inside the touch interval
		59 * time.Second,           // just inside the touch interval
		time.Minute,                // exactly the touch interval
		7 * time.Minute,            // a few per timeout
		timeout - time.Millisecond, // just inside the timeout
	} {
		t.Run(step.String(), func(t *testing.T) {
			e := newEnv(t, defaultConfig)
			e.createUser(t, "alice@example.com", alicePassword)
			in := e.login(t, "alice@example.com", alicePassword, false)
			total := time.Duration(0)
			for total < 2*timeout+step {
				e.clock.Advance(step)
				total += step
				if _, err := e.svc.Authenticate(e.ctx, in.Secret, client); err != nil {
					t.Fatalf("Authenticate after %v in steps of %v: %v; want alive", total, step, err)
				}
			}
			if n := len(e.events(t, lacop.AuditSessionExpired)); n != 0 {
				t.Errorf("%d session.expired events; want 0", n)
			}
		})
	}
}

func TestAuthenticateAbsoluteLifetime(t *testing.T) {
	cfg := defaultConfig
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)

	const step = 10 * time.Minute
	for elapsed := step; ; elapsed += step {
		e.clock.Advance(step)
		id, err := e.svc.Authenticate(e.ctx, in.Secret, client)
		if elapsed < cfg.Lifetime {
			if err != nil {
				t.Fatalf("Authenticate at %v: %v; want alive until %v", elapsed, err, cfg.Lifetime)
			}
			if got, want := id.Session.ExpiresAt, t0.Add(cfg.Lifetime); !got.Equal(want) {
				t.Fatalf("ExpiresAt at %v = %v; want fixed at %v", elapsed, got, want)
			}
			continue
		}
		if !errors.Is(err, auth.ErrSessionExpired) {
			t.Fatalf("Authenticate at %v: err %v; want ErrSessionExpired", elapsed, err)
		}
		break
	}
	e.sessionGone(t, in.Session.ID)
	e.oneSessionEvent(t, lacop.AuditSessionExpired, in.Session.ID)
}

func TestAuthenticateRememberMe(t *testing.T) {
	cfg := defaultConfig
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, true)

	// Days without a request: no inactivity expiry.
	e.clock.Advance(100 * time.Hour)
	e.mustAuth(t, in.Secret)
	e.clock.Advance(cfg.RememberMeLifetime - 100*time.Hour - time.Millisecond)
	e.mustAuth(t, in.Secret)

	e.clock.Advance(time.Millisecond)
	if _, err := e.svc.Authenticate(e.ctx, in.Secret, client); !errors.Is(err, auth.ErrSessionExpired) {
		t.Fatalf("Authenticate at RememberMeLifetime: err %v; want ErrSessionExpired", err)
	}
	e.sessionGone(t, in.Session.ID)
	e.oneSessionEvent(t, lacop.AuditSessionExpired, in.Session.ID)
}

func TestAuthenticateTouchInterval(t *testing.T) {
	for _, tt := range []struct {
		timeout, interval time.Duration
	}{
		{30 * time.Minute, time.Minute},
		{12 * time.Hour, time.Minute},
		{5 * time.Minute, 30 * time.Second},
		{2 * time.Minute, 12 * time.Second},
		{10 * time.Second, time.Second},
	} {
		t.Run(tt.timeout.String(), func(t *testing.T) {
			cfg := defaultConfig
			cfg.InactivityTimeout = tt.timeout
			e := newEnv(t, cfg)
			e.createUser(t, "alice@example.com", alicePassword)
			in := e.login(t, "alice@example.com", alicePassword, false)
			stored := func() time.Time {
				t.Helper()
				s, err := e.sessions.SessionByID(e.ctx, in.Session.ID)
				if err != nil {
					t.Fatalf("SessionByID: %v", err)
				}
				return s.LastActiveAt
			}

			// Two requests inside the interval write nothing.
			e.clock.Advance(tt.interval / 3)
			e.mustAuth(t, in.Secret)
			e.clock.Advance(tt.interval - tt.interval/3 - time.Millisecond)
			id := e.mustAuth(t, in.Secret)
			if got, want := stored(), t0; !got.Equal(want) {
				t.Fatalf("LastActiveAt after two requests within %v = %v; want unchanged %v", tt.interval, got, want)
			}
			if got, want := id.Session.LastActiveAt, t0; !got.Equal(want) {
				t.Errorf("returned LastActiveAt = %v; want %v", got, want)
			}

			// At the interval, the request is written.
			e.clock.Advance(time.Millisecond)
			id = e.mustAuth(t, in.Secret)
			touched := t0.Add(tt.interval)
			if got, want := stored(), touched; !got.Equal(want) {
				t.Fatalf("LastActiveAt after %v = %v; want %v", tt.interval, got, want)
			}
			if got, want := id.Session.LastActiveAt, touched; !got.Equal(want) {
				t.Errorf("returned LastActiveAt = %v; want %v", got, want)
			}

			// And then again not until the next interval has passed.
			e.clock.Advance(tt.interval - time.Millisecond)
			e.mustAuth(t, in.Secret)
			if got, want := stored(), touched; !got.Equal(want) {
				t.Errorf("LastActiveAt just inside the next interval = %v; want %v", got, want)
			}
			e.clock.Advance(time.Millisecond)
			e.mustAuth(t, in.Secret)
			if got, want := stored(), touched.Add(tt.interval); !got.Equal(want) {
				t.Errorf("LastActiveAt after the next interval = %v; want %v", got, want)
			}
		})
	}
}

func TestAuthenticateDisabledUser(t *testing.T) {
	e := newEnv(t, defaultConfig)
	u := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)

	// Disabled behind the service's back, as a racing DisableUser would
	// leave it: the session row survives, but must not let anyone in.
	if err := e.users.SetDisabled(e.ctx, u.ID, true); err != nil {
		t.Fatalf("SetDisabled: %v", err)
	}
	id, err := e.svc.Authenticate(e.ctx, in.Secret, client)
	if id != nil {
		t.Errorf("Authenticate = %+v; want nil", id)
	}
	wantCode(t, "Authenticate", err, lacop.EUNAUTHENTICATED)
	if errors.Is(err, auth.ErrSessionExpired) {
		t.Errorf("Authenticate = ErrSessionExpired; want plain unauthenticated")
	}
}

func TestSessionExpiry(t *testing.T) {
	svc := &auth.Service{Config: defaultConfig}
	for _, tt := range []struct {
		name string
		sess lacop.Session
		want time.Time
	}{
		{"idle first", lacop.Session{LastActiveAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}, t0.Add(30 * time.Minute)},
		{"lifetime first", lacop.Session{LastActiveAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}, t0.Add(10 * time.Minute)},
		{"same", lacop.Session{LastActiveAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}, t0.Add(30 * time.Minute)},
		{"remember-me ignores idle", lacop.Session{RememberMe: true, LastActiveAt: t0, ExpiresAt: t0.Add(720 * time.Hour)}, t0.Add(720 * time.Hour)},
	} {
		if got := svc.SessionExpiry(&tt.sess); !got.Equal(tt.want) {
			t.Errorf("SessionExpiry(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
