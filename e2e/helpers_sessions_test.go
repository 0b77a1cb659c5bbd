package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newPassword passes the strength check and differs from testPassword.
const newPassword = "another-long-passphrase-for-tests"

// chromeOnWindows is a real Chrome user agent.
const chromeOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// forTest returns a copy of p whose helpers fail t, so subtests (parallel
// ones too) can share one running portal.
func (p *portal) forTest(t *testing.T) *portal {
	q := *p
	q.t = t
	return &q
}

// loginAs signs in with any email, password and extra headers and returns
// the raw answer.
func (p *portal) loginAs(email, password string, header map[string]string, rememberMe bool) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: "/api/login", header: header,
		body: map[string]any{"email": email, "password": password, "rememberMe": rememberMe}})
}

// loginSecret signs in with email and password and returns the secret.
func (p *portal) loginSecret(email, password string) string {
	p.t.Helper()
	return p.loginSecretWith(email, password, nil)
}

// loginSecretWith is loginSecret with extra request headers (a browser's
// User-Agent).
func (p *portal) loginSecretWith(email, password string, header map[string]string) string {
	p.t.Helper()
	res := p.loginAs(email, password, header, false)
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || c == nil || c.Value == "" {
		p.t.Fatalf("login %s: %d %s %v", email, res.StatusCode, res.Body, res.Header["Set-Cookie"])
	}
	return c.Value
}

// me is GET /api/me, failing the test on anything but 200.
func (p *portal) me(secret string) (user, session map[string]any) {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/api/me", cookie: secret})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("/api/me = %d %s", res.StatusCode, res.Body)
	}
	body := res.json(p.t)
	user, _ = body["user"].(map[string]any)
	session, _ = body["session"].(map[string]any)
	if user == nil || session == nil {
		p.t.Fatalf("/api/me body %s lacks user or session", res.Body)
	}
	return user, session
}

// sessionID is the public id of the session behind secret.
func (p *portal) sessionID(secret string) string {
	p.t.Helper()
	_, s := p.me(secret)
	id, _ := s["id"].(string)
	if id == "" {
		p.t.Fatalf("/api/me session has no id: %v", s)
	}
	return id
}

// userID is the id of the user behind secret.
func (p *portal) userID(secret string) string {
	p.t.Helper()
	u, _ := p.me(secret)
	id, _ := u["id"].(string)
	if id == "" {
		p.t.Fatalf("/api/me user has no id: %v", u)
	}
	return id
}

// sessionList is GET /api/sessions as decoded JSON objects, plus the raw
// answer.
func (p *portal) sessionList(secret string) ([]map[string]any, *response) {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/api/sessions", cookie: secret})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /api/sessions = %d %s", res.StatusCode, res.Body)
	}
	var body struct {
		Sessions []map[string]any `json:"sessions"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.Sessions == nil {
		p.t.Fatalf("GET /api/sessions body %s: %v", res.Body, err)
	}
	return body.Sessions, res
}

// auditEvent is one event as GET /api/account/activity shows it.
type auditEvent struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	UserID    string            `json:"userId"`
	SessionID string            `json:"sessionId"`
	ActorID   string            `json:"actorId"`
	IP        string            `json:"ip"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail"`
}

// activity is GET /api/account/activity with the query (may be "").
func (p *portal) activity(secret, query string) ([]auditEvent, *response) {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/api/account/activity" + query, cookie: secret})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /api/account/activity%s = %d %s", query, res.StatusCode, res.Body)
	}
	var body struct {
		Events []auditEvent `json:"events"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		p.t.Fatalf("activity body %s: %v", res.Body, err)
	}
	return body.Events, res
}

// cliOK runs a lacop command that must succeed.
func (p *portal) cliOK(stdin string, args ...string) string {
	p.t.Helper()
	out, err := p.cli(stdin, args...)
	if err != nil {
		p.t.Fatalf("lacop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// auditLinesFor returns the lines of lacop audit (with args) that name the
// public session id.
func (p *portal) auditLinesFor(sessionID string, args ...string) []string {
	p.t.Helper()
	var lines []string
	for _, l := range p.auditEvents(append([]string{"--limit", "10000"}, args...)...) {
		if strings.Contains(l, sessionID) {
			lines = append(lines, l)
		}
	}
	return lines
}

// auditType is the TYPE column of a lacop audit line.
func auditType(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

var detailPair = regexp.MustCompile(`([A-Za-z]+)="((?:[^"\\]|\\.)*)"`)

