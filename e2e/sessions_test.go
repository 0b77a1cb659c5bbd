package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSessionList: GET /api/sessions shows the caller's sessions with every
// field, exactly one marked current, the most recently active first, the
// browser and OS read from the user agent, and never a secret or another
// user's session.
func TestSessionList(t *testing.T) {
	// A 10s inactivity timeout makes activity stamps second-fine (they are
	// written at most every tenth of it), so the order can be checked.
	p := startPortal(t, "session:\n  inactivity_timeout: 10s\n")
	p.addUser("lis@example.com")
	p.addUser("other@example.com")
	const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

	loginUA := func(ua string, remember bool) string {
		res := p.loginAs("lis@example.com", testPassword, map[string]string{"User-Agent": ua}, remember)
		if res.StatusCode != http.StatusOK || sessionCookie(res.Response) == nil {
			t.Fatalf("login = %d %s", res.StatusCode, res.Body)
		}
		return sessionCookie(res.Response).Value
	}
	secrets := map[string]string{
		"A": loginUA(chromeOnWindows, false),
		"B": loginUA(firefoxOnLinux, true),
		"C": loginUA("", false),
		"D": p.login("other@example.com"),
	}
	ids := map[string]string{}
	for name, s := range secrets {
		ids[name] = p.sessionID(s)
	}
	// Created A, B, C; active C, then A, then B (the list request itself).
	time.Sleep(1100 * time.Millisecond)
	if got := p.meStatus(secrets["A"]); got != http.StatusOK {
		t.Fatalf("/api/me A = %d", got)
	}
	time.Sleep(20 * time.Millisecond)
	list, res := p.sessionList(secrets["B"])

	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	for name, s := range secrets {
		if bytes.Contains(res.Body, []byte(s)) {
			t.Errorf("the list contains session %s's secret", name)
		}
	}
	if bytes.Contains(res.Body, []byte(ids["D"])) {
		t.Errorf("the list contains another user's session %s", ids["D"])
	}
	if len(list) != 3 {
		t.Fatalf("list has %d sessions; want 3:\n%s", len(list), res.Body)
	}
	fields := []string{"id", "current", "createdAt", "lastActiveAt", "expiresAt", "ip", "userAgent",
		"browser", "os", "device", "authLevel", "rememberMe", "apps"}
	var order []string
	byName := map[string]map[string]any{}
	var prevActive time.Time
	current := 0
	for i, s := range list {
		var keys []string
		for k := range s {
			keys = append(keys, k)
		}
		for _, f := range fields {
			if _, ok := s[f]; !ok {
				t.Errorf("session %d lacks %q: %v", i, f, s)
			}
		}
		for _, k := range keys {
			if !slices.Contains(fields, k) {
				t.Errorf("session %d has unexpected field %q", i, k)
			}
		}
		// No app signed in through these: a list, empty (the OIDC tests
		// fill it).
		if apps, ok := s["apps"].([]any); !ok || len(apps) != 0 {
			t.Errorf("session %d: apps = %v; want []", i, s["apps"])
		}
		name := ""
		for n, id := range ids {
			if s["id"] == id {
				name = n
			}
		}
		if name == "" {
			t.Fatalf("session %v is not one of the caller's", s)
		}
		order = append(order, name)
		byName[name] = s
		if s["current"] == true {
			current++
		}
		times := map[string]time.Time{}
		for _, f := range []string{"createdAt", "lastActiveAt", "expiresAt"} {
			str, _ := s[f].(string)
			tm, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				t.Errorf("session %s %s = %v: %v", name, f, s[f], err)
			}
			times[f] = tm
		}
		if times["lastActiveAt"].Before(times["createdAt"]) || !times["expiresAt"].After(times["lastActiveAt"]) {
			t.Errorf("session %s: created %v, active %v, expires %v; want created <= active < expires",
				name, times["createdAt"], times["lastActiveAt"], times["expiresAt"])
		}
		if i > 0 && times["lastActiveAt"].After(prevActive) {
			t.Errorf("session %s is more recently active than the one before it: not newest activity first", name)
		}
		prevActive = times["lastActiveAt"]
		if s["ip"] != "127.0.0.1" || s["authLevel"] != 1.0 {
			t.Errorf("session %s: ip %v, authLevel %v; want 127.0.0.1 and 1", name, s["ip"], s["authLevel"])
		}
	}
	if want := []string{"B", "A", "C"}; !slices.Equal(order, want) {
		t.Errorf("order = %v; want %v (most recently active first, not newest created)", order, want)
	}
	if current != 1 || byName["B"]["current"] != true {
		t.Errorf("%d sessions marked current; want exactly B", current)
	}
	a := byName["A"]
	if a["browser"] != "Chrome" || a["os"] != "Windows" || a["userAgent"] != chromeOnWindows {
		t.Errorf("Chrome on Windows session: browser %v, os %v, userAgent %v", a["browser"], a["os"], a["userAgent"])
	}
	if d, _ := a["device"].(string); d == "" {
		t.Errorf("Chrome on Windows session: device %v; want a device kind", a["device"])
	}
	if b := byName["B"]; b["browser"] != "Firefox" || b["os"] != "Linux" || b["rememberMe"] != true {
		t.Errorf("Firefox on Linux remember-me session: browser %v, os %v, rememberMe %v", b["browser"], b["os"], b["rememberMe"])
	}
	if a["rememberMe"] != false {
		t.Errorf("session A rememberMe = %v; want false", a["rememberMe"])
	}

	// The other user sees only their own.
	other, _ := p.sessionList(secrets["D"])
	if len(other) != 1 || other[0]["id"] != ids["D"] || other[0]["current"] != true {
		t.Errorf("other user's list = %v; want only their own current session", other)
	}
	if res := p.do(request{method: "GET", path: "/api/sessions"}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/sessions without a session = %d; want 401", res.StatusCode)
	}
}

