package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSessionEndedStream: an event stream on session B hears session-ended
// with the right reason within a second of B being ended, by B itself, from
// session A, or from the command line in another process, and then closes.
// Another user's stream hears nothing.
func TestSessionEndedStream(t *testing.T) {
	p := startPortal(t, "")
	// A bystander of another user watches throughout: no row may reach it.
	p.addUser("bystander@example.com")
	bystander := p.login("bystander@example.com")
	streamD, _ := p.openEvents(t, bystander)
	if streamD == nil {
		t.Fatal("GET /api/events for the bystander refused")
	}
	streamD.waitConnected()
	type sessions struct {
		email          string
		a, b, idA, idB string
	}
	rows := []struct {
		name, reason string
		act          func(p *portal, s *sessions) *response // nil answer for the CLI
		status       int
	}{
		{"end one session", "revoked", func(p *portal, s *sessions) *response {
			return p.do(request{method: "DELETE", path: "/api/sessions/" + s.idB, cookie: s.a})
		}, 204},
		{"B signs itself out", "logout", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/logout", cookie: s.b})
		}, 200},
		{"sign out everywhere else", "revoked_all", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s.a, body: map[string]any{"keepCurrent": true}})
		}, 200},
		{"sign out everywhere", "revoked_all", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s.a, body: map[string]any{"keepCurrent": false}})
		}, 200},
		{"password change", "password_changed", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/account/password", cookie: s.a,
				body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
		}, 200},
		{"email change", "email_changed", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/account/email", cookie: s.a,
				body: map[string]any{"password": testPassword, "newEmail": "new-" + s.email}})
		}, 200},
		{"report a concern", "concern_reported", func(p *portal, s *sessions) *response {
			return p.do(request{method: "POST", path: "/api/account/report-concern", cookie: s.a, body: map[string]any{"note": "not me"}})
		}, 200},
		{"CLI session revoke ID", "admin", func(p *portal, s *sessions) *response {
			p.cliOK("", "session", "revoke", s.idB)
			return nil
		}, 0},
		{"CLI session revoke --user", "admin", func(p *portal, s *sessions) *response {
			p.cliOK("", "session", "revoke", "--user", s.email)
			return nil
		}, 0},
		{"CLI user passwd", "admin", func(p *portal, s *sessions) *response {
			p.cliOK(newPassword+"\n", "user", "passwd", s.email, "--password-stdin")
			return nil
		}, 0},
		{"CLI user disable", "admin", func(p *portal, s *sessions) *response {
			p.cliOK("", "user", "disable", s.email)
			return nil
		}, 0},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			p := p.forTest(t)
			s := &sessions{email: fmt.Sprintf("sse%d@example.com", i)}
			p.addUser(s.email)
			s.a, s.b = p.login(s.email), p.login(s.email)
			s.idA, s.idB = p.sessionID(s.a), p.sessionID(s.b)

			streamB, res := p.openEvents(t, s.b)
			if streamB == nil {
				t.Fatalf("GET /api/events = %d %s", res.StatusCode, res.Body)
			}
			if ct := streamB.res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type = %q; want text/event-stream", ct)
			}
			if cc := streamB.res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", cc)
			}
			streamB.waitConnected()

			if res := row.act(p, s); res != nil && res.StatusCode != row.status {
				t.Fatalf("%s = %d %s; want %d", row.name, res.StatusCode, res.Body, row.status)
			}
			ended := time.Now()

			ev, ok := streamB.nextEvent(5 * time.Second)
			if !ok {
				t.Fatal("B's stream closed without session-ended")
			}
			var data struct {
				Reason string `json:"reason"`
			}
			if ev.name != "session-ended" || json.Unmarshal([]byte(ev.data), &data) != nil || data.Reason != row.reason {
				t.Errorf("B's stream got event %q data %q; want session-ended {\"reason\":%q}", ev.name, ev.data, row.reason)
			}
			if late := ev.at.Sub(ended); late > time.Second {
				t.Errorf("session-ended arrived %v after B was ended; want within 1s", late)
			}
			streamB.waitEOF(2 * time.Second)

			if got := p.meStatus(s.b); got != http.StatusUnauthorized {
				t.Errorf("B after %s: /api/me = %d; want 401", row.name, got)
			}
			time.Sleep(250 * time.Millisecond) // past one relay poll
			if got := streamD.quiet(); len(got) != 0 {
				t.Errorf("another user's stream heard %q", got)
			}
			if got := p.meStatus(bystander); got != http.StatusOK {
				t.Errorf("another user's session after %s: /api/me = %d; want 200", row.name, got)
			}
		})
	}

	t.Run("no live session", func(t *testing.T) {
		p := p.forTest(t)
		p.addUser("gone@example.com")
		dead := p.login("gone@example.com")
		p.do(request{method: "POST", path: "/api/logout", cookie: dead})
		for name, secret := range map[string]string{"no cookie": "", "ended session": dead, "garbage": "not-a-secret"} {
			stream, res := p.openEvents(t, secret)
			if stream != nil {
				t.Errorf("%s: GET /api/events = 200; want 401", name)
				continue
			}
			if res.StatusCode != http.StatusUnauthorized || res.json(t)["error"] != "unauthenticated" {
				t.Errorf("%s: GET /api/events = %d %s; want 401 unauthenticated", name, res.StatusCode, res.Body)
			}
		}
	})
}

// TestExpiredStream: a stream does not keep its session alive; when the
// idle session is found expired, the stream hears "expired" and closes, and
// the audit log says the system ended it.
func TestExpiredStream(t *testing.T) {
	p := startPortal(t, "session:\n  inactivity_timeout: 1s\n")
	p.addUser("idle@example.com")
	secret := p.login("idle@example.com")
	id := p.sessionID(secret)
	stream, res := p.openEvents(t, secret)
	if stream == nil {
		t.Fatalf("GET /api/events = %d", res.StatusCode)
	}
	stream.waitConnected()
	time.Sleep(1300 * time.Millisecond)
	res = p.do(request{method: "GET", path: "/api/me", cookie: secret})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("idle session with an open stream: /api/me = %d; want 401 (a stream must not keep it alive)", res.StatusCode)
	}
	wantDeletingCookie(t, res.Response, cookieName, "")
	ended := time.Now()
	ev, ok := stream.nextEvent(5 * time.Second)
	if !ok || ev.name != "session-ended" || ev.data != `{"reason":"expired"}` {
		t.Errorf("stream got %+v (ok %v); want session-ended with reason expired", ev, ok)
	} else if late := ev.at.Sub(ended); late > time.Second {
		t.Errorf("session-ended arrived %v after expiry was found; want within 1s", late)
	}
	stream.waitEOF(2 * time.Second)
	lines := p.auditLinesFor(id, "--type", "session.expired")
	if len(lines) != 1 {
		t.Fatalf("session.expired events = %q; want one", lines)
	}
	if d := auditDetail(lines[0]); d["reason"] != "expired" || d["by"] != "system" {
		t.Errorf("expiry event %q: want reason=expired by=system", lines[0])
	}
}
