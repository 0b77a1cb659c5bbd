package auth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/totp"
)

// factorConfig is the default config with an issuer, which enrolment needs.
func factorConfig() auth.Config {
	cfg := defaultConfig
	cfg.Issuer = "lacop test"
	return cfg
}

// from is a client at the given address.
func from(ip string) auth.Client { return auth.Client{IP: ip, UserAgent: client.UserAgent} }

// newAddress is a different client address for each n.
func newAddress(n int) auth.Client { return from(fmt.Sprintf("198.51.100.%d", n%250+1)) }

// enrolTOTP turns on TOTP for the user and returns its secret.
func (e *env) enrolTOTP(t *testing.T, email, pw string) string {
	t.Helper()
	id := e.mustAuth(t, e.login(t, email, pw, false).Secret)
	en, err := e.svc.StartTOTP(e.ctx, id, pw, client)
	if err != nil {
		t.Fatalf("StartTOTP: %v", err)
	}
	if _, err := e.svc.ConfirmTOTP(e.ctx, id, e.code(t, en.Secret, 0), client); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	e.clock.Advance(totp.Period) // the confirming step is used up
	return en.Secret
}

// code is the TOTP code for the clock's step plus offset.
func (e *env) code(t *testing.T, secret string, offset int64) string {
	t.Helper()
	c, err := totp.Code(secret, totp.Step(e.clock.Now())+offset)
	if err != nil {
		t.Fatalf("totp.Code: %v", err)
	}
	return c
}

// wrongCode is a well-formed code that matches no step near the clock.
func (e *env) wrongCode(t *testing.T, secret string) string {
	t.Helper()
	near := map[string]bool{}
	for off := int64(-3); off <= 3; off++ {
		near[e.code(t, secret, off)] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", (123456+i*7919)%1000000); !near[c] {
			return c
		}
	}
}

// half signs in with the password from c and returns the half-signed-in
// identity, or the sign-in's error code.
func (e *env) half(t *testing.T, email, pw string, c auth.Client) (*auth.Identity, string) {
	t.Helper()
	in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: email, Password: pw, Client: c})
	if err != nil {
		return nil, lacop.ErrorCode(err)
	}
	if !in.SecondFactorRequired {
		t.Fatalf("sign-in of %s needs no second factor", email)
	}
	return e.mustAuth(t, in.Secret), ""
}

// TestFactorFailuresOutlastPassword: four wrong codes and the right
// password, repeated from ever new addresses, is banned at the fifth wrong
// code in all; then the right password, the right code and a new address
// are all refused, while a wrong password learns nothing. The refusals
// name the account and the second factor's ban. After the ban both steps
// work again.
func TestFactorFailuresOutlastPassword(t *testing.T) {
	e := newEnv(t, factorConfig())
	u := e.createUser(t, "alice@example.com", alicePassword)
	secret := e.enrolTOTP(t, "alice@example.com", alicePassword)
	wrong := e.wrongCode(t, secret)
	n := 0
	next := func() auth.Client { n++; return newAddress(n) }

	checked, throttled := 0, false
	var id *auth.Identity
	for round := 1; round <= 5 && !throttled; round++ {
		var code string
		if id, code = e.half(t, "alice@example.com", alicePassword, next()); code != "" {
			t.Fatalf("round %d: the right password: %q; want a half sign-in", round, code)
		}
		for range 4 {
			_, err := e.svc.VerifySecondFactor(e.ctx, id, wrong, "", next())
			switch lacop.ErrorCode(err) {
			case lacop.EINVALIDCODE:
				checked++
				continue
			case lacop.ETOOMANYATTEMPTS:
				throttled = true
			default:
				t.Fatalf("round %d: a wrong code: %v", round, err)
			}
			break
		}
	}
	if checked != 5 || !throttled {
		t.Fatalf("4 wrong codes and the right password, repeated: %d codes checked, throttled %v; want 5, then refused", checked, throttled)
	}
	_, err := e.svc.VerifySecondFactor(e.ctx, id, e.code(t, secret, 0), "", next())
	wantCode(t, "the right code during the ban", err, lacop.ETOOMANYATTEMPTS)
	if _, code := e.half(t, "alice@example.com", alicePassword, next()); code != lacop.ETOOMANYATTEMPTS {
		t.Errorf("the right password during the second factor's ban: %q; want %q", code, lacop.ETOOMANYATTEMPTS)
	}
	if _, code := e.half(t, "alice@example.com", "wrong-"+alicePassword, next()); code != lacop.EINVALIDCREDENTIALS {
		t.Errorf("a wrong password during the second factor's ban: %q; want %q (it tells nothing)", code, lacop.EINVALIDCREDENTIALS)
	}
	throttledEvents := e.events(t, lacop.AuditLoginThrottled)
	if len(throttledEvents) != 3 { // the sixth code, the right code, the right password
		t.Errorf("%d login.throttled events; want 3", len(throttledEvents))
	}
	for _, ev := range throttledEvents {
		if ev.UserID != u.ID || ev.Detail["ban"] != "second_factor" {
			t.Errorf("login.throttled %+v; want user %s and ban second_factor", ev, u.ID)
		}
	}

	e.clock.Advance(defaultConfig.Regulation.Ban + time.Second)
	if id, code := e.half(t, "alice@example.com", alicePassword, next()); code != "" {
		t.Errorf("the right password after the ban: %q; want a half sign-in", code)
	} else if _, err := e.svc.VerifySecondFactor(e.ctx, id, e.code(t, secret, 0), "", next()); err != nil {
		t.Errorf("the right code after the ban: %v", err)
	}
}

