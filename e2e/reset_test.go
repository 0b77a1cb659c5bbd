package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/mail/mailpittest"
)

var resetLink = regexp.MustCompile(`/reset/([A-Za-z0-9_-]{43})\b`)

// resetToken asks for a reset link for email and returns the token from
// the n-th reset mail to it (other mails may come between, in any order).
func resetToken(t *testing.T, p *portal, mp *mailpittest.Server, email string, n int) string {
	t.Helper()
	res := p.do(request{method: "POST", path: "/api/password-reset", body: map[string]any{"email": email}})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/password-reset = %d %s; want 202", res.StatusCode, res.Body)
	}
	var resets []mailpittest.Message
	for deadline := time.Now().Add(10 * time.Second); len(resets) < n; time.Sleep(50 * time.Millisecond) {
		resets = resets[:0]
		for _, m := range mp.To(t, email) {
			if m.Subject == "Reset your password" {
				resets = append(resets, m)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reset mails to %s; want %d", len(resets), email, n)
		}
	}
	m := resets[n-1]
	got := resetLink.FindStringSubmatch(m.Text)
	if got == nil || !strings.Contains(m.HTML, got[0]) {
		t.Fatalf("no reset link in both parts of the mail:\n%s", m.Text)
	}
	leaks.secret("reset link token", got[1])
	return got[1]
}

func completeReset(p *portal, token, password string, extra map[string]any) *response {
	body := map[string]any{"token": token, "newPassword": password}
	for k, v := range extra {
		body[k] = v
	}
	return p.do(request{method: "POST", path: "/api/password-reset/complete", body: body})
}

// TestPasswordReset: the whole flow by mail — the link ends every session
// and token and sets the password; it works once, a newer link voids it,
// an expired one is refused, and a person with a second factor must pass
// it too.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	const ann = "ann@example.com"
	p.addUser(ann)
	a, b := p.login(ann), p.login(ann)
	tokens := p.issueTokens(a)

	token := resetToken(t, p, mp, ann, 1)
	if res := p.do(request{method: "GET", path: "/reset/" + token}); res.StatusCode != http.StatusOK ||
		!strings.Contains(string(res.Body), ann) || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("GET /reset/TOKEN = %d, Referrer-Policy %q; want 200, the account named, no referrer", res.StatusCode, res.Header.Get("Referrer-Policy"))
	}
	if res := completeReset(p, token, "short", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a weak new password = %d; want 422", res.StatusCode)
	}
	res := completeReset(p, token, newPassword, nil)
	if res.StatusCode != http.StatusOK || res.json(t)["revokedSessions"] != 2.0 {
		t.Fatalf("completing the reset = %d %s; want 200 ending 2 sessions", res.StatusCode, res.Body)
	}
	for _, s := range []string{a, b} {
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("a session after the reset = %d; want 401", got)
		}
	}
	p.bearerDead("an access token after the reset", tokens.access)
	p.refreshDead("a refresh token after the reset", tokens.refresh)
	if got := p.loginAs(ann, testPassword, nil, false).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("sign-in with the old password = %d; want 401", got)
	}
	p.loginSecret(ann, newPassword)
	if res := completeReset(p, token, "another-long-password-1", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("the link used a second time = %d; want 400", res.StatusCode)
	}
	if res := p.do(request{method: "GET", path: "/reset/" + token}); res.StatusCode != http.StatusGone {
		t.Errorf("GET of a used link = %d; want 410", res.StatusCode)
	}
	mp.Wait(t, ann, 2, 10*time.Second) // the alert that the password changed
	if n := len(p.auditEvents("--user", ann, "--type", "password.reset_requested")); n != 1 {
		t.Errorf("password.reset_requested events: %d; want 1", n)
	}

	// A newer link voids the older; the older stays dead. (Another
	// person: three links per address typed within the window.)
	const dan = "dan@example.com"
	p.addUser(dan)
	first := resetToken(t, p, mp, dan, 1)
	second := resetToken(t, p, mp, dan, 2)
	if res := completeReset(p, first, "first-link-password-1", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("the older of two links = %d; want 400", res.StatusCode)
	}
	// A password changed another way voids the link too.
	s := p.login(dan)
	p.do(request{method: "POST", path: "/api/account/password", cookie: s,
		body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
	if res := completeReset(p, second, "second-link-password-1", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a link after the password changed = %d; want 400", res.StatusCode)
	}

	// Expired: the link's row says so (30 minutes are not waited for).
	expired := resetToken(t, p, mp, dan, 3)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(p.DataDir, "lacop.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE links SET expires_at = ?`, time.Now().Add(-time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if res := completeReset(p, expired, "expired-link-password-1", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an expired link = %d; want 400", res.StatusCode)
	}
	if got := p.loginAs(dan, newPassword, nil, false).StatusCode; got != http.StatusOK {
		t.Errorf("sign-in with the password from before the dead links = %d; want 200", got)
	}

	// With a second factor, the mailbox alone is not enough.
	const bob = "bob@example.com"
	p.addUser(bob)
	e := p.enrolTOTP(p.login(bob))
	token = resetToken(t, p, mp, bob, 1)
	if res := p.do(request{method: "GET", path: "/reset/" + token}); !strings.Contains(string(res.Body), `name="code"`) {
		t.Error("the reset page of a person with a second factor asks for no code")
	}
	if res := completeReset(p, token, newPassword, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a reset without the code = %d; want 400", res.StatusCode)
	}
	if res := completeReset(p, token, newPassword, map[string]any{"code": e.auth.wrong()}); res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusBadRequest {
		t.Errorf("a reset with a wrong code = %d; want refused", res.StatusCode)
	}
	if got := p.meStatus(e.secret); got != http.StatusOK {
		t.Errorf("bob's session after refused resets = %d; want 200 (nothing changed)", got)
	}
	if res := completeReset(p, token, newPassword, map[string]any{"code": e.auth.next()}); res.StatusCode != http.StatusOK {
		t.Fatalf("a reset with the code = %d %s", res.StatusCode, res.Body)
	}
	if got := p.meStatus(e.secret); got != http.StatusUnauthorized {
		t.Errorf("bob's session after the reset = %d; want 401", got)
	}
	if lines := p.auditEvents("--user", bob, "--type", "second_factor.failed"); len(lines) != 1 {
		t.Errorf("second_factor.failed events for the wrong code: %d; want 1 (counted like any code)", len(lines))
	}
}