// TestEndSessionNotFound: ending another user's session and ending an
// unknown one look the same (404, same body) and change nothing; ending a
// session twice is 404 the second time.
func TestEndSessionNotFound(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("nia@example.com")
	p.addUser("oz@example.com")
	a, b := p.login("nia@example.com"), p.login("nia@example.com")
	d := p.login("oz@example.com")
	idB, idD := p.sessionID(b), p.sessionID(d)
	sessionsBefore := p.sessionLines()

	foreign := p.do(request{method: "DELETE", path: "/api/sessions/" + idD, cookie: a})
	unknown := p.do(request{method: "DELETE", path: "/api/sessions/" + strings.Repeat("Q", len(idD)), cookie: a})
	for name, res := range map[string]*response{"another user's": foreign, "an unknown": unknown} {
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("DELETE %s session = %d; want 404", name, res.StatusCode)
		} else if body := res.json(t); body["error"] != "not_found" {
			t.Errorf("DELETE %s session: body %s; want error not_found", name, res.Body)
		}
		if raw := res.Header.Values("Set-Cookie"); len(raw) != 0 {
			t.Errorf("DELETE %s session set a cookie: %q", name, raw)
		}
	}
	if !bytes.Equal(foreign.Body, unknown.Body) {
		t.Errorf("another user's id and an unknown id answer differently:\n%s\n%s", foreign.Body, unknown.Body)
	}
	for name, s := range map[string]string{"A": a, "B": b, "D": d} {
		if got := p.meStatus(s); got != http.StatusOK {
			t.Errorf("session %s after refused deletes: /api/me = %d; want 200", name, got)
		}
	}
	if after := p.sessionLines(); len(after) != len(sessionsBefore) {
		t.Errorf("refused deletes changed sessions: %d before, %d after", len(sessionsBefore), len(after))
	}
	if lines := p.auditEvents("--type", "session.revoked"); len(lines) != 0 {
		t.Errorf("refused deletes recorded revocations: %q", lines)
	}

	if res := p.do(request{method: "DELETE", path: "/api/sessions/" + idB, cookie: a}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE B = %d %s; want 204", res.StatusCode, res.Body)
	}
	again := p.do(request{method: "DELETE", path: "/api/sessions/" + idB, cookie: a})
	if again.StatusCode != http.StatusNotFound || !bytes.Equal(again.Body, unknown.Body) {
		t.Errorf("DELETE an ended session = %d %s; want 404 like an unknown id", again.StatusCode, again.Body)
	}
	if raw := again.Header.Values("Set-Cookie"); len(raw) != 0 {
		t.Errorf("DELETE an ended session set a cookie: %q", raw)
	}
	if got := p.meStatus(a); got != http.StatusOK {
		t.Errorf("A after deleting an ended session: /api/me = %d; want 200", got)
	}
	if lines := p.auditLinesFor(idB, "--type", "session.revoked"); len(lines) != 1 {
		t.Errorf("revocation events for B = %q; want exactly one", lines)
	}
	if res := p.do(request{method: "DELETE", path: "/api/sessions/" + idD}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE without a session = %d; want 401", res.StatusCode)
	}
	if got := p.meStatus(d); got != http.StatusOK {
		t.Errorf("D at the end: /api/me = %d; want 200", got)
	}
}

