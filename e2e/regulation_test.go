package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// auditIP is the IP column of a lacop audit line (the Go client's user
// agent has no spaces, so the columns split on white space).
func auditIP(line string) string {
	f := strings.Fields(line)
	if len(f) < 6 {
		return ""
	}
	return f[5]
}

// typedLines are the lines of lacop audit --type typ.
func (p *portal) typedLines(typ string) []string {
	p.t.Helper()
	var out []string
	for _, l := range p.auditEvents("--type", typ, "--limit", "1000") {
		if auditType(l) == typ {
			out = append(out, l)
		}
	}
	return out
}

// noCookie fails when a refused sign-in set a session cookie.
func noCookie(t *testing.T, what string, res *response) {
	t.Helper()
	if c := sessionCookie(res.Response); c != nil && c.Value != "" {
		t.Errorf("%s set a session cookie", what)
	}
}

// TestRegulationBan: the sixth failure in the window is refused with 429
// and Retry-After, the right password is refused too during the ban, an
// unknown account is treated exactly the same, login.throttled is recorded,
// and after the ban the right password signs in.
func TestRegulationBan(t *testing.T) {
	// The ban outlasts the attempts around it even when each password
	// check takes seconds (argon2id under the race detector).
	p := startPortal(t, "regulation:\n  max_failures: 5\n  window: 1m\n  ban: 15s\n")
	const known, unknown = "reg@example.com", "ghost@example.com"
	p.addUser(known)
	const wrong = "wrong-password-for-this-test"

	for i := range 5 {
		k := p.loginAs(known, wrong, nil, false)
		u := p.loginAs(unknown, wrong, nil, false)
		wantError(t, fmt.Sprintf("wrong password %d", i+1), k, http.StatusUnauthorized, "invalid_credentials")
		wantError(t, fmt.Sprintf("unknown account %d", i+1), u, http.StatusUnauthorized, "invalid_credentials")
		if string(k.Body) != string(u.Body) {
			t.Errorf("failure %d: known account %s, unknown %s; want the same body", i+1, k.Body, u.Body)
		}
	}
	k := p.loginAs(known, wrong, nil, false)
	u := p.loginAs(unknown, wrong, nil, false)
	wait := wantThrottled(t, "sixth attempt on a known account", k, 15)
	wait = max(wait, wantThrottled(t, "sixth attempt on an unknown account", u, 15))
	if string(k.Body) != string(u.Body) {
		t.Errorf("throttled: known account %s, unknown %s; want the same body", k.Body, u.Body)
	}
	noCookie(t, "a throttled attempt", k)
	right := p.loginAs(known, testPassword, nil, false)
	wantThrottled(t, "the right password during the ban", right, 15)
	noCookie(t, "the right password during the ban", right)

	emails := map[string]bool{}
	for _, l := range p.typedLines("login.throttled") {
		emails[auditDetail(l)["email"]] = true
	}
	if !emails[known] || !emails[unknown] {
		t.Errorf("login.throttled events name %v; want %s and %s", emails, known, unknown)
	}
	if n := len(p.typedLines("login.failed")); n != 10 {
		t.Errorf("%d login.failed events; want 10 (throttled attempts are not failures)", n)
	}

	time.Sleep(time.Duration(wait)*time.Second + 200*time.Millisecond)
	res := p.loginAs(known, testPassword, nil, false)
	if res.StatusCode != http.StatusOK || sessionCookie(res.Response) == nil {
		t.Fatalf("the right password after the ban = %d %s; want 200", res.StatusCode, res.Body)
	}
	if got := p.meStatus(sessionCookie(res.Response).Value); got != http.StatusOK {
		t.Errorf("session signed in after the ban = %d; want 200", got)
	}
	wantError(t, "unknown account after the ban", p.loginAs(unknown, wrong, nil, false), http.StatusUnauthorized, "invalid_credentials")
}