// TestPasswordResetSameAnswer: a reset request for an address nobody has
// gets the same status and words as one for an account, in about the same
// time (the link is made after the answer), and requests are throttled
// per address typed, for unknown addresses too.
func TestPasswordResetSameAnswer(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp)+"regulation:\n  max_failures_per_ip: 1000\n")
	// Each request counts against its typed address; use fresh ones.
	p.addUser("admin@example.com", "--admin")
	admin := p.login("admin@example.com")
	var known, unknown []time.Duration
	var bodies []string
	for i := range 50 {
		email := fmt.Sprintf("known%d@example.com", i)
		if res := p.do(request{method: "POST", path: "/api/admin/users", cookie: admin,
			body: map[string]any{"email": email, "password": testPassword}}); res.StatusCode != http.StatusCreated {
			t.Fatalf("create %s = %d %s", email, res.StatusCode, res.Body)
		}
		for _, tt := range []struct {
			email string
			into  *[]time.Duration
		}{{email, &known}, {fmt.Sprintf("nobody%d@example.com", i), &unknown}} {
			start := time.Now()
			res := p.do(request{method: "POST", path: "/api/password-reset", body: map[string]any{"email": tt.email}})
			*tt.into = append(*tt.into, time.Since(start))
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("reset request for %s = %d %s", tt.email, res.StatusCode, res.Body)
			}
			bodies = append(bodies, string(res.Body))
		}
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("answers differ: %q and %q", bodies[0], b)
		}
	}
	slices.Sort(known)
	slices.Sort(unknown)
	mk, mu := known[len(known)/2], unknown[len(unknown)/2]
	t.Logf("median answer: %v for accounts, %v for unknown addresses (50 each); p90 %v and %v", mk, mu, known[45], unknown[45])
	if diff := mk - mu; diff > 5*time.Millisecond || diff < -5*time.Millisecond {
		t.Errorf("median answer %v for accounts against %v for unknown addresses: the time tells them apart", mk, mu)
	}
	mp.Wait(t, "known49@example.com", 1, 20*time.Second)
	if n := len(mp.To(t, "nobody0@example.com")); n != 0 {
		t.Errorf("an unknown address received %d mails", n)
	}

	// Per typed address: the fourth request within the window is refused,
	// known or not.
	for _, email := range []string{"known0@example.com", "nobody0@example.com"} {
		var last int
		for range 3 {
			last = p.do(request{method: "POST", path: "/api/password-reset", body: map[string]any{"email": email}}).StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("the 4th reset request for %s = %d; want 429", email, last)
		}
	}
}

// TestPasswordResetWithoutMail: without smtp.url the page says to ask an
// administrator and the API refuses; the operator's link works.
func TestPasswordResetWithoutMail(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("cid@example.com")
	s := p.login("cid@example.com")
	if res := p.do(request{method: "GET", path: "/reset"}); !strings.Contains(string(res.Body), "Ask your administrator") {
		t.Error("the reset page without mail does not say to ask an administrator")
	}
	if res := p.do(request{method: "POST", path: "/api/password-reset", body: map[string]any{"email": "cid@example.com"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a reset request without mail = %d; want 403", res.StatusCode)
	}
	out := p.cliOK("", "user", "reset-link", "cid@example.com")
	m := resetLink.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lacop user reset-link printed %q; want a link", out)
	}
	leaks.secret("reset link token", m[1])
	if res := completeReset(p, m[1], newPassword, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the operator's link = %d %s", res.StatusCode, res.Body)
	}
	if got := p.meStatus(s); got != http.StatusUnauthorized {
		t.Errorf("the session after the reset = %d; want 401", got)
	}
	p.loginSecret("cid@example.com", newPassword)
	if strings.Contains(p.out.String(), m[1]) {
		t.Error("the reset link is in the server's log")
	}
}
