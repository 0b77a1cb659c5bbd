package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// behindProxy trusts the loopback proxy, so each request can name its
// client address in X-Forwarded-For, as a client behind a real proxy
// whose address changes would.
const behindProxy = "server:\n  trusted_proxies: [127.0.0.1/32]\n"

// from is a trusted proxy's header naming the client address.
func from(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }

// rotation hands out a new client address on each call.
type rotation struct{ n int }

func (r *rotation) next() map[string]string {
	r.n++
	return from(fmt.Sprintf("198.51.%d.%d", 100+r.n/250, r.n%250+1))
}

// codeFrom posts a second-factor body for the half session from the
// client address in header.
func (p *portal) codeFrom(half string, header map[string]string, body map[string]any) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: "/api/login/second-factor", cookie: half, header: header, body: body})
}

// TestSecondFactorGuessesSurvivePassword is the attack of issue 14: four
// wrong codes, then the right password for a new half session, again and
// again, each request from a new client address. The wrong codes add up
// over the rounds and ban the second factor at max_failures; the ban holds
// from any address, right after a correct password, for the right code and
// a recovery code, on the page as on the API. Someone without the
// password learns nothing of it.
func TestSecondFactorGuessesSurvivePassword(t *testing.T) {
	t.Parallel()
	p := startPortal(t, behindProxy+"regulation:\n  max_failures: 5\n  max_failures_per_ip: 20\n  window: 10m\n  ban: 10m\n")
	const email = "guess@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	var addr rotation
	wrong := e.auth.wrong()

	checked, throttled := 0, false
	var half string
	for round := 1; round <= 5 && !throttled; round++ {
		res := p.loginAs(email, testPassword, addr.next(), false)
		if res.StatusCode == http.StatusTooManyRequests {
			throttled = true
			break
		}
		if c := sessionCookie(res.Response); res.StatusCode != http.StatusOK || c == nil {
			t.Fatalf("round %d: the right password = %d %s; want 200", round, res.StatusCode, res.Body)
		} else {
			half = c.Value
		}
		for range 4 {
			res := p.codeFrom(half, addr.next(), map[string]any{"code": wrong})
			switch res.StatusCode {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
				throttled = true
			default:
				t.Fatalf("round %d: a wrong code = %d %s", round, res.StatusCode, res.Body)
			}
			if throttled {
				break
			}
		}
	}
	if checked != 5 || !throttled {
		t.Fatalf("4 wrong codes then the right password, repeated from new addresses: %d wrong codes checked, throttled %v; want 5 (max_failures), then 429",
			checked, throttled)
	}

	wantThrottled(t, "the right code during the ban, from a new address", p.codeFrom(half, addr.next(), map[string]any{"code": e.auth.next()}), 600)
	wantThrottled(t, "a recovery code during the ban, from a new address", p.codeFrom(half, addr.next(), map[string]any{"recoveryCode": e.recoveryCodes[0]}), 600)
	wantThrottled(t, "the right password during the ban, from a new address", p.loginAs(email, testPassword, addr.next(), false), 600)
	wantError(t, "a wrong password during the ban (nothing to learn without the password)",
		p.loginAs(email, "not-the-password-at-all", addr.next(), false), http.StatusUnauthorized, "invalid_credentials")

	page := p.do(request{method: "POST", path: "/login/second-factor", cookie: half, header: mergeHeaders(formHeader, addr.next()),
		body: url.Values{"code": {e.auth.next()}}.Encode()})
	if page.StatusCode != http.StatusTooManyRequests || page.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(page.Body), "Too many failed attempts") {
		t.Errorf("the second-factor page during the ban = %d, Retry-After %q; want 429 with Retry-After and the reason on the page",
			page.StatusCode, page.Header.Get("Retry-After"))
	}

	if n := len(p.typedLines("second_factor.failed")); n != 5 {
		t.Errorf("%d second_factor.failed events; want 5", n)
	}
	steps := map[string]int{}
	for _, l := range p.auditEvents("--user", email, "--type", "login.throttled", "--limit", "1000") {
		steps[auditDetail(l)["step"]]++
	}
	if steps["second_factor"] == 0 || steps["password"] == 0 {
		t.Errorf("lacop audit --user %s --type login.throttled: steps %v; want the second factor's and the password's refusals", email, steps)
	}
}