// TestAccountChangeRefusals: a wrong password, a weak new password, a taken
// or invalid email are refused with their status and end nothing.
func TestAccountChangeRefusals(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ria@example.com")
	p.addUser("sam@example.com")
	secrets := map[string]string{
		"A": p.login("ria@example.com"), "B": p.login("ria@example.com"), "C": p.login("ria@example.com"),
		"D": p.login("sam@example.com"),
	}
	ids := map[string]string{}
	for n, s := range secrets {
		ids[n] = p.sessionID(s)
	}
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string // "" when only the status is fixed by the contract
	}{
		{"wrong current password", "/api/account/password",
			map[string]any{"currentPassword": "not-the-password-at-all", "newPassword": newPassword}, 403, "invalid_credentials"},
		{"empty current password", "/api/account/password",
			map[string]any{"currentPassword": "", "newPassword": newPassword}, 403, "invalid_credentials"},
		{"weak new password", "/api/account/password",
			map[string]any{"currentPassword": testPassword, "newPassword": "password"}, 422, "weak_password"},
		{"email, wrong password", "/api/account/email",
			map[string]any{"password": "not-the-password-at-all", "newEmail": "ria2@example.com"}, 403, "invalid_credentials"},
		{"email taken", "/api/account/email",
			map[string]any{"password": testPassword, "newEmail": "sam@example.com"}, 409, ""},
		{"email taken, other case", "/api/account/email",
			map[string]any{"password": testPassword, "newEmail": "SAM@Example.com"}, 409, ""},
		{"email invalid", "/api/account/email",
			map[string]any{"password": testPassword, "newEmail": "not-an-email"}, 400, ""},
		{"concern note too long", "/api/account/report-concern",
			map[string]any{"note": strings.Repeat("n", 5000)}, 400, ""},
	}
	for _, tt := range tests {
		res := p.do(request{method: "POST", path: tt.path, cookie: secrets["A"], body: tt.body})
		if res.StatusCode != tt.status {
			t.Errorf("%s: status = %d %s; want %d", tt.name, res.StatusCode, res.Body, tt.status)
			continue
		}
		body := res.json(t)
		if tt.code != "" && body["error"] != tt.code || body["error"] == "" || body["message"] == "" {
			t.Errorf("%s: body = %s; want error %q with a message", tt.name, res.Body, tt.code)
		}
		if raw := res.Header.Values("Set-Cookie"); len(raw) != 0 {
			t.Errorf("%s: a refused change set a cookie: %q", tt.name, raw)
		}
		for n, s := range secrets {
			if got := p.meStatus(s); got != http.StatusOK {
				t.Errorf("%s: session %s afterwards: /api/me = %d; want 200 (nothing may end)", tt.name, n, got)
			}
		}
	}
	if res := p.loginAs("ria@example.com", testPassword, nil, false); res.StatusCode != http.StatusOK {
		t.Errorf("the old password after refused changes: sign-in = %d; want 200", res.StatusCode)
	}
	if res := p.loginAs("ria@example.com", newPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the refused new password: sign-in = %d; want 401", res.StatusCode)
	}
	if res := p.loginAs("ria2@example.com", testPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the refused new email: sign-in = %d; want 401", res.StatusCode)
	}
	if res := p.loginAs("sam@example.com", testPassword, nil, false); res.StatusCode != http.StatusOK {
		t.Errorf("the owner of the taken email: sign-in = %d; want 200", res.StatusCode)
	}
	for _, typ := range []string{"session.revoked", "session.revoked_all", "password.changed", "email.changed", "security.concern_reported"} {
		if lines := p.auditEvents("--type", typ); len(lines) != 0 {
			t.Errorf("refused changes recorded %s: %q", typ, lines)
		}
	}
	if res := p.do(request{method: "POST", path: "/api/account/password",
		body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("password change without a session = %d; want 401", res.StatusCode)
	}
}

