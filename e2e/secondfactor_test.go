package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestTOTPEnrolAndSignIn walks the whole second factor as a person would:
// enrolment behind the password with a QR code, a wrong confirmation that
// changes nothing, the right one that rotates the session, then a two-step
// sign-in where the half-signed-in session can reach nothing but the
// second factor and sign-out, the step-up rotates the secret to level 2,
// and the same code cannot be used again.
func TestTOTPEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "tot@example.com"
	p.addUser(email)
	s0 := p.login(email)

	// Enrolment needs the password.
	res := p.do(request{method: "POST", path: "/api/account/totp", cookie: s0, body: map[string]any{"password": "not-the-password-at-all"}})
	wantError(t, "start enrolment with a wrong password", res, http.StatusForbidden, "invalid_credentials")

	res = p.do(request{method: "POST", path: "/api/account/totp", cookie: s0, body: map[string]any{"password": testPassword}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/account/totp = %d %s", res.StatusCode, res.Body)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("enrolment answer Cache-Control = %q; want no-store", got)
	}
	body := res.json(t)
	key, _ := body["secret"].(string)
	otpURL, _ := body["otpauthURL"].(string)
	qr, _ := body["qrPNG"].(string)
	if !regexp.MustCompile(`^[A-Z2-7]{16,}=*$`).MatchString(key) {
		t.Errorf("secret = %q; want base32", key)
	}
	if !strings.HasPrefix(otpURL, "otpauth://totp/") {
		t.Errorf("otpauthURL = %q; want otpauth://totp/…", otpURL)
	} else if u, err := url.Parse(otpURL); err != nil {
		t.Errorf("otpauthURL %q: %v", otpURL, err)
	} else {
		q := u.Query()
		if q.Get("issuer") == "" {
			t.Errorf("otpauthURL %q has no issuer", otpURL)
		}
		if q.Get("secret") != key {
			t.Errorf("otpauthURL secret = %q; want the manual key %q", q.Get("secret"), key)
		}
		if !strings.Contains(u.Path, email) {
			t.Errorf("otpauthURL label %q does not name the account %s", u.Path, email)
		}
	}
	if data, err := base64.StdEncoding.DecodeString(qr); err != nil {
		t.Errorf("qrPNG is not base64: %v", err)
	} else if !bytes.HasPrefix(data, pngSignature) {
		t.Errorf("qrPNG does not start with the PNG signature: % x", data[:min(8, len(data))])
	} else if img, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("qrPNG does not decode: %v", err)
	} else if b := img.Bounds(); b.Dx() < 21 || b.Dy() < 21 {
		t.Errorf("qrPNG is %dx%d; too small for a QR code", b.Dx(), b.Dy())
	}
	if key == "" {
		t.FailNow()
	}
	a := &authenticator{t: t, secret: key}

	// A wrong confirmation code leaves the account as it was.
	res = p.do(request{method: "POST", path: "/api/account/totp/confirm", cookie: s0, body: map[string]any{"code": a.wrong()}})
	wantError(t, "confirm with a wrong code", res, http.StatusUnauthorized, "invalid_code")
	if c := sessionCookie(res.Response); c != nil && c.Value != "" {
		t.Errorf("a failed confirmation set a session cookie")
	}
	if got := p.meLevel(s0); got != 1 {
		t.Errorf("after a failed confirmation authLevel = %v; want 1", got)
	}
	res = p.loginAs(email, testPassword, nil, false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login after a failed confirmation = %d %s", res.StatusCode, res.Body)
	}
	if got := res.json(t)["secondFactorRequired"]; got != false {
		t.Errorf("after a failed confirmation secondFactorRequired = %v; want false", got)
	}
	// Sign that session out again: enabling TOTP below must not depend on it.
	p.do(request{method: "POST", path: "/api/logout", cookie: sessionCookie(res.Response).Value})

	// The right code turns TOTP on, gives ten recovery codes and rotates the
	// enrolling session's secret.
	res = p.do(request{method: "POST", path: "/api/account/totp/confirm", cookie: s0, body: map[string]any{"code": a.next()}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirm with the right code = %d %s", res.StatusCode, res.Body)
	}
	rc, _ := res.json(t)["recoveryCodes"].([]any)
	if len(rc) != 10 {
		t.Errorf("recoveryCodes = %v; want 10 codes", rc)
	}
	seen := map[string]bool{}
	for _, c := range rc {
		s, _ := c.(string)
		if len(s) < 8 || seen[s] {
			t.Errorf("recovery code %q is too short or repeated", s)
		}
		seen[s] = true
	}
	c := sessionCookie(res.Response)
	if c == nil || c.Value == "" || c.Value == s0 {
		t.Fatalf("confirmation did not set a fresh session cookie: %v", res.Header["Set-Cookie"])
	}
	s1 := c.Value
	if got := p.meStatus(s0); got != http.StatusUnauthorized {
		t.Errorf("/api/me with the pre-enrolment secret = %d; want 401", got)
	}
	if got := p.meLevel(s1); got != 2 {
		t.Errorf("after enrolment authLevel = %v; want 2", got)
	}

	// Two-step sign-in: the half session reaches nothing but the second
	// factor and sign-out.
	half := p.halfLogin(email)
	for _, r := range []request{
		{method: "GET", path: "/api/me"},
		{method: "GET", path: "/api/sessions"},
		{method: "GET", path: "/api/account/activity"},
		{method: "POST", path: "/api/sessions/revoke-all", body: map[string]any{"keepCurrent": true}},
		{method: "POST", path: "/api/account/totp", body: map[string]any{"password": testPassword}},
		{method: "DELETE", path: "/api/account/totp", body: map[string]any{"password": testPassword}},
		{method: "POST", path: "/api/account/password", body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}},
	} {
		r.cookie = half
		res := p.do(r)
		wantError(t, "half-signed-in "+r.method+" "+r.path, res, http.StatusUnauthorized, "second_factor_required")
	}
	if stream, res := p.openEvents(t, half); stream != nil {
		t.Errorf("half-signed-in GET /api/events opened a stream; want 401")
	} else {
		wantError(t, "half-signed-in GET /api/events", res, http.StatusUnauthorized, "second_factor_required")
	}
	res = p.do(request{method: "GET", path: "/", cookie: half})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/second-factor") {
		t.Errorf("half-signed-in GET / = %d Location %q; want 303 to /login/second-factor", res.StatusCode, loc)
	}
	// The password alone is not a password change: still refused above,
	// and the old password still signs in (checked by halfLogin below).

	// Sign-out works for a half session.
	other := p.halfLogin(email)
	res = p.do(request{method: "POST", path: "/api/logout", cookie: other})
	if res.StatusCode != http.StatusOK {
		t.Errorf("half-signed-in POST /api/logout = %d %s; want 200", res.StatusCode, res.Body)
	}
	wantError(t, "/api/me after the half session signed out", p.do(request{method: "GET", path: "/api/me", cookie: other}),
		http.StatusUnauthorized, "unauthenticated")
	wantError(t, "second factor after the half session signed out", p.secondFactor(other, map[string]any{"code": a.wrong()}),
		http.StatusUnauthorized, "unauthenticated")

	// The step-up rotates the secret and raises the level.
	code := a.next()
	res = p.secondFactor(half, map[string]any{"code": code})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("second factor with the current code = %d %s", res.StatusCode, res.Body)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("second-factor answer Cache-Control = %q; want no-store", got)
	}
	c = sessionCookie(res.Response)
	if c == nil || c.Value == "" || c.Value == half {
		t.Fatalf("second factor did not set a new secret: %v", res.Header["Set-Cookie"])
	}
	full := c.Value
	wantError(t, "/api/me with the half-signed-in secret after the step-up", p.do(request{method: "GET", path: "/api/me", cookie: half}),
		http.StatusUnauthorized, "unauthenticated")
	if got := p.meLevel(full); got != 2 {
		t.Errorf("after the second factor authLevel = %v; want 2", got)
	}
	if list, _ := p.sessionList(full); len(list) == 0 {
		t.Errorf("the full session cannot list sessions")
	}

	// The same code again, in another session, is a replay.
	again := p.halfLogin(email)
	wantError(t, "second factor with the code already used", p.secondFactor(again, map[string]any{"code": code}),
		http.StatusUnauthorized, "invalid_code")
	wantError(t, "/api/me after a refused replay", p.do(request{method: "GET", path: "/api/me", cookie: again}),
		http.StatusUnauthorized, "second_factor_required")

	// The audit trail has the enrolment and the step-up.
	var types []string
	for _, l := range p.auditEvents("--user", email) {
		types = append(types, auditType(l))
	}
	for _, want := range []string{"second_factor.enabled", "second_factor.succeeded", "second_factor.failed"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("lacop audit --user %s has no %s event: %v", email, want, types)
		}
	}
	if out := p.auditOutput("--user", email, "--limit", "1000"); strings.Contains(out, key) {
		t.Errorf("the audit log shows the TOTP secret:\n%s", out)
	}
}