// TestRegulationPerIP: failures on different accounts from one address add
// up; past max_failures_per_ip that address is refused for every account,
// the right password included.
func TestRegulationPerIP(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 100\n  max_failures_per_ip: 4\n  window: 1m\n  ban: 1m\n")
	for i := 1; i <= 5; i++ {
		p.addUser(fmt.Sprintf("ip%d@example.com", i))
	}
	for i := 1; i <= 4; i++ {
		wantError(t, fmt.Sprintf("wrong password for ip%d", i), p.loginAs(fmt.Sprintf("ip%d@example.com", i), "wrong-password-here", nil, false),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "fifth account from the same address, right password", p.loginAs("ip5@example.com", testPassword, nil, false), 60)
	wantThrottled(t, "an unknown account from the same address", p.loginAs("nobody@example.com", "wrong-password-here", nil, false), 60)
	if lines := p.typedLines("login.throttled"); len(lines) != 2 {
		t.Errorf("%d login.throttled events; want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// spoofHeaders are client-chosen forwarding headers naming address n.
func spoofHeaders(n int) map[string]string {
	a := fmt.Sprintf("198.51.100.%d", n%250+1)
	return map[string]string{
		"X-Forwarded-For": fmt.Sprintf("%s, 2001:db8::%x", a, n+1),
		"X-Real-IP":       a,
		"Forwarded":       "for=" + a,
	}
}

// TestForwardedForUntrusted: with no trusted proxies, X-Forwarded-For (and
// its cousins) is ignored: the recorded address is the peer's, and rotating
// the header neither dodges the account ban nor the address ban.
func TestForwardedForUntrusted(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 3\n  max_failures_per_ip: 6\n  window: 1m\n  ban: 1m\n")
	for _, u := range []string{"xff", "b", "c", "d", "e"} {
		p.addUser(u + "@example.com")
	}
	n := 0
	spoof := func() map[string]string { n++; return spoofHeaders(n) }

	res := p.loginAs("xff@example.com", testPassword, spoof(), false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d %s", res.StatusCode, res.Body)
	}
	s := sessionCookie(res.Response).Value
	events, _ := p.activity(s, "")
	found := false
	for _, e := range events {
		if e.Type == "login.succeeded" {
			found = true
			if e.IP != "127.0.0.1" {
				t.Errorf("login.succeeded ip = %q with a spoofed X-Forwarded-For; want 127.0.0.1", e.IP)
			}
		}
	}
	if !found {
		t.Errorf("no login.succeeded event in the activity")
	}
	list, _ := p.sessionList(s)
	for _, sess := range list {
		if sess["ip"] != "127.0.0.1" {
			t.Errorf("session ip = %v with a spoofed X-Forwarded-For; want 127.0.0.1", sess["ip"])
		}
	}

	// The account ban holds whatever the header says.
	for i := range 3 {
		wantError(t, fmt.Sprintf("wrong password %d", i+1), p.loginAs("xff@example.com", "wrong-password-here", spoof(), false),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "fourth attempt with a new X-Forwarded-For", p.loginAs("xff@example.com", testPassword, spoof(), false), 60)

	// So does the address ban: 3 more failures on other accounts make 6.
	for _, u := range []string{"b", "c", "d"} {
		wantError(t, "wrong password for "+u, p.loginAs(u+"@example.com", "wrong-password-here", spoof(), false),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "another account from the banned address with a new X-Forwarded-For", p.loginAs("e@example.com", testPassword, spoof(), false), 60)

	for _, typ := range []string{"login.failed", "login.throttled"} {
		lines := p.typedLines(typ)
		if len(lines) == 0 {
			t.Errorf("no %s events", typ)
		}
		for _, l := range lines {
			if auditIP(l) != "127.0.0.1" {
				t.Errorf("%s recorded with ip %q; want 127.0.0.1:\n%s", typ, auditIP(l), l)
			}
		}
	}
}

// TestForwardedForTrusted: behind a trusted proxy the client address is the
// rightmost untrusted X-Forwarded-For entry; it is recorded, and address
// bans apply to it and to no other address.
func TestForwardedForTrusted(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "server:\n  trusted_proxies: [127.0.0.1/32]\nregulation:\n  max_failures: 100\n  max_failures_per_ip: 3\n  window: 1m\n  ban: 1m\n")
	const email = "tru@example.com"
	p.addUser(email)
	const client = "203.0.113.9"
	from := func(xff string) map[string]string {
		if xff == "" {
			return nil // the proxy's own request
		}
		return map[string]string{"X-Forwarded-For": xff}
	}

	res := p.loginAs(email, testPassword, from(client), false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d %s", res.StatusCode, res.Body)
	}
	s := sessionCookie(res.Response).Value
	events, _ := p.activity(s, "")
	found := false
	for _, e := range events {
		if e.Type == "login.succeeded" {
			found = true
			if e.IP != client {
				t.Errorf("login.succeeded ip = %q; want %s from X-Forwarded-For", e.IP, client)
			}
		}
	}
	if !found {
		t.Errorf("no login.succeeded event in the activity")
	}
	if list, _ := p.sessionList(s); len(list) != 1 || list[0]["ip"] != client {
		t.Errorf("session list %v; want one session with ip %s", list, client)
	}

	for i := range 3 {
		wantError(t, fmt.Sprintf("wrong password %d from %s", i+1, client),
			p.loginAs(fmt.Sprintf("w%d@example.com", i), "wrong-password-here", from(client), false),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "right password from the banned "+client, p.loginAs(email, testPassword, from(client), false), 60)
	wantThrottled(t, "banned client through two trusted hops", p.loginAs(email, testPassword, from(client+", 127.0.0.1"), false), 60)
	for _, xff := range []string{"198.51.100.7", client + ", 198.51.100.8", ""} {
		res := p.loginAs(email, testPassword, from(xff), false)
		if res.StatusCode != http.StatusOK {
			t.Errorf("right password with X-Forwarded-For %q = %d %s; want 200 (only %s is banned)", xff, res.StatusCode, res.Body, client)
		}
	}
	for _, l := range p.typedLines("login.failed") {
		if auditIP(l) != client {
			t.Errorf("login.failed recorded with ip %q; want %s", auditIP(l), client)
		}
	}
	lines := p.typedLines("login.throttled")
	if len(lines) != 2 {
		t.Errorf("%d login.throttled events; want 2", len(lines))
	}
	for _, l := range lines {
		if auditIP(l) != client {
			t.Errorf("login.throttled recorded with ip %q; want %s", auditIP(l), client)
		}
	}
}

// TestRegulationSurvivesRestart: counts and bans live in the store, so a
// restart neither lifts a ban nor forgets failures.
func TestRegulationSurvivesRestart(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 2\n  window: 10m\n  ban: 10m\n")
	p.addUser("bnd@example.com")
	p.addUser("cnt@example.com")
	const wrong = "wrong-password-here"
	for range 2 {
		wantError(t, "wrong password", p.loginAs("bnd@example.com", wrong, nil, false), http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "third attempt before the restart", p.loginAs("bnd@example.com", testPassword, nil, false), 600)
	wantError(t, "one failure before the restart", p.loginAs("cnt@example.com", wrong, nil, false), http.StatusUnauthorized, "invalid_credentials")

	p.stop()
	p.cmd = exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, p.dataArgs()...)...)
	p.cmd.Env = cleanEnv()
	q := restart(t, p)

	wantThrottled(t, "right password after the restart", q.loginAs("bnd@example.com", testPassword, nil, false), 600)
	wantError(t, "second failure after the restart", q.loginAs("cnt@example.com", wrong, nil, false), http.StatusUnauthorized, "invalid_credentials")
	wantThrottled(t, "third attempt across the restart", q.loginAs("cnt@example.com", testPassword, nil, false), 600)
}

// TestRegulationConcurrentGuesses: firing many guesses at once must not
// buy more than max_failures evaluated attempts in the window; the rest
// are refused with 429. (Checking the ban before a queued password hash
// and counting the failure only after it lets a burst through.)
func TestRegulationConcurrentGuesses(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 5\n  max_failures_per_ip: 1000\n  window: 1m\n  ban: 1m\n")
	p.addUser("burst@example.com")
	p.addUser("burst2@example.com")
	e := p.enrolTOTP(p.login("burst2@example.com"))
	half := p.halfLogin("burst2@example.com")
	const n = 20
	burst := func(what string, send func() (*response, error)) {
		t.Helper()
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				res, err := send()
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i] = res.StatusCode
			})
		}
		wg.Wait()
		evaluated := 0
		for _, s := range statuses {
			switch s {
			case http.StatusUnauthorized:
				evaluated++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("%s: an attempt got %d", what, s)
			}
		}
		if evaluated > 5 {
			t.Errorf("%d %s sent at once: %d evaluated (401), %d throttled; want at most max_failures (5) evaluated",
				n, what, evaluated, n-evaluated)
		}
	}
	burst("wrong passwords", func() (*response, error) {
		return p.try(request{method: "POST", path: "/api/login", body: map[string]any{"email": "burst@example.com", "password": "wrong-password-here"}})
	})
	wrong := e.auth.wrong()
	burst("wrong second-factor codes", func() (*response, error) {
		return p.try(request{method: "POST", path: "/api/login/second-factor", cookie: half, body: map[string]any{"code": wrong}})
	})
}