// TestSessionLimit: with session.max_per_user 2, a third sign-in ends the
// session idle the longest (not the oldest), says so in the audit log as
// the system's doing, and tells that session's open tabs.
func TestSessionLimit(t *testing.T) {
	p := startPortal(t, "session:\n  max_per_user: 2\n  inactivity_timeout: 10s\n")
	p.addUser("cap@example.com")
	p.addUser("free@example.com")
	s1 := p.login("cap@example.com")
	s2 := p.login("cap@example.com")
	id1, id2 := p.sessionID(s1), p.sessionID(s2)
	stream, _ := p.openEvents(t, s2)
	if stream == nil {
		t.Fatal("GET /api/events on S2 refused")
	}
	stream.waitConnected()
	// S1 is the older sign-in but was used after S2: S2 is idle the longest.
	time.Sleep(1100 * time.Millisecond)
	if got := p.meStatus(s1); got != http.StatusOK {
		t.Fatalf("S1 = %d", got)
	}
	time.Sleep(20 * time.Millisecond)
	// Another person's session, made late: under the race detector a
	// sign-in takes seconds, and one made first could time out (10 s).
	other := p.login("free@example.com")
	s3 := p.login("cap@example.com")

	for name, tc := range map[string]struct {
		secret string
		want   int
	}{"S1": {s1, 200}, "S2 (idle longest)": {s2, 401}, "S3": {s3, 200}, "other user's": {other, 200}} {
		if got := p.meStatus(tc.secret); got != tc.want {
			t.Errorf("%s session after the third sign-in: /api/me = %d; want %d", name, got, tc.want)
		}
	}
	list, _ := p.sessionList(s3)
	if len(list) != 2 {
		t.Errorf("S3 lists %d sessions; want 2", len(list))
	}
	for _, s := range list {
		if s["id"] == id2 {
			t.Error("the ended session is still listed")
		}
	}
	lines := p.auditLinesFor(id2, "--type", "session.revoked")
	if len(lines) != 1 {
		t.Fatalf("session.revoked events for S2 = %q; want one", lines)
	}
	if d := auditDetail(lines[0]); d["reason"] != "session_limit" || d["by"] != "system" {
		t.Errorf("limit event %q: want reason=session_limit by=system", lines[0])
	}
	if out := p.auditOutput("--type", "session.revoked"); !strings.Contains(out, "session_limit") || strings.Contains(out, id1) {
		t.Errorf("lacop audit --type session.revoked:\n%s\nwant session_limit for S2 only", out)
	}
	ev, ok := stream.nextEvent(3 * time.Second)
	if !ok || ev.name != "session-ended" || ev.data != `{"reason":"session_limit"}` {
		t.Errorf("S2's stream got %+v (ok %v); want session-ended with reason session_limit", ev, ok)
	}
}

// TestActivity: GET /api/account/activity lists the caller's own events,
// newest first, with sign-ins and revocations and who did them, never
// another user's; ?limit=1 gives one.
func TestActivity(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("act@example.com")
	p.addUser("nosy@example.com")
	a := p.login("act@example.com")
	b := p.login("act@example.com")
	d := p.login("nosy@example.com")
	idA, idB, idD := p.sessionID(a), p.sessionID(b), p.sessionID(d)
	uid, otherUID := p.userID(a), p.userID(d)
	if res := p.do(request{method: "DELETE", path: "/api/sessions/" + idB, cookie: a}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE B = %d", res.StatusCode)
	}
	p.do(request{method: "POST", path: "/api/logout", cookie: d})
	d = p.login("nosy@example.com")

	events, res := p.activity(a, "")
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	if bytes.Contains(res.Body, []byte(a)) || bytes.Contains(res.Body, []byte(b)) {
		t.Error("activity contains a session secret")
	}
	if bytes.Contains(res.Body, []byte(otherUID)) || bytes.Contains(res.Body, []byte(idD)) {
		t.Error("activity names the other user or their session")
	}
	var loginA, loginB, revokedB bool
	for i, e := range events {
		if e.UserID != uid || e.SessionID == idD {
			t.Errorf("activity event %d belongs to someone else: %+v", i, e)
		}
		if i > 0 && e.Time.After(events[i-1].Time) {
			t.Errorf("activity event %d (%s) is newer than the one before: not newest first", i, e.Type)
		}
		switch {
		case e.Type == "login.succeeded" && e.SessionID == idA:
			loginA = true
		case e.Type == "login.succeeded" && e.SessionID == idB:
			loginB = true
		case e.Type == "session.revoked" && e.SessionID == idB:
			revokedB = true
			if e.Detail["reason"] != "revoked" || e.Detail["by"] != "self" || e.ActorID != uid {
				t.Errorf("revocation event %+v: want reason revoked, by self, actor the user", e)
			}
		}
	}
	if !loginA || !loginB || !revokedB {
		t.Errorf("activity lacks sign-in A %v, sign-in B %v, or B's revocation %v:\n%s", loginA, loginB, revokedB, res.Body)
	}
	if len(events) == 0 || events[0].Type != "session.revoked" {
		t.Errorf("newest event = %+v; want the revocation", events)
	}
	one, _ := p.activity(a, "?limit=1")
	if len(one) != 1 || len(events) == 0 || one[0].ID != events[0].ID {
		t.Errorf("?limit=1 gave %d events (%+v); want only the newest", len(one), one)
	}
	theirs, res := p.activity(d, "")
	for _, e := range theirs {
		if e.UserID != otherUID {
			t.Errorf("the other user's activity shows %+v", e)
		}
	}
	if bytes.Contains(res.Body, []byte(idA)) || bytes.Contains(res.Body, []byte(idB)) {
		t.Error("the other user's activity names this user's sessions")
	}
	var sawLogout bool
	for _, e := range theirs {
		if e.Type == "logout" && e.SessionID == idD && e.Detail["by"] == "self" {
			sawLogout = true
		}
	}
	if !sawLogout {
		t.Errorf("the other user's activity lacks their sign-out with by=self:\n%s", res.Body)
	}
	if res := p.do(request{method: "GET", path: "/api/account/activity"}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("activity without a session = %d; want 401", res.StatusCode)
	}
}

