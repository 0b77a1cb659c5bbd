package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// logLines are the JSON log lines lacop wrote so far, decoded.
func logLines(p *portal) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(p.out.String(), "\n") {
		var v map[string]any
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

// findLog waits up to a second for a log line with message msg whose
// fields include want, and returns it (nil if none came).
func findLog(p *portal, msg string, want map[string]string) map[string]any {
	deadline := time.Now().Add(time.Second)
	for {
		for _, l := range logLines(p) {
			if l["msg"] != msg {
				continue
			}
			ok := true
			for k, v := range want {
				if s, _ := l[k].(string); s != v {
					ok = false
				}
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperatorLogs: with --log-format json, serve says what it started
// with, and logs each sign-in, failed sign-in and sign-out as one line
// with the request's id, which is also in X-Request-Id and on error pages;
// no secret reaches the log (the leak check reads it).
func TestOperatorLogs(t *testing.T) {
	t.Parallel()
	p := startServe(t, nil, "--listen", "127.0.0.1:0", "--log-format", "json")
	p.addUser("ops@example.com")

	start := findLog(p, "lacop started", map[string]string{"store": "sqlite", "public_url": p.URL})
	if start == nil || start["listen"] == nil || start["apps"] != float64(0) || start["access_rules"] != float64(0) {
		t.Errorf("no start line with the store, listen address, public URL, apps and rules:\n%s", p.out.String())
	}

	res := p.loginAs("ops@example.com", testPassword, nil, false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d", res.StatusCode)
	}
	secret := sessionCookie(res.Response).Value
	reqID := res.Header.Get("X-Request-Id")
	sid := p.sessionID(secret)
	uid := p.userID(secret)
	if len(reqID) < 20 {
		t.Fatalf("X-Request-Id = %q", reqID)
	}
	if findLog(p, "signed in", map[string]string{"user": uid, "session": sid, "request_id": reqID, "event": "login.succeeded"}) == nil {
		t.Errorf("no sign-in line with the user, session and request id %s:\n%s", reqID, p.out.String())
	}
	bad := p.loginAs("ops@example.com", "wrong-password-1", nil, false)
	if findLog(p, "sign-in failed", map[string]string{"request_id": bad.Header.Get("X-Request-Id")}) == nil {
		t.Errorf("no failed sign-in line")
	}
	out := p.do(request{method: "POST", path: "/api/logout", cookie: secret})
	if findLog(p, "signed out", map[string]string{"session": sid, "reason": "logout", "request_id": out.Header.Get("X-Request-Id")}) == nil {
		t.Errorf("no sign-out line")
	}

	// An error page gives the person the reference the log has.
	page := p.do(request{method: "GET", path: "/no-such-page", header: map[string]string{"Accept": "text/html"}})
	if id := page.Header.Get("X-Request-Id"); id == "" || !strings.Contains(string(page.Body), id) {
		t.Errorf("the error page does not show its request id %q", id)
	}
	// Forward-auth, asked about every request, is not slowed by ids or lines.
	if res := p.forwardAuth("GET", "https://app.example.com/", nil); res.Header.Get("X-Request-Id") != "" {
		t.Errorf("forward-auth answered with a request id")
	}
}