// TestRegulationCountsApart: a correct password clears the account's
// password failures and never the second factor's; a correct code clears
// the second factor's; and second-factor failures do not count against the
// password, nor password failures against the second factor.
func TestRegulationCountsApart(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 5\n  max_failures_per_ip: 1000\n  window: 10m\n  ban: 10m\n")
	const email = "apart@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	wrongPasswords := func(what string) {
		t.Helper()
		for i := range 4 {
			wantError(t, fmt.Sprintf("%s: wrong password %d", what, i+1), p.loginAs(email, "not-the-password-at-all", nil, false),
				http.StatusUnauthorized, "invalid_credentials")
		}
	}
	wrongCodes := func(what, half string) {
		t.Helper()
		for i := range 4 {
			wantError(t, fmt.Sprintf("%s: wrong code %d", what, i+1), p.secondFactor(half, map[string]any{"code": e.auth.wrong()}),
				http.StatusUnauthorized, "invalid_code")
		}
	}

	wrongPasswords("first run")
	half := p.halfLogin(email) // clears the four
	wrongPasswords("after a correct password")
	wrongCodes("four codes after eight password failures", half)
	half = p.halfLogin(email) // clears the password failures only
	if res := p.secondFactor(half, map[string]any{"code": e.auth.next()}); res.StatusCode != http.StatusOK {
		t.Fatalf("the right code after four wrong ones = %d %s; want 200", res.StatusCode, res.Body)
	}
	half = p.halfLogin(email)
	wrongCodes("after a correct code", half)
	if res := p.secondFactor(half, map[string]any{"code": e.auth.next()}); res.StatusCode != http.StatusOK {
		t.Errorf("the right code after a correct code and four wrong ones = %d %s; want 200", res.StatusCode, res.Body)
	}
}

// TestRegulationIPv6Prefix: an IPv6 client is counted by its /64, so
// hopping between addresses of one /64 does not dodge the address limit;
// the next /64 is another client.
func TestRegulationIPv6Prefix(t *testing.T) {
	t.Parallel()
	p := startPortal(t, behindProxy+"regulation:\n  max_failures: 100\n  max_failures_per_ip: 3\n  window: 10m\n  ban: 10m\n")
	const email = "six@example.com"
	p.addUser(email)
	for i, a := range []string{"2001:db8:aa:bb::1", "2001:db8:aa:bb::2:3", "2001:db8:aa:bb:ffff:ffff:ffff:fffe"} {
		wantError(t, "wrong password from "+a, p.loginAs(fmt.Sprintf("w%d@example.com", i), "not-the-password-at-all", from(a), false),
			http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "the right password from another address of the banned /64",
		p.loginAs(email, testPassword, from("2001:db8:aa:bb:1234::9"), false), 600)
	if res := p.loginAs(email, testPassword, from("2001:db8:aa:bc::1"), false); res.StatusCode != http.StatusOK {
		t.Errorf("the right password from the next /64 = %d %s; want 200", res.StatusCode, res.Body)
	}
}

// confirmCase is one place that asks a signed-in person for their own
// password again.
type confirmCase struct {
	name string
	totp bool // the form needs a second factor turned on
	page bool // an HTML form, not the API
	send func(p *portal, secret, pw string) *response
}

func pageForm(p *portal, secret, path string, form url.Values) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: path, cookie: secret, header: formHeader, body: form.Encode()})
}