// TestRecoveryCodes: a recovery code completes a half sign-in once, and is
// accepted however the person types it (upper case, without the dash).
func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "rec@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	if len(e.recoveryCodes) != 10 {
		t.Fatalf("recoveryCodes = %v; want 10", e.recoveryCodes)
	}
	for _, c := range e.recoveryCodes {
		if !regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`).MatchString(c) {
			t.Errorf("recovery code %q; want xxxxx-xxxxx", c)
		}
	}

	use := func(what, code string) string {
		t.Helper()
		half := p.halfLogin(email)
		res := p.secondFactor(half, map[string]any{"recoveryCode": code})
		c := sessionCookie(res.Response)
		if res.StatusCode != http.StatusOK || c == nil || c.Value == "" || c.Value == half {
			t.Errorf("recovery code %s = %d %s %v; want 200 with a new secret", what, res.StatusCode, res.Body, res.Header["Set-Cookie"])
			return ""
		}
		if got := p.meStatus(half); got != http.StatusUnauthorized {
			t.Errorf("recovery code %s: the half-signed-in secret still answers %d", what, got)
		}
		if got := p.meLevel(c.Value); got != 2 {
			t.Errorf("recovery code %s: authLevel = %v; want 2", what, got)
		}
		return c.Value
	}
	use("as shown", e.recoveryCodes[0])

	half := p.halfLogin(email)
	wantError(t, "the same recovery code again", p.secondFactor(half, map[string]any{"recoveryCode": e.recoveryCodes[0]}),
		http.StatusUnauthorized, "invalid_code")
	wantError(t, "an invented recovery code", p.secondFactor(half, map[string]any{"recoveryCode": "aaaaa-bbbbb"}),
		http.StatusUnauthorized, "invalid_code")
	wantError(t, "/api/me after refused recovery codes", p.do(request{method: "GET", path: "/api/me", cookie: half}),
		http.StatusUnauthorized, "second_factor_required")

	use("in upper case", strings.ToUpper(e.recoveryCodes[1]))
	use("without the dash", strings.ReplaceAll(e.recoveryCodes[2], "-", ""))
	wantError(t, "an upper-case code used before", p.secondFactor(p.halfLogin(email), map[string]any{"recoveryCode": strings.ToUpper(e.recoveryCodes[2])}),
		http.StatusUnauthorized, "invalid_code")

	// The TOTP code still works alongside.
	if got := p.meLevel(p.fullLogin(email, e.auth)); got != 2 {
		t.Errorf("TOTP after recovery codes: authLevel = %v; want 2", got)
	}
}

// TestMalformedCodes: empty, non-numeric, short, long and spaced codes are
// 401 invalid_code, and each counts as a failed attempt: with
// max_failures 3 the fourth attempt is throttled, even with the right code.
func TestMalformedCodes(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 3\n  window: 1m\n  ban: 1m\n")
	groups := [][]string{{"", "abc", "12345"}, {"1234567", "12 34 56", "１２３４５６"}}
	for i, codes := range groups {
		email := []string{"mal1@example.com", "mal2@example.com"}[i]
		p.addUser(email)
		e := p.enrolTOTP(p.login(email))
		half := p.halfLogin(email)
		for _, code := range codes {
			wantError(t, fmt.Sprintf("second factor with code %q", code), p.secondFactor(half, map[string]any{"code": code}),
				http.StatusUnauthorized, "invalid_code")
		}
		res := p.secondFactor(half, map[string]any{"code": e.auth.next()})
		wantThrottled(t, "the right code after three malformed ones for "+email, res, 60)
		wantError(t, "/api/me of the throttled half session", p.do(request{method: "GET", path: "/api/me", cookie: half}),
			http.StatusUnauthorized, "second_factor_required")
	}
	n := 0
	for _, l := range p.auditEvents("--type", "second_factor.failed") {
		if auditType(l) == "second_factor.failed" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("lacop audit shows %d second_factor.failed events; want 6", n)
	}
}

// TestSecondFactorFailuresThrottle: wrong codes count like wrong passwords;
// past max_failures the second factor answers 429 with Retry-After even for
// the right code, the password step of that account is throttled too, and
// login.throttled is recorded.
func TestSecondFactorFailuresThrottle(t *testing.T) {
	p := startPortal(t, "regulation:\n  max_failures: 5\n  window: 1m\n  ban: 30s\n")
	const email = "sfb@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	half := p.halfLogin(email)
	for i := range 5 {
		wantError(t, fmt.Sprintf("wrong code %d", i+1), p.secondFactor(half, map[string]any{"code": e.auth.wrong()}),
			http.StatusUnauthorized, "invalid_code")
	}
	wantThrottled(t, "sixth second-factor attempt (right code)", p.secondFactor(half, map[string]any{"code": e.auth.next()}), 30)
	wantThrottled(t, "a recovery code during the ban", p.secondFactor(half, map[string]any{"recoveryCode": e.recoveryCodes[0]}), 30)
	wantThrottled(t, "password sign-in during the ban", p.loginAs(email, testPassword, nil, false), 30)

	found := false
	for _, l := range p.auditEvents("--type", "login.throttled") {
		if auditType(l) == "login.throttled" && auditDetail(l)["email"] == email {
			found = true
		}
	}
	if !found {
		t.Errorf("no login.throttled event for %s", email)
	}
}

// TestDisableTOTP: turning the second factor off needs the password, ends
// every other session (full and half), gives the current one a fresh
// secret, and the next sign-in needs no second factor.
func TestDisableTOTP(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "dis@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	cur := e.secret
	other := p.fullLogin(email, e.auth)
	half := p.halfLogin(email)

	res := p.do(request{method: "DELETE", path: "/api/account/totp", cookie: cur, body: map[string]any{"password": "not-the-password-at-all"}})
	wantError(t, "DELETE /api/account/totp with a wrong password", res, http.StatusForbidden, "invalid_credentials")
	if got := p.meStatus(cur); got != http.StatusOK {
		t.Errorf("after a refused disable the current session = %d; want 200", got)
	}
	if got := p.meStatus(other); got != http.StatusOK {
		t.Errorf("after a refused disable the other session = %d; want 200", got)
	}
	wantError(t, "half session after a refused disable", p.do(request{method: "GET", path: "/api/me", cookie: half}),
		http.StatusUnauthorized, "second_factor_required")

	res = p.do(request{method: "DELETE", path: "/api/account/totp", cookie: cur, body: map[string]any{"password": testPassword}})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /api/account/totp = %d %s; want 204", res.StatusCode, res.Body)
	}
	c := sessionCookie(res.Response)
	if c == nil || c.Value == "" || c.Value == cur || c.MaxAge < 0 {
		t.Fatalf("disabling TOTP did not give the current session a fresh secret: %v", res.Header["Set-Cookie"])
	}
	if got := p.meStatus(c.Value); got != http.StatusOK {
		t.Errorf("current session's new secret = %d; want 200", got)
	}
	if got := p.meStatus(cur); got != http.StatusUnauthorized {
		t.Errorf("current session's old secret = %d; want 401", got)
	}
	wantError(t, "other full session after disable", p.do(request{method: "GET", path: "/api/me", cookie: other}),
		http.StatusUnauthorized, "unauthenticated")
	wantError(t, "other half session after disable", p.do(request{method: "GET", path: "/api/me", cookie: half}),
		http.StatusUnauthorized, "unauthenticated")

	res = p.loginAs(email, testPassword, nil, false)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login after disable = %d %s", res.StatusCode, res.Body)
	}
	if got := res.json(t)["secondFactorRequired"]; got != false {
		t.Errorf("after disable secondFactorRequired = %v; want false", got)
	}
	if got := p.meStatus(sessionCookie(res.Response).Value); got != http.StatusOK {
		t.Errorf("a password-only session after disable = %d; want 200", got)
	}
	// A recovery code from the old enrolment is worthless now, and a second
	// disable has nothing to turn off.
	res = p.do(request{method: "DELETE", path: "/api/account/totp", cookie: c.Value, body: map[string]any{"password": testPassword}})
	if res.StatusCode/100 != 4 {
		t.Errorf("disabling TOTP twice = %d %s; want a 4xx", res.StatusCode, res.Body)
	}
}

// TestAdminResetTOTP: an admin (API) or the operator (lacop user
// reset-2fa) removes a user's second factor; every session of that user
// ends and the next sign-in needs only the password. Non-admins get 403.
func TestAdminResetTOTP(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("adm@example.com", "--admin")
	p.addUser("usr@example.com")
	p.addUser("cli@example.com")
	admin := p.login("adm@example.com")

	e := p.enrolTOTP(p.login("usr@example.com"))
	full1 := e.secret
	full2 := p.fullLogin("usr@example.com", e.auth)
	half := p.halfLogin("usr@example.com")
	userID := p.userID(full1)

	// A non-admin (here the user themself, fully signed in) may not.
	res := p.do(request{method: "DELETE", path: "/api/admin/users/" + userID + "/totp", cookie: full2})
	wantError(t, "non-admin DELETE /api/admin/users/{id}/totp", res, http.StatusForbidden, "forbidden")
	if got := p.meStatus(full1); got != http.StatusOK {
		t.Errorf("after a refused reset the user's session = %d; want 200", got)
	}
	wantError(t, "admin reset of an unknown user", p.do(request{method: "DELETE", path: "/api/admin/users/no-such-user/totp", cookie: admin}),
		http.StatusNotFound, "not_found")

	res = p.do(request{method: "DELETE", path: "/api/admin/users/" + userID + "/totp", cookie: admin})
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("admin DELETE /api/admin/users/{id}/totp = %d %s; want 204", res.StatusCode, res.Body)
	}
	for name, s := range map[string]string{"full1": full1, "full2": full2, "half": half} {
		wantError(t, "user's session "+name+" after the admin reset", p.do(request{method: "GET", path: "/api/me", cookie: s}),
			http.StatusUnauthorized, "unauthenticated")
	}
	if got := p.meStatus(admin); got != http.StatusOK {
		t.Errorf("the admin's own session after the reset = %d; want 200", got)
	}
	res = p.loginAs("usr@example.com", testPassword, nil, false)
	if res.StatusCode != http.StatusOK || res.json(t)["secondFactorRequired"] != false {
		t.Errorf("login after the admin reset = %d %s; want 200 with secondFactorRequired false", res.StatusCode, res.Body)
	}
	lines := p.auditEvents("--type", "second_factor.disabled")
	if len(lines) != 1 || !strings.Contains(lines[0], userID) {
		t.Errorf("second_factor.disabled events after the admin reset: %q; want one for %s", lines, userID)
	}

	// The operator's command does the same.
	e = p.enrolTOTP(p.login("cli@example.com"))
	cliFull := e.secret
	cliHalf := p.halfLogin("cli@example.com")
	out := p.cliOK("", "user", "reset-2fa", "cli@example.com")
	if !strings.Contains(out, "cli@example.com") {
		t.Errorf("lacop user reset-2fa output %q does not name the user", out)
	}
	for name, s := range map[string]string{"full": cliFull, "half": cliHalf} {
		wantError(t, "user's session "+name+" after reset-2fa", p.do(request{method: "GET", path: "/api/me", cookie: s}),
			http.StatusUnauthorized, "unauthenticated")
	}
	res = p.loginAs("cli@example.com", testPassword, nil, false)
	if res.StatusCode != http.StatusOK || res.json(t)["secondFactorRequired"] != false {
		t.Errorf("login after reset-2fa = %d %s; want 200 with secondFactorRequired false", res.StatusCode, res.Body)
	}
	if out, err := p.cli("", "user", "reset-2fa", "nobody@example.com"); err == nil {
		t.Errorf("lacop user reset-2fa of an unknown user succeeded: %s", out)
	}
}

// TestRequireSecondFactor: with auth.require_second_factor a user without
// TOTP signs in but reaches only the enrolment until it is confirmed.
func TestRequireSecondFactor(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "auth:\n  require_second_factor: true\n")
	const email = "req@example.com"
	p.addUser(email)
	s := p.login(email)

	for _, r := range []request{
		{method: "GET", path: "/api/me"},
		{method: "GET", path: "/api/sessions"},
		{method: "GET", path: "/api/account/activity"},
		{method: "DELETE", path: "/api/account/totp", body: map[string]any{"password": testPassword}},
	} {
		r.cookie = s
		wantError(t, "not enrolled "+r.method+" "+r.path, p.do(r), http.StatusForbidden, "second_factor_enrolment_required")
	}
	res := p.do(request{method: "GET", path: "/", cookie: s})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/security?enrol=1" {
		t.Errorf("not enrolled GET / = %d Location %q; want 303 to /security?enrol=1", res.StatusCode, loc)
	}
	if res := p.do(request{method: "GET", path: "/security?enrol=1", cookie: s}); res.StatusCode != http.StatusOK {
		t.Errorf("not enrolled GET /security = %d; want 200", res.StatusCode)
	}

	e := p.enrolTOTP(s)
	if got := p.meLevel(e.secret); got != 2 {
		t.Errorf("after enrolment authLevel = %v; want 2", got)
	}
	if res := p.do(request{method: "GET", path: "/", cookie: e.secret}); res.StatusCode != http.StatusOK {
		t.Errorf("after enrolment GET / = %d; want 200", res.StatusCode)
	}
	if got := p.meStatus(s); got != http.StatusUnauthorized {
		t.Errorf("the pre-enrolment secret = %d; want 401", got)
	}
	// The next sign-in asks for the code, then lets everything through.
	if got := p.meLevel(p.fullLogin(email, e.auth)); got != 2 {
		t.Errorf("second sign-in authLevel = %v; want 2", got)
	}
}

// TestHalfSessionForwardAuth: the reverse-proxy check treats a
// half-signed-in session as unauthenticated, while the full session of the
// same user gets 200 there.
func TestHalfSessionForwardAuth(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "fwd@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	hdr := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/", "Accept": "application/json"}
	if res := p.do(request{method: "GET", path: "/api/authz/forward-auth", cookie: e.secret, header: hdr}); res.StatusCode != http.StatusOK {
		t.Fatalf("forward-auth with the full session = %d; want 200", res.StatusCode)
	}
	half := p.halfLogin(email)
	res := p.do(request{method: "GET", path: "/api/authz/forward-auth", cookie: half, header: hdr})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forward-auth with a half session = %d; want 401", res.StatusCode)
	}
	if res.Header.Get("Remote-User") != "" {
		t.Errorf("forward-auth with a half session sent Remote-User %q", res.Header.Get("Remote-User"))
	}
}

// TestSecondFactorPage: the HTML flow works without JavaScript: the login
// form sends a TOTP user to /login/second-factor, which takes a code or a
// recovery code, rotates the secret and follows rd.
func TestSecondFactorPage(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "pag@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	formLogin := func() string {
		t.Helper()
		res := p.do(request{method: "POST", path: "/login", header: form,
			body: url.Values{"email": {email}, "password": {testPassword}, "rd": {"/help"}}.Encode()})
		c := sessionCookie(res.Response)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/second-factor") || c == nil {
			t.Fatalf("form login of a TOTP user = %d to %q; want 303 to /login/second-factor with a cookie", res.StatusCode, loc)
		}
		return c.Value
	}
	half := formLogin()
	res := p.do(request{method: "GET", path: "/login/second-factor?rd=/help", cookie: half})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), `name="code"`) || !strings.Contains(string(res.Body), `name="recoveryCode"`) {
		t.Errorf("GET /login/second-factor = %d; want the code and recovery code forms", res.StatusCode)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("second-factor page Cache-Control = %q; want no-store", got)
	}

	res = p.do(request{method: "POST", path: "/login/second-factor", cookie: half, header: form,
		body: url.Values{"code": {e.auth.wrong()}, "rd": {"/help"}}.Encode()})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(res.Body), `role="alert"`) {
		t.Errorf("wrong code on the page = %d; want 401 with the form and an error", res.StatusCode)
	}
	noCookie(t, "a wrong code on the page", res)

	res = p.do(request{method: "POST", path: "/login/second-factor", cookie: half, header: form,
		body: url.Values{"code": {e.auth.next()}, "rd": {"/help"}}.Encode()})
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" || c == nil || c.Value == half {
		t.Fatalf("right code on the page = %d to %q cookie %v; want 303 to /help with a new secret", res.StatusCode, res.Header.Get("Location"), c)
	}
	if got := p.meStatus(half); got != http.StatusUnauthorized {
		t.Errorf("half-signed-in secret after the page step-up = %d; want 401", got)
	}
	if got := p.meLevel(c.Value); got != 2 {
		t.Errorf("after the page step-up authLevel = %v; want 2", got)
	}
	res = p.do(request{method: "GET", path: "/login/second-factor?rd=/help", cookie: c.Value})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/help" {
		t.Errorf("GET /login/second-factor fully signed in = %d to %q; want 303 to /help", res.StatusCode, res.Header.Get("Location"))
	}

	half = formLogin()
	res = p.do(request{method: "POST", path: "/login/second-factor", cookie: half, header: form,
		body: url.Values{"recoveryCode": {strings.ToUpper(e.recoveryCodes[0])}}.Encode()})
	if c := sessionCookie(res.Response); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || c == nil || p.meLevel(c.Value) != 2 {
		t.Errorf("recovery code on the page = %d to %q; want 303 to / at level 2", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestSecondFactorRaces: one code or one recovery code sent by many half
// sessions at once is accepted exactly once.
func TestSecondFactorRaces(t *testing.T) {
	p := startPortal(t, "regulation:\n  max_failures: 100\n  max_failures_per_ip: 100\n")
	const email = "race2@example.com"
	p.addUser(email)
	e := p.enrolTOTP(p.login(email))
	const n = 8
	race := func(what string, body map[string]any) {
		t.Helper()
		halves := make([]string, n)
		for i := range halves {
			halves[i] = p.halfLogin(email)
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i, h := range halves {
			wg.Go(func() {
				res, err := p.try(request{method: "POST", path: "/api/login/second-factor", cookie: h, body: body})
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i] = res.StatusCode
			})
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Errorf("%s: a concurrent attempt got %d", what, s)
			}
		}
		if ok != 1 {
			t.Errorf("%s sent by %d sessions at once: %d accepted (%v); want exactly 1", what, n, ok, statuses)
		}
	}
	race("one TOTP code", map[string]any{"code": e.auth.next()})
	race("one recovery code", map[string]any{"recoveryCode": e.recoveryCodes[0]})
}
