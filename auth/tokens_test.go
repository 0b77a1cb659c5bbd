package auth_test

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// issue gives a signed-in session tokens and fails the test otherwise.
func (e *env) issue(t testing.TB, in *auth.SignIn) *auth.TokenPair {
	t.Helper()
	pair, err := e.svc.IssueTokens(e.ctx, &auth.Identity{User: in.User, Session: in.Session}, client)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	return pair
}

// bearerOK reports whether an access token is accepted now.
func (e *env) bearerOK(t testing.TB, token string) bool {
	t.Helper()
	_, err := e.svc.AuthenticateBearer(e.ctx, token, client)
	if err != nil && lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED {
		t.Fatalf("AuthenticateBearer: %v; want success or EUNAUTHENTICATED", err)
	}
	return err == nil
}

// refreshCode refreshes and returns the error code ("" on success).
func (e *env) refreshCode(secret string) (*auth.TokenPair, string) {
	pair, err := e.svc.Refresh(e.ctx, secret, client)
	return pair, lacop.ErrorCode(err)
}

// TestTokensEndWithEveryPolicyRow: for each way a session ends, its access
// token is refused on the next check and its refresh token is invalid_grant.
func TestTokensEndWithEveryPolicyRow(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *env, in, other *auth.SignIn) error
		// otherSurvives: the second session's tokens still work afterwards.
		otherSurvives bool
	}{
		{"logout", func(e *env, in, _ *auth.SignIn) error { return e.svc.Logout(e.ctx, in.Secret, client) }, true},
		{"ended from another session", func(e *env, in, other *auth.SignIn) error {
			_, err := e.svc.EndMySession(e.ctx, &auth.Identity{User: other.User, Session: other.Session}, in.Session.ID, client)
			return err
		}, true},
		{"sign out everywhere else (from the other session)", func(e *env, in, other *auth.SignIn) error {
			_, err := e.svc.SignOutEverywhere(e.ctx, &auth.Identity{User: other.User, Session: other.Session}, true, client)
			return err
		}, false}, // the version bump ends the caller's earlier tokens too
		{"password change (from the other session)", func(e *env, in, other *auth.SignIn) error {
			_, err := e.svc.ChangePassword(e.ctx, &auth.Identity{User: other.User, Session: other.Session}, alicePassword, "a-brand-new-passphrase-77", client)
			return err
		}, false},
		{"admin revoke all", func(e *env, in, _ *auth.SignIn) error {
			_, err := e.svc.RevokeAll(e.ctx, in.User.ID, "", client)
			return err
		}, false},
		{"disable", func(e *env, in, _ *auth.SignIn) error { return e.svc.DisableUser(e.ctx, in.User.ID, "", client) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, defaultConfig)
			e.createUser(t, "alice@example.com", alicePassword)
			in := e.login(t, "alice@example.com", alicePassword, false)
			other := e.login(t, "alice@example.com", alicePassword, false)
			pair, otherPair := e.issue(t, in), e.issue(t, other)
			if !e.bearerOK(t, pair.Access) || !e.bearerOK(t, otherPair.Access) {
				t.Fatal("fresh access tokens refused")
			}
			if err := tt.end(e, in, other); err != nil {
				t.Fatalf("end: %v", err)
			}
			if e.bearerOK(t, pair.Access) {
				t.Error("the ended session's access token is still accepted")
			}
			if _, code := e.refreshCode(pair.Refresh); code != lacop.EINVALIDGRANT {
				t.Errorf("refresh of the ended session: %q; want %q", code, lacop.EINVALIDGRANT)
			}
			if got := e.bearerOK(t, otherPair.Access); got != tt.otherSurvives {
				t.Errorf("the other session's access token accepted = %v; want %v", got, tt.otherSurvives)
			}
			if _, code := e.refreshCode(otherPair.Refresh); (code == "") != tt.otherSurvives {
				t.Errorf("the other session's refresh: %q; want success = %v", code, tt.otherSurvives)
			}
		})
	}
}

// TestRefreshRotationAndReuse: each refresh spends its token; a spent one
// presented again ends the family and the session.
func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	first := e.issue(t, in)
	second, code := e.refreshCode(first.Refresh)
	if code != "" {
		t.Fatalf("refresh: %q", code)
	}
	if second.Refresh == first.Refresh || second.Access == first.Access {
		t.Fatal("refresh returned the same tokens")
	}
	e.clock.Advance(time.Second)
	third, code := e.refreshCode(second.Refresh)
	if code != "" {
		t.Fatalf("second refresh: %q", code)
	}
	// Reuse of the first token: the whole family and the session end.
	if _, code := e.refreshCode(first.Refresh); code != lacop.EINVALIDGRANT {
		t.Fatalf("reuse: %q; want %q", code, lacop.EINVALIDGRANT)
	}
	if _, code := e.refreshCode(third.Refresh); code != lacop.EINVALIDGRANT {
		t.Errorf("latest token after reuse: %q; want %q", code, lacop.EINVALIDGRANT)
	}
	for i, p := range []*auth.TokenPair{first, second, third} {
		if e.bearerOK(t, p.Access) {
			t.Errorf("access token %d accepted after reuse", i+1)
		}
	}
	e.mustBeDead(t, in.Secret)
	if n := len(e.events(t, lacop.AuditTokenReuseDetected)); n != 1 {
		t.Errorf("%d token.reuse_detected events; want 1", n)
	}
}

