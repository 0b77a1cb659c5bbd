package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/mail/mailpittest"
	"github.com/lacop/lacop/postgres/pgtest"
)

var verifyLink = regexp.MustCompile(`/verify-email/([A-Za-z0-9_-]{43})\b`)

// mailConfig points lacop at mp, a relay on the loopback.
func mailConfig(mp *mailpittest.Server) string {
	return fmt.Sprintf("smtp:\n  url: smtp://%s?starttls=false\n  from: lacop <auth@example.com>\n", mp.SMTPAddr())
}

// TestSecurityAlerts: each security alert reaches the person through a
// real SMTP server, in text and HTML, with the time, address and browser
// of what happened, and the queueing is in the audit log. An email change
// is told to the old address.
func TestSecurityAlerts(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	ua := map[string]string{"User-Agent": browser}
	wait := func(to string, n int, subject string) mailpittest.Message {
		t.Helper()
		got := mp.Wait(t, to, n, 10*time.Second)
		m := got[n-1]
		if m.Subject != subject {
			t.Errorf("mail %d to %s: %q; want %q", n, to, m.Subject, subject)
		}
		return m
	}

	p.addUser("ann@example.com")
	secret := p.loginSecretWith("ann@example.com", testPassword, ua)
	// This test is about the alerts that cannot be turned off: the
	// new-sign-in mails its API sign-ins (no device cookie) would bring
	// are turned off (TestNewSignInAlert is about those).
	if res := p.do(request{method: "POST", path: "/security/alerts", cookie: secret, body: "newSignIn=",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}); res.StatusCode != 303 {
		t.Fatalf("turning new-sign-in mails off = %d %s", res.StatusCode, res.Body)
	}
	res := p.do(request{method: "POST", path: "/api/account/password", cookie: secret, header: ua,
		body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
	if res.StatusCode != 200 {
		t.Fatalf("password change = %d %s", res.StatusCode, res.Body)
	}
	m := wait("ann@example.com", 1, "Your password was changed")
	for _, want := range []string{"127.0.0.1", "Firefox on Linux", "/reset", " UTC"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("the password alert lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "administrator.") && strings.Contains(m.Text, "by an administrator") {
		t.Errorf("a change the person made says an administrator did it:\n%s", m.Text)
	}

	// The operator's reset says who did it.
	p.cliOK(testPassword+"\n", "user", "passwd", "ann@example.com", "--password-stdin")
	m = wait("ann@example.com", 2, "Your password was changed")
	if !strings.Contains(m.Text, "by an administrator") || !strings.Contains(m.Text, "lacop command line") {
		t.Errorf("the operator's reset does not say who did it:\n%s", m.Text)
	}

	// Second factor on and off.
	secret = p.loginSecretWith("ann@example.com", testPassword, ua)
	e := p.enrolTOTP(secret)
	wait("ann@example.com", 3, "A second factor was added to your account")
	res = p.do(request{method: "DELETE", path: "/api/account/totp", cookie: e.secret, header: ua, body: map[string]any{"password": testPassword}})
	if res.StatusCode != 200 && res.StatusCode != 204 {
		t.Fatalf("DELETE /api/account/totp = %d %s", res.StatusCode, res.Body)
	}
	wait("ann@example.com", 4, "The second factor of your account was removed")

	// Signed out everywhere.
	secret = p.loginSecretWith("ann@example.com", testPassword, ua)
	p.login("ann@example.com")
	p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: secret, header: ua, body: map[string]any{"keepCurrent": false}})
	m = wait("ann@example.com", 5, "Your account was signed out everywhere")
	if !strings.Contains(m.Text, ": 3 session(s) ended") {
		t.Errorf("the sign-out alert does not count the sessions:\n%s", m.Text)
	}

	// A refresh token used twice.
	secret = p.loginSecretWith("ann@example.com", testPassword, ua)
	pair := p.issueTokens(secret)
	p.refreshOK(pair.refresh)
	p.refreshDead("the spent refresh token", pair.refresh)
	wait("ann@example.com", 6, "A session of your account was ended: a token was used twice")

	// Guesses: the account is paused, once.
	for range 6 {
		p.loginAs("ann@example.com", "wrong-password-guess", nil, false)
	}
	m = wait("ann@example.com", 7, "Sign-ins to your account are paused")
	if !strings.Contains(m.Text, "wrong passwords") {
		t.Errorf("the lock alert does not say what was guessed:\n%s", m.Text)
	}

	// The email change is confirmed at the new address, then told to the
	// old one.
	p.addUser("bob@example.com")
	bob := p.loginSecretWith("bob@example.com", testPassword, ua)
	res = p.do(request{method: "POST", path: "/api/account/email", cookie: bob, header: ua,
		body: map[string]any{"password": testPassword, "newEmail": "robert@example.com"}})
	if res.StatusCode != 202 {
		t.Fatalf("email change = %d %s; want 202 (waiting for the new address)", res.StatusCode, res.Body)
	}
	verify := wait("robert@example.com", 1, "Confirm your new email address")
	link := verifyLink.FindStringSubmatch(verify.Text)
	if link == nil {
		t.Fatalf("no confirmation link in:\n%s", verify.Text)
	}
	leaks.secret("email confirmation link token", link[1])
	p.do(request{method: "POST", path: "/verify-email/" + link[1], header: ua})
	m = wait("bob@example.com", 1, "Your account's email address was changed")
	if !strings.Contains(m.Text, "robert@example.com") {
		t.Errorf("the old address is not told the new one:\n%s", m.Text)
	}

	time.Sleep(500 * time.Millisecond) // nothing more is on its way
	if n := len(mp.To(t, "ann@example.com")); n != 7 {
		t.Errorf("ann received %d mails; want 7 (one per alert)", n)
	}
	if n := len(mp.To(t, "robert@example.com")); n != 1 {
		t.Errorf("the new address received %d mails; want 1 (the confirmation)", n)
	}
	if n := len(p.auditEvents("--type", "mail.queued")); n != 9 {
		t.Errorf("mail.queued events: %d; want 9", n)
	}
}

// TestMailSurvivesOutages: a mail whose SMTP server is down is retried
// until the server is back; one queued just before lacop is killed is
// sent by the restarted process; neither is sent twice.
func TestMailSurvivesOutages(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	changePassword := func(email string) {
		t.Helper()
		p.addUser(email)
		secret := p.login(email)
		res := p.do(request{method: "POST", path: "/api/account/password", cookie: secret,
			body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
		if res.StatusCode != 200 {
			t.Fatalf("password change = %d %s", res.StatusCode, res.Body)
		}
	}

	mp.Down()
	changePassword("down@example.com")
	time.Sleep(2500 * time.Millisecond) // a few attempts fail
	mp.Up()
	mp.Wait(t, "down@example.com", 1, 30*time.Second)

	mp.Down()
	changePassword("killed@example.com")
	p.cmd.Process.Kill()
	p.cmd.Wait()
	mp.Up()
	p.cmd = exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, p.dataArgs()...)...)
	p.cmd.Env = cleanEnv()
	p = restart(t, p)
	// One claimed by the killed process waits out its lease (35 s with mail).
	mp.Wait(t, "killed@example.com", 1, 50*time.Second)

	time.Sleep(1500 * time.Millisecond)
	for _, to := range []string{"down@example.com", "killed@example.com"} {
		if n := len(mp.To(t, to)); n != 1 {
			t.Errorf("%s received %d mails; want exactly one", to, n)
		}
	}
}

// TestMailScaleOut: two instances on one PostgreSQL, each running an
// outbox sender, send each mail once, whichever instance queued it.
func TestMailScaleOut(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	nodes := startInstances(t, 2, fmt.Sprintf("storage:\n  driver: postgres\n  postgres_url: %q\n", pgtest.NewDatabase(t))+mailConfig(mp))
	const people = 20
	for i := range people {
		p := nodes[i%2]
		email := fmt.Sprintf("scale%d@example.com", i)
		p.addUser(email)
		secret := p.login(email)
		p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: secret, body: map[string]any{"keepCurrent": false}})
	}
	for i := range people {
		mp.Wait(t, fmt.Sprintf("scale%d@example.com", i), 1, 20*time.Second)
	}
	time.Sleep(2 * time.Second)
	if got := len(mp.Messages(t)); got != people {
		t.Errorf("%d mails for %d sign-outs everywhere; want each once", got, people)
	}
}