// TestConfirmPasswordCounts: a wrong current password counts with the
// account's failures: past the limit a change is refused with the right
// password too, and so is a sign-in. Each wrong one is recorded against
// the session, each refusal names the account; after the ban the right
// password works again.
func TestConfirmPasswordCounts(t *testing.T) {
	e := newEnv(t, factorConfig())
	u := e.createUser(t, "alice@example.com", alicePassword)
	in := e.login(t, "alice@example.com", alicePassword, false)
	id := e.mustAuth(t, in.Secret)
	const next = "brand-new-Passphrase-3318"
	for i := range 5 {
		_, err := e.svc.ChangePassword(e.ctx, id, "wrong-"+alicePassword, next, client)
		wantCode(t, fmt.Sprintf("wrong current password %d", i+1), err, lacop.EINVALIDCREDENTIALS)
	}
	_, err := e.svc.ChangePassword(e.ctx, id, alicePassword, next, client)
	wantCode(t, "the right current password past the limit", err, lacop.ETOOMANYATTEMPTS)
	_, err = e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: newAddress(1)})
	wantCode(t, "signing in during the ban", err, lacop.ETOOMANYATTEMPTS)

	failed := e.sessionEvents(t, lacop.AuditPasswordConfirmFailed, in.Session.ID)
	if len(failed) != 5 {
		t.Errorf("%d password.confirm_failed events for the session; want 5", len(failed))
	}
	for _, ev := range failed {
		if ev.UserID != u.ID || ev.Detail["action"] != "password_change" {
			t.Errorf("password.confirm_failed %+v; want user %s, action password_change", ev, u.ID)
		}
	}
	refused := e.events(t, lacop.AuditLoginThrottled)
	steps := map[string]int{}
	for _, ev := range refused {
		steps[ev.Detail["step"]]++
		if ev.UserID != u.ID || ev.Detail["ban"] != "account" {
			t.Errorf("login.throttled %+v; want user %s, ban account", ev, u.ID)
		}
	}
	if steps["password_confirm"] != 1 || steps["password"] != 1 {
		t.Errorf("login.throttled steps %v; want one password_confirm, one password", steps)
	}
	e.noSecretsLeak(t, alicePassword, "wrong-"+alicePassword, next)

	e.clock.Advance(defaultConfig.Regulation.Ban + time.Second)
	if _, err := e.svc.ChangePassword(e.ctx, id, alicePassword, next, client); err != nil {
		t.Errorf("the right current password after the ban: %v", err)
	}
}

// TestIdentifierNotAnEmail: text that cannot be an email is no account,
// so it gets no account counter (nothing of it is stored) and its events
// record only that it was not an email; a well-formed unknown address is
// still throttled exactly like a known one.
func TestIdentifierNotAnEmail(t *testing.T) {
	e := newEnv(t, defaultConfig)
	const typed = "Mistyped-Passphrase-7391"
	for i := range 7 {
		if code := e.try(typed, "whatever-"+alicePassword); code != lacop.EINVALIDCREDENTIALS {
			t.Fatalf("attempt %d as %q: %q; want %q", i+1, typed, code, lacop.EINVALIDCREDENTIALS)
		}
	}
	for i := range 5 {
		if code := e.try("ghost@example.com", "whatever-"+alicePassword); code != lacop.EINVALIDCREDENTIALS {
			t.Fatalf("attempt %d as ghost: %q", i+1, code)
		}
	}
	if code := e.try("ghost@example.com", "whatever-"+alicePassword); code != lacop.ETOOMANYATTEMPTS {
		t.Errorf("sixth attempt on an unknown address: %q; want %q", code, lacop.ETOOMANYATTEMPTS)
	}
	for _, ev := range e.events(t, "") {
		_, named := ev.Detail["email"]
		switch {
		case ev.Detail["email"] == "ghost@example.com":
		case named || ev.Detail["identifier"] != "not_an_email":
			t.Errorf("event %s %v; want identifier=not_an_email and no email", ev.Type, ev.Detail)
		}
	}
	e.noSecretsLeak(t, typed, strings.ToLower(typed))
}

// TestAddressBanByPrefix: IPv6 clients of one /64 share the address
// limit; the refusal says it was the address, and names no account for an
// unknown one.
func TestAddressBanByPrefix(t *testing.T) {
	cfg := defaultConfig
	cfg.Regulation.MaxFailuresPerIP = 3
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: fmt.Sprintf("u%d@example.com", i), Password: "x", Client: from(ip)})
		wantCode(t, "wrong password from "+ip, err, lacop.EINVALIDCREDENTIALS)
	}
	_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "nobody@example.com", Password: alicePassword, Client: from("2001:db8:1:2:abcd::9")})
	wantCode(t, "another address of the /64", err, lacop.ETOOMANYATTEMPTS)
	if _, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "alice@example.com", Password: alicePassword, Client: from("2001:db8:1:3::1")}); err != nil {
		t.Errorf("the next /64: %v; want a sign-in", err)
	}
	ev := e.events(t, lacop.AuditLoginThrottled)
	if len(ev) != 1 || ev[0].UserID != "" || ev[0].Detail["ban"] != "address" || ev[0].Detail["email"] != "nobody@example.com" {
		t.Errorf("login.throttled events %+v; want one, for no user, ban address, email nobody@example.com", ev)
	}
}
