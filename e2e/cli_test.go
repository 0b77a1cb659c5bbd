package e2e

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFirstAdminSetup: an empty portal prints a one-time link; it creates
// the first admin once and then dies.
func TestFirstAdminSetup(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	m := regexp.MustCompile(`/setup\?token=([A-Za-z0-9_%-]+)`).FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no setup link printed:\n%s", p.out.String())
	}
	token, _ := url.QueryUnescape(m[1])
	if res := p.do(request{method: "GET", path: "/setup?token=" + url.QueryEscape(token)}); res.StatusCode != http.StatusOK {
		t.Fatalf("GET setup link = %d", res.StatusCode)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	submit := func(pw string) *response {
		return p.do(request{method: "POST", path: "/setup", header: form, body: url.Values{
			"token": {token}, "email": {"root@example.com"}, "name": {"Root"},
			"password": {pw}, "passwordConfirm": {pw}}.Encode()})
	}
	if res := submit("short"); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("setup with a weak password = %d; want 422", res.StatusCode)
	}
	res := submit(testPassword)
	if res.StatusCode != http.StatusSeeOther || sessionCookie(res.Response) == nil {
		t.Fatalf("setup = %d %v; want 303 with a session", res.StatusCode, res.Header["Set-Cookie"])
	}
	me := p.do(request{method: "GET", path: "/api/me", cookie: sessionCookie(res.Response).Value}).json(t)
	if u, _ := me["user"].(map[string]any); u["admin"] != true || u["email"] != "root@example.com" {
		t.Errorf("setup created %v; want an admin root@example.com", me["user"])
	}
	if res := submit(testPassword + "x"); res.StatusCode != http.StatusNotFound {
		t.Errorf("second use of the setup link = %d; want 404", res.StatusCode)
	}
	if res := p.do(request{method: "GET", path: "/setup?token=" + url.QueryEscape(token)}); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET a used setup link = %d; want 404", res.StatusCode)
	}
	if n := len(p.auditEvents("--type", "user.created")); n != 1 {
		t.Errorf("user.created events = %d; want 1", n)
	}
}

// TestUserCommands: duplicates and weak passwords fail with one line; passwd
// and disable end every session at once while serve runs.
func TestUserCommands(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("max@example.com")

	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"duplicate", testPassword + "\n", []string{"user", "add", "MAX@example.com", "--password-stdin"}, "already exists"},
		{"weak", "password\n", []string{"user", "add", "new@example.com", "--password-stdin"}, "too weak"},
		{"bad email", testPassword + "\n", []string{"user", "add", "not-an-email", "--password-stdin"}, "not a valid"},
		{"no stdin flag", "", []string{"user", "add", "x@example.com"}, "--password-stdin"},
		{"unknown user", testPassword + "\n", []string{"user", "passwd", "who@example.com", "--password-stdin"}, "no user"},
	} {
		out, err := p.cli(tt.stdin, tt.args...)
		if err == nil {
			t.Errorf("%s: succeeded; want a non-zero exit", tt.name)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(out, tt.want) {
			t.Errorf("%s: output %q; want one line containing %q", tt.name, out, tt.want)
		}
	}

	a, b := p.login("max@example.com"), p.login("max@example.com")
	const newPassword = "another-long-passphrase"
	if out, err := p.cli(newPassword+"\n", "user", "passwd", "max@example.com", "--password-stdin"); err != nil {
		t.Fatalf("passwd: %v %s", err, out)
	}
	for _, s := range []string{a, b} {
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("session after passwd: /api/me = %d; want 401", got)
		}
	}
	res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": "max@example.com", "password": newPassword}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login with the new password = %d", res.StatusCode)
	}
	c := sessionCookie(res.Response).Value
	if out, err := p.cli("", "user", "disable", "max@example.com"); err != nil {
		t.Fatalf("disable: %v %s", err, out)
	}
	if got := p.meStatus(c); got != http.StatusUnauthorized {
		t.Errorf("session after disable: /api/me = %d; want 401", got)
	}
	res = p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": "max@example.com", "password": newPassword}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user login = %d; want 401", res.StatusCode)
	}
	if n := len(p.auditEvents("--type", "user.disabled")); n != 1 {
		t.Errorf("user.disabled events = %d; want 1", n)
	}
}