// TestVerifiedEmailChange: with mail, a change of address waits for the
// link mailed to the new address; opening it shows what it will do and
// changes nothing; confirming changes the address, keeps the asking
// browser signed in under a fresh secret, ends the other sessions and
// tells the old address; the link works once and a newer request voids
// an older one.
func TestVerifiedEmailChange(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	p.addUser("cara@example.com")
	a, b := p.login("cara@example.com"), p.login("cara@example.com")
	ask := func(to string, n int) string {
		t.Helper()
		res := p.do(request{method: "POST", path: "/api/account/email", cookie: a,
			body: map[string]any{"password": testPassword, "newEmail": to}})
		if res.StatusCode != 202 || res.json(t)["pending"] != true {
			t.Fatalf("email change = %d %s; want 202 pending", res.StatusCode, res.Body)
		}
		m := mp.Wait(t, to, n, 10*time.Second)[n-1]
		link := verifyLink.FindStringSubmatch(m.Text)
		if link == nil {
			t.Fatalf("no confirmation link in:\n%s", m.Text)
		}
		leaks.secret("email confirmation link token", link[1])
		return link[1]
	}
	older := ask("cara.old-typo@example.com", 1)
	token := ask("cara.new@example.com", 1)
	if user, _ := p.me(a); user["email"] != "cara@example.com" {
		t.Errorf("the address before confirmation = %v; want unchanged", user["email"])
	}
	if got := p.meStatus(b); got != 200 {
		t.Errorf("another session before confirmation = %d; want 200 (nothing ends yet)", got)
	}
	res := p.do(request{method: "GET", path: "/verify-email/" + token})
	if res.StatusCode != 200 || !strings.Contains(string(res.Body), "cara.new@example.com") {
		t.Errorf("GET of the link = %d; want 200 naming the new address", res.StatusCode)
	}
	if user, _ := p.me(a); user["email"] != "cara@example.com" {
		t.Error("opening the link changed the address; only the button may")
	}
	if res := p.do(request{method: "POST", path: "/verify-email/" + older}); res.StatusCode != 410 {
		t.Errorf("the older link = %d; want 410 (a newer request voids it)", res.StatusCode)
	}
	res = p.do(request{method: "POST", path: "/verify-email/" + token, cookie: a})
	fresh := sessionCookie(res.Response)
	if res.StatusCode != 303 || fresh == nil || fresh.Value == "" || fresh.Value == a {
		t.Fatalf("confirming = %d, cookie %v; want 303 and a fresh secret for the asking browser", res.StatusCode, fresh)
	}
	leaks.secret("session secret", fresh.Value)
	if user, _ := p.me(fresh.Value); user["email"] != "cara.new@example.com" {
		t.Errorf("the address after confirmation = %v", user["email"])
	}
	for name, s := range map[string]string{"the asking session's old secret": a, "another session": b} {
		if got := p.meStatus(s); got != 401 {
			t.Errorf("%s after the change = %d; want 401", name, got)
		}
	}
	if got := p.loginAs("cara.new@example.com", testPassword, nil, false).StatusCode; got != 200 {
		t.Errorf("sign-in with the new address = %d", got)
	}
	// The old address is told (among any new-sign-in mails it got, which
	// the outbox may deliver in either order).
	told := false
	for deadline := time.Now().Add(10 * time.Second); !told && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range mp.To(t, "cara@example.com") {
			told = told || m.Subject == "Your account's email address was changed"
		}
	}
	if !told {
		t.Errorf("the old address was not told of the change: %v", mp.To(t, "cara@example.com"))
	}
	if res := p.do(request{method: "POST", path: "/verify-email/" + token}); res.StatusCode != 410 {
		t.Errorf("the link used twice = %d; want 410", res.StatusCode)
	}
}