var confirmCases = []confirmCase{
	{name: "api password", send: func(p *portal, s, pw string) *response {
		return p.do(request{method: "POST", path: "/api/account/password", cookie: s, body: map[string]any{"currentPassword": pw, "newPassword": newPassword}})
	}},
	{name: "api email", send: func(p *portal, s, pw string) *response {
		return p.do(request{method: "POST", path: "/api/account/email", cookie: s, body: map[string]any{"password": pw, "newEmail": "moved@example.com"}})
	}},
	{name: "api totp start", send: func(p *portal, s, pw string) *response {
		return p.do(request{method: "POST", path: "/api/account/totp", cookie: s, body: map[string]any{"password": pw}})
	}},
	{name: "api totp disable", totp: true, send: func(p *portal, s, pw string) *response {
		return p.do(request{method: "DELETE", path: "/api/account/totp", cookie: s, body: map[string]any{"password": pw}})
	}},
	{name: "page password", page: true, send: func(p *portal, s, pw string) *response {
		return pageForm(p, s, "/security/password", url.Values{"currentPassword": {pw}, "newPassword": {newPassword}, "newPasswordConfirm": {newPassword}})
	}},
	{name: "page email", page: true, send: func(p *portal, s, pw string) *response {
		return pageForm(p, s, "/security/email", url.Values{"password": {pw}, "newEmail": {"moved-page@example.com"}})
	}},
	{name: "page totp start", page: true, send: func(p *portal, s, pw string) *response {
		return pageForm(p, s, "/security/totp/start", url.Values{"password": {pw}})
	}},
	{name: "page totp disable", totp: true, page: true, send: func(p *portal, s, pw string) *response {
		return pageForm(p, s, "/security/totp/disable", url.Values{"password": {pw}})
	}},
}

// TestPasswordConfirmThrottled: every form and endpoint that asks for the
// current password counts a wrong one with the account's failures: past
// max_failures it answers 429 with Retry-After (a page with the reason),
// the right password too while the ban lasts, and sign-in to the account
// is banned as well. Each wrong password is in the audit log, for the
// administrator and in the person's own activity, naming the session.
func TestPasswordConfirmThrottled(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 3\n  max_failures_per_ip: 1000\n  window: 10m\n  ban: 10m\n")
	p.addUser("boss@example.com", "--admin")
	admin := p.login("boss@example.com")
	const wrong = "not-the-password-at-all"
	for i, c := range confirmCases {
		t.Run(c.name, func(t *testing.T) {
			p := p.forTest(t)
			email := fmt.Sprintf("confirm%d@example.com", i)
			p.addUser(email)
			secret := p.login(email)
			if c.totp {
				a := p.enrolTOTP(secret)
				secret = a.secret
			}
			sid, uid := p.sessionID(secret), p.userID(secret)
			for n := range 3 {
				res := c.send(p, secret, wrong)
				if c.page {
					if res.StatusCode != http.StatusForbidden {
						t.Errorf("wrong password %d = %d; want 403", n+1, res.StatusCode)
					}
				} else {
					wantError(t, fmt.Sprintf("wrong password %d", n+1), res, http.StatusForbidden, "invalid_credentials")
				}
			}
			for _, pw := range []string{wrong, testPassword} {
				what := "the wrong password past the limit"
				if pw == testPassword {
					what = "the right password during the ban"
				}
				res := c.send(p, secret, pw)
				if !c.page {
					wantThrottled(t, what, res, 600)
					continue
				}
				if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
					t.Errorf("%s = %d, Retry-After %q; want 429 with Retry-After", what, res.StatusCode, res.Header.Get("Retry-After"))
				}
				if body := string(res.Body); !strings.Contains(body, "Too many failed attempts") || !strings.Contains(body, "<h1>Security</h1>") {
					t.Errorf("%s: the answer is not the security page with the reason", what)
				}
			}
			if got := p.meStatus(secret); got != http.StatusOK {
				t.Errorf("the session after the refused attempts: /api/me = %d; want 200 (nothing changed)", got)
			}
			wantThrottled(t, "signing in to the account during the ban", p.loginAs(email, testPassword, nil, false), 600)

			mine, _ := p.activity(secret, "")
			failed := 0
			for _, ev := range mine {
				if ev.Type == "password.confirm_failed" {
					failed++
					if ev.SessionID != sid || ev.Detail["action"] == "" {
						t.Errorf("password.confirm_failed event %+v; want session %s and the action", ev, sid)
					}
				}
			}
			if failed != 3 {
				t.Errorf("%d password.confirm_failed events in the activity; want 3", failed)
			}
			if got := p.adminList(admin, "/api/admin/audit?type=password.confirm_failed&user="+uid, "events"); len(got) != 3 {
				t.Errorf("the admin sees %d password.confirm_failed events; want 3", len(got))
			}
			if got := p.adminList(admin, "/api/admin/audit?type=login.throttled&user="+uid, "events"); len(got) < 2 {
				t.Errorf("the admin sees %d login.throttled events for the user; want the two refusals", len(got))
			}
		})
	}
	if logs := string(p.do(request{method: "GET", path: "/admin/logs", cookie: admin}).Body); !strings.Contains(logs, ">password.confirm_failed<") {
		t.Errorf("the admin log's type filter does not offer password.confirm_failed")
	}
}

