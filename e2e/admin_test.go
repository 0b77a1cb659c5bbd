package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// adminList GETs an admin list and returns its items under key.
func (p *portal) adminList(secret, path, key string) []map[string]any {
	p.t.Helper()
	res := p.do(request{method: "GET", path: path, cookie: secret})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s = %d %s; want 200", path, res.StatusCode, res.Body)
	}
	raw, _ := res.json(p.t)[key].([]any)
	items := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, _ := it.(map[string]any)
		items = append(items, m)
	}
	return items
}

// TestAdminAPIForbidden: every admin endpoint refuses a signed-in
// non-admin with 403 forbidden and an anonymous caller with 401.
func TestAdminAPIForbidden(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("user@example.com")
	secret := p.login("user@example.com")
	uid := p.userID(secret)
	for _, rq := range []request{
		{method: "GET", path: "/api/admin/users"},
		{method: "POST", path: "/api/admin/users", body: map[string]any{"email": "x@example.com", "password": testPassword}},
		{method: "POST", path: "/api/admin/users/" + uid + "/disable"},
		{method: "POST", path: "/api/admin/users/" + uid + "/revoke-sessions"},
		{method: "DELETE", path: "/api/admin/users/" + uid + "/totp"},
		{method: "GET", path: "/api/admin/sessions"},
		{method: "DELETE", path: "/api/admin/sessions/" + p.sessionID(secret)},
		{method: "GET", path: "/api/admin/audit"},
		{method: "GET", path: "/api/admin/users/" + uid},
		{method: "PATCH", path: "/api/admin/users/" + uid, body: map[string]any{"admin": true}},
		{method: "DELETE", path: "/api/admin/users/" + uid},
		{method: "POST", path: "/api/admin/users/" + uid + "/enable"},
		{method: "GET", path: "/api/admin/bans"},
		{method: "POST", path: "/api/admin/bans/lift", body: map[string]any{"target": "127.0.0.1"}},
	} {
		anon := rq
		wantError(t, "anonymous "+rq.method+" "+rq.path, p.do(anon), http.StatusUnauthorized, "unauthenticated")
		rq.cookie = secret
		wantError(t, "non-admin "+rq.method+" "+rq.path, p.do(rq), http.StatusForbidden, "forbidden")
	}
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("the non-admin after trying every admin endpoint: /api/me = %d; want 200 (nothing done)", got)
	}
	if n := len(p.sessionLines()); n != 1 {
		t.Errorf("%d sessions; want the non-admin's 1", n)
	}
}

