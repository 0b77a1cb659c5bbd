package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// policyFixture is one user with three sessions (A is the one acting, B and
// C are other devices) and another user's session D.
type policyFixture struct {
	email, otherEmail string
	secret, id        map[string]string // by name: A, B, C, D
}

func newPolicyFixture(p *portal, n int) *policyFixture {
	p.t.Helper()
	f := &policyFixture{
		email:      fmt.Sprintf("pol%d@example.com", n),
		otherEmail: fmt.Sprintf("oth%d@example.com", n),
		secret:     map[string]string{},
		id:         map[string]string{},
	}
	p.addUser(f.email)
	p.addUser(f.otherEmail)
	for _, name := range []string{"A", "B", "C"} {
		f.secret[name] = p.login(f.email)
	}
	f.secret["D"] = p.login(f.otherEmail)
	for name, s := range f.secret {
		f.id[name] = p.sessionID(s)
	}
	return f
}

// cookieEffect is what an event's answer must do to the caller's cookie.
type cookieEffect int

const (
	cookieNotChecked cookieEffect = iota // no HTTP answer (CLI)
	cookieUntouched
	cookieRotated
	cookieDeleted
)

// TestPolicyTable walks every row of the policy table that can be reached
// from outside today: the sessions a row must end get 401 on their next
// request, the others keep working, the caller's cookie is replaced,
// deleted or left alone as the row says, and each ended session has one
// audit event with the row's reason and actor.
func TestPolicyTable(t *testing.T) {
	p := startPortal(t, "")
	rows := []struct {
		name       string
		act        func(p *portal, f *policyFixture) *response // nil for the CLI
		ended      []string                                    // of A, B, C
		cookie     cookieEffect
		status     int
		body       map[string]any // exact JSON body; nil: not checked here
		auditType  string
		reason, by string
		revokedAll bool // a session.revoked_all event is recorded too
		extra      func(t *testing.T, p *portal, f *policyFixture, res *response)
	}{
		{
			name: "logout",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/logout", cookie: f.secret["A"]})
			},
			ended: []string{"A"}, cookie: cookieDeleted, status: 200,
			body:      map[string]any{"redirect": "/login?loggedOut=1", "targetRejected": false},
			auditType: "logout", reason: "logout", by: "self",
		},
		{
			name: "end one session",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "DELETE", path: "/api/sessions/" + f.id["B"], cookie: f.secret["A"]})
			},
			ended: []string{"B"}, cookie: cookieUntouched, status: 204,
			auditType: "session.revoked", reason: "revoked", by: "self",
			extra: func(t *testing.T, _ *portal, _ *policyFixture, res *response) {
				if len(res.Body) != 0 {
					t.Errorf("204 answer has a body: %q", res.Body)
				}
			},
		},
		{
			name: "end own session by id",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "DELETE", path: "/api/sessions/" + f.id["A"], cookie: f.secret["A"]})
			},
			ended: []string{"A"}, cookie: cookieDeleted, status: 204,
			auditType: "session.revoked", reason: "revoked", by: "self",
		},
		{
			name: "sign out everywhere else",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": true}})
			},
			ended: []string{"B", "C"}, cookie: cookieRotated, status: 200, body: map[string]any{"revoked": 2.0},
			auditType: "session.revoked", reason: "revoked_others", by: "self", revokedAll: true,
		},
		{
			name: "sign out everywhere",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": false}})
			},
			ended: []string{"A", "B", "C"}, cookie: cookieDeleted, status: 200, body: map[string]any{"revoked": 3.0},
			auditType: "session.revoked", reason: "revoked_all", by: "self", revokedAll: true,
		},
		{
			name: "password change",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/account/password", cookie: f.secret["A"],
					body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
			},
			ended: []string{"B", "C"}, cookie: cookieRotated, status: 200, body: map[string]any{"revokedSessions": 2.0},
			auditType: "session.revoked", reason: "password_changed", by: "self",
			extra: func(t *testing.T, p *portal, f *policyFixture, _ *response) {
				if res := p.loginAs(f.email, testPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("sign-in with the old password = %d; want 401", res.StatusCode)
				}
				if res := p.loginAs(f.email, newPassword, nil, false); res.StatusCode != http.StatusOK {
					t.Errorf("sign-in with the new password = %d %s; want 200", res.StatusCode, res.Body)
				}
				if lines := p.auditEvents("--user", f.email, "--type", "password.changed"); len(lines) != 1 || auditDetail(lines[0])["by"] != "self" {
					t.Errorf("password.changed events = %q; want one with by=self", lines)
				}
			},
		},
		{
			name: "email change",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/account/email", cookie: f.secret["A"],
					body: map[string]any{"password": testPassword, "newEmail": "moved-" + f.email}})
			},
			ended: []string{"B", "C"}, cookie: cookieRotated, status: 200, body: map[string]any{"revokedSessions": 2.0},
			auditType: "session.revoked", reason: "email_changed", by: "self",
			extra: func(t *testing.T, p *portal, f *policyFixture, _ *response) {
				if res := p.loginAs(f.email, testPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("sign-in with the old email = %d; want 401", res.StatusCode)
				}
				res := p.loginAs("moved-"+f.email, testPassword, nil, false)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("sign-in with the new email = %d %s; want 200", res.StatusCode, res.Body)
				}
				if u, _ := res.json(t)["user"].(map[string]any); u["email"] != "moved-"+f.email {
					t.Errorf("signed-in user after email change = %v; want email moved-%s", u, f.email)
				}
				if lines := p.auditEvents("--user", "moved-"+f.email, "--type", "email.changed"); len(lines) != 1 {
					t.Errorf("email.changed events = %q; want 1", lines)
				}
			},
		},
		{
			name: "report a concern",
			act: func(p *portal, f *policyFixture) *response {
				return p.do(request{method: "POST", path: "/api/account/report-concern", cookie: f.secret["A"],
					body: map[string]any{"note": "a sign-in from Lisbon was not me"}})
			},
			ended: []string{"B", "C"}, cookie: cookieRotated, status: 200, body: map[string]any{"revokedSessions": 2.0},
			auditType: "session.revoked", reason: "concern_reported", by: "self",
			extra: func(t *testing.T, p *portal, f *policyFixture, _ *response) {
				lines := p.auditEvents("--user", f.email, "--type", "security.concern_reported")
				if len(lines) != 1 {
					t.Fatalf("security.concern_reported events = %q; want 1", lines)
				}
				d := auditDetail(lines[0])
				if d["note"] != "a sign-in from Lisbon was not me" || !strings.Contains(lines[0], f.id["A"]) {
					t.Errorf("concern event %q: want the note and the reporting session %s", lines[0], f.id["A"])
				}
			},
		},
		{
			name: "CLI session revoke ID",
			act: func(p *portal, f *policyFixture) *response {
				out := p.cliOK("", "session", "revoke", f.id["B"])
				if !strings.Contains(out, f.id["B"]) {
					p.t.Errorf("session revoke output %q does not name the session", out)
				}
				return nil
			},
			ended: []string{"B"}, auditType: "session.revoked", reason: "admin_revoked", by: "cli",
		},
		{
			name: "CLI session revoke --user",
			act: func(p *portal, f *policyFixture) *response {
				if out := p.cliOK("", "session", "revoke", "--user", f.email); !strings.Contains(out, "ended 3 ") {
					p.t.Errorf("session revoke --user output %q; want ended 3", out)
				}
				return nil
			},
			ended: []string{"A", "B", "C"}, auditType: "session.revoked", reason: "admin_revoked_all", by: "cli", revokedAll: true,
		},
		{
			name: "CLI user passwd",
			act: func(p *portal, f *policyFixture) *response {
				p.cliOK(newPassword+"\n", "user", "passwd", f.email, "--password-stdin")
				return nil
			},
			ended: []string{"A", "B", "C"}, auditType: "session.revoked", reason: "password_reset", by: "cli",
			extra: func(t *testing.T, p *portal, f *policyFixture, _ *response) {
				if res := p.loginAs(f.email, testPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("sign-in with the old password = %d; want 401", res.StatusCode)
				}
				if res := p.loginAs(f.email, newPassword, nil, false); res.StatusCode != http.StatusOK {
					t.Errorf("sign-in with the new password = %d; want 200", res.StatusCode)
				}
			},
		},
		{
			name: "CLI user disable",
			act: func(p *portal, f *policyFixture) *response {
				p.cliOK("", "user", "disable", f.email)
				return nil
			},
			ended: []string{"A", "B", "C"}, auditType: "session.revoked", reason: "user_disabled", by: "cli",
			extra: func(t *testing.T, p *portal, f *policyFixture, _ *response) {
				if res := p.loginAs(f.email, testPassword, nil, false); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("sign-in as a disabled user = %d; want 401", res.StatusCode)
				}
			},
		},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			p := p.forTest(t)
			f := newPolicyFixture(p, i)
			res := row.act(p, f)

			// The HTTP answer.
			if res != nil {
				if res.StatusCode != row.status {
					t.Fatalf("status = %d %s; want %d", res.StatusCode, res.Body, row.status)
				}
				if row.body != nil {
					body := res.json(t)
					if fmt.Sprint(body) != fmt.Sprint(row.body) {
						t.Errorf("body = %s; want %v", res.Body, row.body)
					}
				}
				if got := res.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q; want no-store", got)
				}
			}
			newA := ""
			switch row.cookie {
			case cookieUntouched:
				if raw := res.Header.Values("Set-Cookie"); len(raw) != 0 {
					t.Errorf("Set-Cookie = %q; want none (the current session is untouched)", raw)
				}
			case cookieDeleted:
				wantDeletingCookie(t, res.Response, cookieName, "")
			case cookieRotated:
				raw := res.Header.Values("Set-Cookie")
				c := sessionCookie(res.Response)
				if len(raw) != 1 || c == nil || c.Name != cookieName {
					t.Fatalf("Set-Cookie = %q; want one fresh %s", raw, cookieName)
				}
				wantCookieFlags(t, raw[0], c, "")
				if len(c.Value) != 43 || c.Value == f.secret["A"] {
					t.Fatalf("rotated cookie %q: want a fresh 43-character secret", raw[0])
				}
				if c.MaxAge != 0 || !c.Expires.IsZero() {
					t.Errorf("rotated cookie %q of a plain session: want a browser-session cookie (no Max-Age, no Expires)", raw[0])
				}
				newA = c.Value
			}

			// Who still works.
			for _, name := range []string{"A", "B", "C", "D"} {
				want := http.StatusOK
				if slices.Contains(row.ended, name) || name == "A" && newA != "" {
					want = http.StatusUnauthorized // a rotated secret dies too
				}
				if got := p.meStatus(f.secret[name]); got != want {
					t.Errorf("session %s after %s: /api/me = %d; want %d", name, row.name, got, want)
				}
			}
			if newA != "" {
				if got := p.meStatus(newA); got != http.StatusOK {
					t.Errorf("A's new secret: /api/me = %d; want 200", got)
				} else if id := p.sessionID(newA); id != f.id["A"] {
					t.Errorf("A's new secret belongs to session %s; want the same session %s", id, f.id["A"])
				}
				if got := p.meStatus(f.secret["A"]); got != http.StatusUnauthorized {
					t.Errorf("A's old secret after rotation: /api/me = %d; want 401", got)
				}
			}

			// The audit trail: one event per ended session, none for the rest.
			for _, name := range []string{"A", "B", "C", "D"} {
				var ends []string
				for _, l := range p.auditLinesFor(f.id[name]) {
					if typ := auditType(l); typ == "session.revoked" || typ == "logout" || typ == "session.expired" {
						ends = append(ends, l)
					}
				}
				if !slices.Contains(row.ended, name) {
					if len(ends) != 0 {
						t.Errorf("session %s was not ended but has end events %q", name, ends)
					}
					continue
				}
				if len(ends) != 1 {
					t.Errorf("session %s: end events %q; want exactly one", name, ends)
					continue
				}
				d := auditDetail(ends[0])
				if auditType(ends[0]) != row.auditType || d["reason"] != row.reason || d["by"] != row.by {
					t.Errorf("session %s end event %q; want type %s reason=%q by=%q", name, ends[0], row.auditType, row.reason, row.by)
				}
			}
			if row.revokedAll {
				var found bool
				for _, l := range p.auditEvents("--user", f.email, "--type", "session.revoked_all") {
					d := auditDetail(l)
					if d["reason"] == row.reason {
						found = true
						if d["by"] != row.by || d["count"] != fmt.Sprint(len(row.ended)) {
							t.Errorf("session.revoked_all event %q; want by=%q count=%d", l, row.by, len(row.ended))
						}
					}
				}
				if !found {
					t.Errorf("no session.revoked_all event with reason %q", row.reason)
				}
			}
			if row.extra != nil {
				row.extra(t, p, f, res)
			}
		})
	}
}