// TestLoginIdentifierNotRecorded: what was typed into the email field is
// recorded only when it is an email address. A password typed there by
// mistake appears in no audit event, CSV, log line or stored row; the
// events say only that it was not an email. (max_failures 1 makes every
// failure a ban, so the ban's log line is written too.)
func TestLoginIdentifierNotRecorded(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 1\n  max_failures_per_ip: 4\n  window: 10m\n  ban: 10m\n")
	p.addUser("boss@example.com", "--admin")
	admin := p.login("boss@example.com")
	typed := []string{"Mistyped-Passphrase-7391", "Second Typed-Secret 4402@", "p@ss word-0815-quartz"}
	for _, s := range typed {
		leaks.secret("password typed as an email", s)
		leaks.secret("password typed as an email", strings.ToLower(s))
	}
	for _, s := range typed {
		wantError(t, "sign-in as "+s, p.loginAs(s, "whatever-password-1", nil, false), http.StatusUnauthorized, "invalid_credentials")
	}
	wantError(t, "sign-in as an unknown address", p.loginAs("ghost@example.com", "whatever-password-1", nil, false),
		http.StatusUnauthorized, "invalid_credentials")
	wantThrottled(t, "the address past its limit", p.loginAs(typed[0], "whatever-password-1", nil, false), 600)

	lines := p.auditEvents("--limit", "1000")
	csv := string(p.do(request{method: "GET", path: "/admin/logs?format=csv", cookie: admin}).Body)
	api := string(p.do(request{method: "GET", path: "/api/admin/audit?limit=200", cookie: admin}).Body)
	notEmail := 0
	ghost := false
	for _, l := range lines {
		d := auditDetail(l)
		if d["identifier"] == "not_an_email" && d["email"] == "" {
			notEmail++
		}
		if auditType(l) == "login.failed" && d["email"] == "ghost@example.com" {
			ghost = true
		}
	}
	if notEmail != 4 {
		t.Errorf("%d events say identifier=not_an_email; want 4 (3 login.failed, 1 login.throttled):\n%s", notEmail, strings.Join(lines, "\n"))
	}
	if !ghost {
		t.Errorf("the login.failed event of a well-formed unknown address does not name it:\n%s", strings.Join(lines, "\n"))
	}
	p.stop()
	outputs := map[string]string{"lacop audit": strings.Join(lines, "\n"), "the admin CSV": csv,
		"the admin audit API": api, "the server log": p.out.String()}
	for _, name := range []string{"lacop.db", "lacop.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(p.DataDir, name))
		outputs["the stored "+name] = string(data)
	}
	for _, s := range typed {
		for _, v := range slices.Compact([]string{s, strings.ToLower(s)}) {
			for where, text := range outputs {
				if strings.Contains(text, v) {
					t.Errorf("%s shows %q, typed into the email field", where, v)
				}
			}
		}
	}
}

// TestThrottledEventNamesUser: a sign-in refused under a ban is recorded
// with the account it was for, so lacop audit --user finds it.
func TestThrottledEventNamesUser(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 2\n  window: 10m\n  ban: 10m\n")
	const email = "named@example.com"
	p.addUser(email)
	for range 2 {
		wantError(t, "wrong password", p.loginAs(email, "not-the-password-at-all", nil, false), http.StatusUnauthorized, "invalid_credentials")
	}
	wantThrottled(t, "the right password during the ban", p.loginAs(email, testPassword, nil, false), 600)
	lines := p.auditEvents("--user", email, "--type", "login.throttled")
	if len(lines) != 1 || auditType(lines[0]) != "login.throttled" {
		t.Errorf("lacop audit --user %s --type login.throttled: %q; want the one refusal", email, lines)
	}
}