// TestAdminAPI: an admin creates a user, sees every user and session,
// ends one session, ends all of a user's sessions, disables a user, and
// reads the audit log filtered by user and type; each action takes effect
// on the affected user's very next request.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("admin@example.com", "--admin")
	admin := p.login("admin@example.com")
	adminID := p.userID(admin)

	// Create.
	res := p.do(request{method: "POST", path: "/api/admin/users", cookie: admin, body: map[string]any{
		"email": "new@example.com", "name": "New Person", "password": testPassword, "groups": []string{"dev"}}})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create user = %d %s; want 201", res.StatusCode, res.Body)
	}
	created, _ := res.json(t)["user"].(map[string]any)
	newID, _ := created["id"].(string)
	if newID == "" || created["email"] != "new@example.com" || created["admin"] != false || created["disabled"] != false {
		t.Errorf("created user = %v", created)
	}
	wantError(t, "the same email again", p.do(request{method: "POST", path: "/api/admin/users", cookie: admin,
		body: map[string]any{"email": "NEW@example.com", "password": testPassword}}), http.StatusConflict, "conflict")
	wantError(t, "a weak password", p.do(request{method: "POST", path: "/api/admin/users", cookie: admin,
		body: map[string]any{"email": "weak@example.com", "password": "short"}}), http.StatusUnprocessableEntity, "weak_password")
	wantError(t, "malformed JSON", p.do(request{method: "POST", path: "/api/admin/users", cookie: admin,
		body: "{"}), http.StatusBadRequest, "invalid_request")

	users := p.adminList(admin, "/api/admin/users", "users")
	var emails []string
	for _, u := range users {
		emails = append(emails, u["email"].(string))
		if _, ok := u["passwordHash"]; ok {
			t.Errorf("user list exposes a password hash: %v", u)
		}
	}
	if !slices.Contains(emails, "admin@example.com") || !slices.Contains(emails, "new@example.com") || len(users) != 2 {
		t.Errorf("users = %v; want admin and new", emails)
	}

	// The new user signs in twice; the admin sees both sessions.
	a, b := p.login("new@example.com"), p.login("new@example.com")
	sessions := p.adminList(admin, "/api/admin/sessions?user="+newID, "sessions")
	if len(sessions) != 2 || sessions[0]["userEmail"] != "new@example.com" {
		t.Fatalf("sessions of the new user = %v; want 2 with their email", sessions)
	}
	if all := p.adminList(admin, "/api/admin/sessions", "sessions"); len(all) != 3 {
		t.Errorf("all sessions = %d; want 3 (admin's and the new user's two)", len(all))
	}

	// End one session: that one dies, the other lives.
	if res := p.do(request{method: "DELETE", path: "/api/admin/sessions/" + p.sessionID(a), cookie: admin}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("end a session = %d %s; want 204", res.StatusCode, res.Body)
	}
	if p.meStatus(a) != http.StatusUnauthorized || p.meStatus(b) != http.StatusOK {
		t.Errorf("after ending A: A = %d, B = %d; want 401, 200", p.meStatus(a), p.meStatus(b))
	}
	wantError(t, "ending an unknown session", p.do(request{method: "DELETE", path: "/api/admin/sessions/nope", cookie: admin}),
		http.StatusNotFound, "not_found")

	// End all of the user's sessions.
	c := p.login("new@example.com")
	res = p.do(request{method: "POST", path: "/api/admin/users/" + newID + "/revoke-sessions", cookie: admin})
	if res.StatusCode != http.StatusOK || res.json(t)["revoked"] != float64(2) {
		t.Fatalf("revoke-sessions = %d %s; want 200 revoked 2", res.StatusCode, res.Body)
	}
	if p.meStatus(b) != http.StatusUnauthorized || p.meStatus(c) != http.StatusUnauthorized {
		t.Error("a session survived revoke-sessions")
	}
	if p.meStatus(admin) != http.StatusOK {
		t.Error("the admin's own session ended with another user's")
	}
	wantError(t, "revoke-sessions of an unknown user", p.do(request{method: "POST", path: "/api/admin/users/nope/revoke-sessions", cookie: admin}),
		http.StatusNotFound, "not_found")

	// Disable: the session dies and signing in fails.
	d := p.login("new@example.com")
	if res := p.do(request{method: "POST", path: "/api/admin/users/" + newID + "/disable", cookie: admin}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("disable = %d %s; want 204", res.StatusCode, res.Body)
	}
	if p.meStatus(d) != http.StatusUnauthorized {
		t.Error("the disabled user's session still works")
	}
	wantError(t, "sign-in of a disabled user", p.loginAs("new@example.com", testPassword, nil, false), http.StatusUnauthorized, "invalid_credentials")
	for _, u := range p.adminList(admin, "/api/admin/users", "users") {
		if u["id"] == newID && u["disabled"] != true {
			t.Errorf("user list after disable: %v; want disabled", u)
		}
	}

	// The audit log, filtered.
	events := p.adminList(admin, "/api/admin/audit?user="+newID+"&type=session.revoked", "events")
	if len(events) != 4 { // A by itself, B and C together, D by the disable
		t.Errorf("%d session.revoked events of the new user; want 4", len(events))
	}
	for _, e := range events {
		if e["type"] != "session.revoked" || e["userId"] != newID || e["actorId"] != adminID {
			t.Errorf("event %v; want session.revoked of %s by %s", e, newID, adminID)
		}
	}
	if got := p.adminList(admin, "/api/admin/audit?type=user.created&limit=1", "events"); len(got) != 1 {
		t.Errorf("limit=1: %d events", len(got))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := p.adminList(admin, "/api/admin/audit?since="+future, "events"); len(got) != 0 {
		t.Errorf("since an hour ahead: %d events; want 0", len(got))
	}
	for _, q := range []string{"limit=abc", "limit=0", "since=yesterday"} {
		wantError(t, "audit ?"+q, p.do(request{method: "GET", path: "/api/admin/audit?" + q, cookie: admin}), http.StatusBadRequest, "invalid_request")
	}
}

// TestAdminEndsOwnSession: an admin ending their own session from the admin
// API is signed out like any sign-out: the cookie is deleted.
func TestAdminEndsOwnSession(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("admin@example.com", "--admin")
	admin := p.login("admin@example.com")
	res := p.do(request{method: "DELETE", path: "/api/admin/sessions/" + p.sessionID(admin), cookie: admin})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("end own session = %d %s; want 204", res.StatusCode, res.Body)
	}
	if c := sessionCookie(res.Response); c == nil || c.MaxAge >= 0 {
		t.Errorf("end own session: Set-Cookie %v; want the cookie deleted", res.Header["Set-Cookie"])
	}
	if p.meStatus(admin) != http.StatusUnauthorized {
		t.Error("the admin's ended session still works")
	}
}