// auditDetail parses the key="value" pairs at the end of a lacop audit line.
func auditDetail(line string) map[string]string {
	d := map[string]string{}
	for _, m := range detailPair.FindAllStringSubmatch(line, -1) {
		d[m[1]] = m[2]
	}
	return d
}

// sseLine is one line of an event stream and when it arrived.
type sseLine struct {
	text string
	at   time.Time
}

// sseStream is an open GET /api/events.
type sseStream struct {
	t     *testing.T
	res   *http.Response
	lines chan sseLine // closed at EOF or error
}

// openEvents starts GET /api/events with secret on a client with no
// timeout. It returns the stream only when the answer is 200; otherwise the
// read answer.
func (p *portal) openEvents(t *testing.T, secret string) (*sseStream, *response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", p.URL+"/api/events", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if secret != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: secret})
	}
	client := &http.Client{Transport: &http.Transport{}}
	res, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return nil, &response{Response: res, Body: data}
	}
	s := &sseStream{t: t, res: res, lines: make(chan sseLine, 256)}
	t.Cleanup(func() { cancel(); res.Body.Close() })
	go func() {
		defer close(s.lines)
		r := bufio.NewReader(res.Body)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				s.lines <- sseLine{strings.TrimRight(line, "\r\n"), time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

// next returns the next line, ok=false at EOF; it fails the test when none
// comes within d.
func (s *sseStream) next(d time.Duration) (sseLine, bool) {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		return l, ok
	case <-time.After(d):
		s.t.Fatalf("event stream: nothing within %v", d)
		return sseLine{}, false
	}
}

// waitConnected reads up to the ": connected" comment.
func (s *sseStream) waitConnected() {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, ok := s.next(time.Until(deadline))
		if !ok {
			s.t.Fatal("event stream closed before : connected")
		}
		if l.text == ": connected" {
			return
		}
	}
}

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	name, data string
	at         time.Time // when its last line arrived
}

// nextEvent reads lines until a complete event (ended by a blank line),
// skipping comments and retry fields. ok is false at EOF.
func (s *sseStream) nextEvent(d time.Duration) (sseEvent, bool) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var ev sseEvent
	for {
		l, ok := s.next(time.Until(deadline))
		if !ok {
			return ev, false
		}
		switch {
		case l.text == "":
			if ev.name != "" || ev.data != "" {
				return ev, true
			}
		case strings.HasPrefix(l.text, ":"), strings.HasPrefix(l.text, "retry:"):
		case strings.HasPrefix(l.text, "event:"):
			ev.name = strings.TrimSpace(strings.TrimPrefix(l.text, "event:"))
			ev.at = l.at
		case strings.HasPrefix(l.text, "data:"):
			ev.data += strings.TrimSpace(strings.TrimPrefix(l.text, "data:"))
			ev.at = l.at
		default:
			s.t.Errorf("event stream: unexpected line %q", l.text)
		}
	}
}

// waitEOF expects the stream to close within d, with no further event.
func (s *sseStream) waitEOF(d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return
			}
			if l.text != "" && !strings.HasPrefix(l.text, ":") {
				s.t.Errorf("event stream: line %q after session-ended; want the stream closed", l.text)
			}
		case <-time.After(time.Until(deadline)):
			s.t.Errorf("event stream still open %v after session-ended", d)
			return
		}
	}
}

// quiet reports the non-comment lines that arrived so far without waiting.
func (s *sseStream) quiet() []string {
	var got []string
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return append(got, "<EOF>")
			}
			if l.text != "" && !strings.HasPrefix(l.text, ":") {
				got = append(got, l.text)
			}
		default:
			return got
		}
	}
}
