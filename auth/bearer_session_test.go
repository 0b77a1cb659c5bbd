package auth_test

import (
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/sqlite"
)

// bearerCode is AuthenticateBearer's error code for token ("" on success).
func (e *env) bearerCode(token string) string {
	_, err := e.svc.AuthenticateBearer(e.ctx, token, client)
	return lacop.ErrorCode(err)
}

// TestBearerSessionDeadline: an access token is refused from the very
// instant its session's inactivity deadline passes, as the cookie is, even
// though the token itself has not expired; the check ends the session as
// Authenticate would (session.expired, with the caller's address). Using a
// token is not activity, so checks just before the deadline do not move it.
// A remember-me session has no inactivity deadline.
func TestBearerSessionDeadline(t *testing.T) {
	cfg := defaultConfig
	cfg.InactivityTimeout = 30 * time.Minute
	cfg.Tokens.AccessTTL = 2 * time.Hour // outlives the inactivity timeout
	for _, tt := range []struct {
		name       string
		rememberMe bool
		alive      bool // the token still works a moment past the inactivity timeout
	}{
		{"session", false, false},
		{"remember-me session", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, cfg)
			e.createUser(t, "alice@example.com", alicePassword)
			in := e.login(t, "alice@example.com", alicePassword, tt.rememberMe)
			pair := e.issue(t, in)
			for range 3 {
				e.clock.Advance(cfg.InactivityTimeout/3 - time.Millisecond)
				if code := e.bearerCode(pair.Access); code != "" {
					t.Fatalf("AuthenticateBearer before the deadline: %q; want success", code)
				}
			}
			e.clock.Advance(3 * time.Millisecond)
			code := e.bearerCode(pair.Access)
			if !tt.alive {
				if code != lacop.EUNAUTHENTICATED {
					t.Fatalf("AuthenticateBearer at the inactivity deadline: %q; want %q", code, lacop.EUNAUTHENTICATED)
				}
				e.sessionGone(t, in.Session.ID)
				if ev := e.oneSessionEvent(t, lacop.AuditSessionExpired, in.Session.ID); ev.IP != client.IP {
					t.Errorf("session.expired IP = %q; want the bearer caller's %q", ev.IP, client.IP)
				}
				if _, code := e.refreshCode(pair.Refresh); code != lacop.EINVALIDGRANT {
					t.Errorf("Refresh after the deadline: %q; want %q", code, lacop.EINVALIDGRANT)
				}
				return
			}
			if code != "" {
				t.Fatalf("AuthenticateBearer of a remember-me session past the inactivity timeout: %q; want success", code)
			}
		})
	}
}

// enableTOTP gives the user a second factor, as a confirmed enrolment does.
func enableTOTP(t *testing.T, e *env, u *lacop.User) {
	t.Helper()
	if err := sqlite.NewSecondFactorStore(e.db).EnableTOTP(e.ctx, u.ID, []byte("sealed"), 0, nil); err != nil {
		t.Fatal(err)
	}
}

// TestTokensOweStep: once a session owes a step (its user turned TOTP on,
// or the policy now requires enrolment), its access token is refused and
// its refresh token mints nothing; the family is kept, and when the
// session reaches level 2 the same refresh token works again.
func TestTokensOweStep(t *testing.T) {
	for _, tt := range []struct {
		name string
		owe  func(t *testing.T, e *env, u *lacop.User)
		// enrol: the step is enrolment, which also turns TOTP on
		enrol bool
	}{
		{"totp turned on", enableTOTP, false},
		{"second factor now required", func(_ *testing.T, e *env, _ *lacop.User) { e.svc.Config.RequireSecondFactor = true }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultConfig)
			u := e.createUser(t, "alice@example.com", alicePassword)
			in := e.login(t, "alice@example.com", alicePassword, false)
			pair := e.issue(t, in)
			tt.owe(t, e, u)
			if code := e.bearerCode(pair.Access); code != lacop.EUNAUTHENTICATED {
				t.Errorf("AuthenticateBearer of a session that owes a step: %q; want %q", code, lacop.EUNAUTHENTICATED)
			}
			if p, code := e.refreshCode(pair.Refresh); code != lacop.EINVALIDGRANT {
				t.Fatalf("Refresh of a session that owes a step: %q (a pair: %t); want %q", code, p != nil, lacop.EINVALIDGRANT)
			}
			if len(e.sessionEvents(t, lacop.AuditTokenRefreshed, in.Session.ID)) != 0 {
				t.Error("a refused refresh recorded token.refreshed")
			}
			if err := e.sessions.RaiseSession(e.ctx, in.Session.ID, lacop.AuthLevelTwoFactor, auth.HashSecret("raised")); err != nil {
				t.Fatal(err)
			}
			if tt.enrol {
				enableTOTP(t, e, u)
			}
			next, code := e.refreshCode(pair.Refresh)
			if code != "" {
				t.Fatalf("Refresh after the step was done: %q; want success (the family is kept)", code)
			}
			if code := e.bearerCode(next.Access); code != "" {
				t.Errorf("AuthenticateBearer of the new token: %q; want success", code)
			}
		})
	}
}