// TestSessionCommands: session list and revoke act on the running portal.
func TestSessionCommands(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ned@example.com")
	p.addUser("ola@example.com")
	n1, n2, o := p.login("ned@example.com"), p.login("ned@example.com"), p.login("ola@example.com")
	lines := p.sessionLines("--user", "ned@example.com")
	if len(lines) != 2 {
		t.Fatalf("session list --user = %q; want 2 sessions", lines)
	}
	for _, l := range lines {
		if strings.Contains(l, n1) || strings.Contains(l, n2) {
			t.Fatalf("session list shows a secret: %q", l)
		}
	}
	id := strings.Fields(lines[0])[0]
	if out, err := p.cli("", "session", "revoke", id); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	alive := 0
	for _, s := range []string{n1, n2} {
		if p.meStatus(s) == http.StatusOK {
			alive++
		}
	}
	if alive != 1 {
		t.Errorf("after revoking one of two sessions, %d alive; want 1", alive)
	}
	if out, err := p.cli("", "session", "revoke", id); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("revoking it again: %v %q; want a not-found error", err, out)
	}
	if out, err := p.cli("", "session", "revoke", "--user", "ned@example.com"); err != nil || !strings.Contains(out, "ended 1") {
		t.Fatalf("revoke --user: %v %q", err, out)
	}
	if p.meStatus(n1) != http.StatusUnauthorized || p.meStatus(n2) != http.StatusUnauthorized {
		t.Error("a session of ned survived revoke --user")
	}
	if p.meStatus(o) != http.StatusOK {
		t.Error("revoke --user ended another user's session")
	}
}

// TestAuditEvents: sign-ins, failures and sign-outs are recorded with time,
// IP, user agent and public session id, and never a secret.
func TestAuditEvents(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("pia@example.com")
	ua := map[string]string{"User-Agent": "e2e-agent/1.0"}
	p.do(request{method: "POST", path: "/api/login", header: ua, body: map[string]any{"email": "pia@example.com", "password": "wrong-password-x"}})
	res := p.do(request{method: "POST", path: "/api/login", header: ua, body: map[string]any{"email": "pia@example.com", "password": testPassword}})
	secret := sessionCookie(res.Response).Value
	sid := p.do(request{method: "GET", path: "/api/me", cookie: secret}).json(t)["session"].(map[string]any)["id"].(string)
	p.do(request{method: "POST", path: "/api/logout", header: ua, cookie: secret})

	out := p.auditOutput("--user", "pia@example.com")
	for _, typ := range []string{"login.failed", "login.succeeded", "logout", "user.created"} {
		if !strings.Contains(out, typ) {
			t.Errorf("audit lacks %s:\n%s", typ, out)
		}
	}
	for _, l := range p.auditEvents("--user", "pia@example.com", "--type", "logout") {
		if !strings.Contains(l, sid) || !strings.Contains(l, "127.0.0.1") || !strings.Contains(l, "e2e-agent/1.0") {
			t.Errorf("logout event %q lacks session id, IP or user agent", l)
		}
	}
	if all := p.auditOutput("--limit", "1000"); strings.Contains(all, secret) || strings.Contains(all, testPassword) || strings.Contains(all, "wrong-password-x") {
		t.Error("the audit log contains a secret or a password")
	}
	if strings.Contains(p.out.String(), secret) || strings.Contains(p.out.String(), testPassword) {
		t.Error("the server log contains a secret or a password")
	}
	if got := p.auditEvents("--since", "1h", "--type", "login.succeeded"); len(got) != 1 {
		t.Errorf("audit --since 1h --type login.succeeded = %d events; want 1", len(got))
	}
}