// TestRefreshGrace: within the grace an exact retry of the just-spent token
// gets the identical pair; an older token is still reuse.
func TestRefreshGrace(t *testing.T) {
	cfg := defaultConfig
	cfg.Tokens.ReuseGrace = 10 * time.Second
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	first := e.issue(t, in)
	second, code := e.refreshCode(first.Refresh)
	if code != "" {
		t.Fatalf("refresh: %q", code)
	}
	e.clock.Advance(3 * time.Second)
	again, code := e.refreshCode(first.Refresh)
	if code != "" || again.Access != second.Access || again.Refresh != second.Refresh {
		t.Fatalf("retry within the grace: %q, same access %v, same refresh %v; want the identical pair",
			code, again != nil && again.Access == second.Access, again != nil && again.Refresh == second.Refresh)
	}
	third, code := e.refreshCode(second.Refresh)
	if code != "" {
		t.Fatalf("refresh after a retry: %q", code)
	}
	// first is now two rotations back: reuse, even within the grace.
	if _, code := e.refreshCode(first.Refresh); code != lacop.EINVALIDGRANT {
		t.Fatalf("older token within the grace: %q; want %q", code, lacop.EINVALIDGRANT)
	}
	if _, code := e.refreshCode(third.Refresh); code != lacop.EINVALIDGRANT {
		t.Errorf("family after reuse: %q; want ended", code)
	}
	e.mustBeDead(t, in.Secret)
}

// TestRefreshNeverOutlivesSession: the family ends with its session's
// absolute end, and access tokens never outlive it either.
func TestRefreshNeverOutlivesSession(t *testing.T) {
	cfg := defaultConfig
	cfg.InactivityTimeout = 10 * time.Hour
	cfg.Lifetime = time.Hour
	cfg.Tokens.AccessTTL = 2 * time.Hour
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	pair := e.issue(t, in)
	if pair.ExpiresIn > time.Hour {
		t.Errorf("access token lives %v; want at most the session's hour", pair.ExpiresIn)
	}
	e.clock.Advance(time.Hour + time.Second)
	if e.bearerOK(t, pair.Access) {
		t.Error("access token accepted past its session's end")
	}
	if _, code := e.refreshCode(pair.Refresh); code != lacop.EINVALIDGRANT {
		t.Errorf("refresh past the session's end: %q; want %q", code, lacop.EINVALIDGRANT)
	}
}

// TestBearerNeedsItsSession: an access token is refused once its session is
// gone, even when no denylist entry says so (a Redis that restarted without
// persistence has lost both its sessions and its denylist).
func TestBearerNeedsItsSession(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	pair := e.issue(t, in)
	if !e.bearerOK(t, pair.Access) {
		t.Fatal("fresh access token refused")
	}
	if _, err := e.sessions.DeleteSession(e.ctx, in.Session.ID); err != nil {
		t.Fatal(err)
	}
	if e.bearerOK(t, pair.Access) {
		t.Error("access token accepted after its session vanished from the store")
	}
}

// TestTokensRaceWithSignOut: refreshes in flight while the session is
// ended never leave a working token behind: every token any refresh
// returned is dead once the sign-out has returned and the refreshes are
// done.
func TestTokensRaceWithSignOut(t *testing.T) {
	for round := range 20 {
		e := newEnv(t, defaultConfig)
		e.createUser(t, "alice@example.com", alicePassword)
		in := e.login(t, "alice@example.com", alicePassword, false)
		pair := e.issue(t, in)
		var mu sync.Mutex
		got := []*auth.TokenPair{pair}
		var wg sync.WaitGroup
		wg.Go(func() {
			cur := pair.Refresh
			for range 10 {
				next, err := e.svc.Refresh(e.ctx, cur, client)
				if err != nil {
					return
				}
				mu.Lock()
				got = append(got, next)
				mu.Unlock()
				cur = next.Refresh
			}
		})
		wg.Go(func() {
			id := &auth.Identity{User: in.User, Session: in.Session}
			if round%2 == 0 {
				if err := e.svc.Logout(e.ctx, in.Secret, client); err != nil {
					t.Errorf("Logout: %v", err)
				}
			} else if _, err := e.svc.SignOutEverywhere(e.ctx, id, false, client); err != nil {
				t.Errorf("SignOutEverywhere: %v", err)
			}
		})
		wg.Wait()
		for i, p := range got {
			if e.bearerOK(t, p.Access) {
				t.Errorf("round %d: access token %d of %d accepted after sign-out", round, i+1, len(got))
			}
			if _, code := e.refreshCode(p.Refresh); code == "" {
				t.Errorf("round %d: refresh token %d of %d still works after sign-out", round, i+1, len(got))
			}
		}
	}
}

// TestKeyRotation: after a rotation new tokens use the new key, tokens of
// the old key keep verifying until they have expired, and then the old key
// is dropped.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, true)
	old := e.issue(t, in)
	kid, err := e.svc.RotateKey(e.ctx)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	fresh := e.issue(t, in)
	if !e.bearerOK(t, old.Access) || !e.bearerOK(t, fresh.Access) {
		t.Fatal("tokens refused right after a rotation")
	}
	if !containsKid(fresh.Access, kid) || containsKid(old.Access, kid) {
		t.Errorf("new key %s: fresh token uses it = %v, old token uses it = %v; want true, false",
			kid, containsKid(fresh.Access, kid), containsKid(old.Access, kid))
	}
	e.clock.Advance(defaultConfig.Tokens.AccessTTL + 2*time.Minute)
	if err := e.svc.LoadKeys(e.ctx); err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	keys, err := e.svc.Keys.SigningKeys(e.ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != kid {
		t.Errorf("keys after the old key's tokens expired = %d, %v; want only %s", len(keys), err, kid)
	}
	newer := e.issue(t, in)
	if !e.bearerOK(t, newer.Access) {
		t.Error("token of the current key refused")
	}
}

// containsKid reports whether a JWT's header names kid.
func containsKid(token, kid string) bool {
	header, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	return err == nil && strings.Contains(string(raw), `"kid":"`+kid+`"`)
}