// TestAccountCrossOriginRefused: the endpoints that end sessions refuse a
// browser request from another site and end nothing.
func TestAccountCrossOriginRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("xo@example.com")
	a, b := p.login("xo@example.com"), p.login("xo@example.com")
	idB := p.sessionID(b)
	reqs := []request{
		{method: "DELETE", path: "/api/sessions/" + idB},
		{method: "POST", path: "/api/sessions/revoke-all", body: map[string]any{"keepCurrent": false}},
		{method: "POST", path: "/api/account/password", body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}},
		{method: "POST", path: "/api/account/email", body: map[string]any{"password": testPassword, "newEmail": "xo2@example.com"}},
		{method: "POST", path: "/api/account/report-concern", body: map[string]any{"note": "csrf"}},
	}
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		for _, req := range reqs {
			req.cookie, req.header = a, h
			res := p.do(req)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with %v = %d; want 403", req.method, req.path, h, res.StatusCode)
			}
			if raw := res.Header.Values("Set-Cookie"); len(raw) != 0 {
				t.Errorf("%s %s with %v set a cookie: %q", req.method, req.path, h, raw)
			}
		}
	}
	for name, s := range map[string]string{"A": a, "B": b} {
		if got := p.meStatus(s); got != http.StatusOK {
			t.Errorf("session %s after refused cross-origin requests: /api/me = %d; want 200", name, got)
		}
	}
	if res := p.loginAs("xo@example.com", testPassword, nil, false); res.StatusCode != http.StatusOK {
		t.Errorf("sign-in with the unchanged password and email = %d; want 200", res.StatusCode)
	}
}

// TestRotatedCookieKeepsRememberMe: the fresh secret a password change
// gives a remember-me session is again a persistent cookie, and a plain
// session's stays a browser-session cookie.
func TestRotatedCookieKeepsRememberMe(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "session:\n  remember_me_lifetime: 48h\n")
	p.addUser("rot@example.com")
	pw, next := testPassword, newPassword
	for _, remember := range []bool{true, false} {
		res := p.loginAs("rot@example.com", pw, nil, remember)
		old := sessionCookie(res.Response)
		if res.StatusCode != http.StatusOK || old == nil {
			t.Fatalf("login = %d", res.StatusCode)
		}
		res = p.do(request{method: "POST", path: "/api/account/password", cookie: old.Value,
			body: map[string]any{"currentPassword": pw, "newPassword": next}})
		c := sessionCookie(res.Response)
		if res.StatusCode != http.StatusOK || c == nil || c.Value == "" || c.Value == old.Value {
			t.Fatalf("rememberMe %v: password change = %d %v; want a fresh cookie", remember, res.StatusCode, res.Header["Set-Cookie"])
		}
		if remember && (c.MaxAge <= 0 || c.MaxAge > 48*3600) {
			t.Errorf("remember-me session's rotated cookie %v: want a Max-Age up to 48h", res.Header["Set-Cookie"])
		}
		if !remember && (c.MaxAge != 0 || !c.Expires.IsZero()) {
			t.Errorf("plain session's rotated cookie %v: want no Max-Age or Expires", res.Header["Set-Cookie"])
		}
		if got := p.meStatus(c.Value); got != http.StatusOK {
			t.Errorf("rememberMe %v: rotated secret: /api/me = %d; want 200", remember, got)
		}
		pw, next = next, pw
	}
}