// TestConfigErrors: config check names every bad key; serve refuses to start
// on a bad config; environment and flags override the file.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sesion:\n  lifetime: 1h\nsession:\n  inactivity_timeout: soon\nstorage:\n  driver: mysql\nlisten: nowhere\n"), 0o600)
	out, err := exec.Command(binary, "config", "check", "--config", bad).CombinedOutput()
	if err == nil {
		t.Fatal("config check of a bad file succeeded")
	}
	for _, key := range []string{"sesion", "session.inactivity_timeout", "storage.driver", "listen"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("config check output lacks %q:\n%s", key, out)
		}
	}
	cmd := exec.Command(binary, "serve", "--config", bad, "--data", filepath.Join(dir, "data"))
	cmd.Env = cleanEnv()
	done := make(chan error, 1)
	var serveOut []byte
	go func() { var err error; serveOut, err = cmd.CombinedOutput(); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(string(serveOut), "session.inactivity_timeout") {
			t.Errorf("serve with a bad config: %v %s; want a refusal naming the key", err, serveOut)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve started with a bad config")
	}

	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("session:\n  inactivity_timeout: 10m\n"), 0o600)
	check := exec.Command(binary, "config", "check", "--config", good)
	check.Env = append(cleanEnv(), "LACOP_SESSION_INACTIVITY_TIMEOUT=nope")
	if out, err := check.CombinedOutput(); err == nil || !strings.Contains(string(out), "LACOP_SESSION_INACTIVITY_TIMEOUT") {
		t.Errorf("env should override the file and be checked: %v %s", err, out)
	}
	check = exec.Command(binary, "config", "check", "--config", good, "--listen", "bad")
	if out, err := check.CombinedOutput(); err == nil || !strings.Contains(string(out), "listen") {
		t.Errorf("a bad --listen should be reported: %v %s", err, out)
	}
}

// TestEnvAndFlagsApply: values from the environment reach the running
// portal, and flags win over the environment.
func TestEnvAndFlagsApply(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "session:\n  inactivity_timeout: 1h\n")
	p.addUser("quinn@example.com")
	p.stop()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, p.dataArgs()...)...)
	cmd.Env = append(cleanEnv(), "LACOP_SESSION_INACTIVITY_TIMEOUT=7m", "LACOP_LISTEN=203.0.113.1:9")
	p.cmd = cmd
	restarted := restart(t, p)
	secret := restarted.login("quinn@example.com")
	sess := restarted.do(request{method: "GET", path: "/api/me", cookie: secret}).json(t)["session"].(map[string]any)
	last, _ := time.Parse(time.RFC3339Nano, sess["lastActiveAt"].(string))
	exp, _ := time.Parse(time.RFC3339Nano, sess["expiresAt"].(string))
	if got := exp.Sub(last); got != 7*time.Minute {
		t.Errorf("expiresAt - lastActiveAt = %v; want 7m from LACOP_SESSION_INACTIVITY_TIMEOUT", got)
	}
}

// TestDataDirNotOurs: a data dir holding a database that is not lacop's, or
// a file where the data dir should be, is refused and left untouched.
func TestDataDirNotOurs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	junk := []byte("this is not a database, it is somebody's notes\n")
	dbFile := filepath.Join(data, "lacop.db")
	os.WriteFile(dbFile, junk, 0o600)
	asFile := filepath.Join(dir, "file")
	os.WriteFile(asFile, junk, 0o600)
	for _, d := range []string{data, asFile} {
		out, err := exec.Command(binary, "user", "add", "x@example.com", "--password-stdin", "--data", d).CombinedOutput()
		if err == nil {
			t.Errorf("--data %s: accepted: %s", d, out)
		}
	}
	for _, f := range []string{dbFile, asFile} {
		if got, _ := os.ReadFile(f); string(got) != string(junk) {
			t.Errorf("%s was changed", f)
		}
	}
}
