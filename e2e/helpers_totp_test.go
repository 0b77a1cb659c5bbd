package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/lacop/lacop/totp"
)

// authenticator is the test's TOTP app: it computes codes for a secret the
// way a phone would, and remembers the last step it gave out, because the
// server accepts each step at most once and only steps after the last one
// accepted (a replay within its window is refused).
type authenticator struct {
	t      *testing.T
	secret string
	last   int64  // the step of the last code handed out, 0 for none
	code   string // that code
}

// next returns a code the server must accept now: for the earliest step
// after the last one used that is within the server's one step of skew and
// stays so for a few seconds. It waits for the next 30 s step only when
// every step in the window has been used already.
func (a *authenticator) next() string {
	a.t.Helper()
	for {
		now := time.Now()
		cur := totp.Step(now)
		left := time.Unix((cur+1)*int64(totp.Period/time.Second), 0).Sub(now)
		lo := cur - 1
		if left < 3*time.Second {
			lo = cur // cur-1 leaves the window in under 3 s
		}
		step := max(a.last+1, lo)
		if step > cur+1 {
			time.Sleep(left + 100*time.Millisecond)
			continue
		}
		code, err := totp.Code(a.secret, step)
		if err != nil {
			a.t.Fatalf("totp.Code: %v", err)
		}
		a.last, a.code = step, code
		return code
	}
}

// wrong returns a well-formed code that matches no step anywhere near now,
// so the server cannot accept it whichever step its clock is in.
func (a *authenticator) wrong() string {
	a.t.Helper()
	cur := totp.Step(time.Now())
	near := map[string]bool{}
	for s := cur - 3; s <= cur+3; s++ {
		c, err := totp.Code(a.secret, s)
		if err != nil {
			a.t.Fatalf("totp.Code: %v", err)
		}
		near[c] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123456+i*7919)%1000000)
		if !near[c] {
			return c
		}
	}
}

// enrolment is what a finished TOTP enrolment left behind.
type enrolment struct {
	auth          *authenticator
	secret        string   // the session's new secret (the old one is dead)
	recoveryCodes []string // the ten one-time codes
}

// enrolTOTP turns on TOTP for the session's user through the API and
// returns the authenticator, the session's rotated secret and the recovery
// codes.
func (p *portal) enrolTOTP(secret string) *enrolment {
	p.t.Helper()
	res := p.do(request{method: "POST", path: "/api/account/totp", cookie: secret, body: map[string]any{"password": testPassword}})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /api/account/totp = %d %s", res.StatusCode, res.Body)
	}
	key, _ := res.json(p.t)["secret"].(string)
	if key == "" {
		p.t.Fatalf("POST /api/account/totp: no secret in %s", res.Body)
	}
	leaks.secret("TOTP key", key)
	a := &authenticator{t: p.t, secret: key}
	res = p.do(request{method: "POST", path: "/api/account/totp/confirm", cookie: secret, body: map[string]any{"code": a.next()}})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("POST /api/account/totp/confirm = %d %s", res.StatusCode, res.Body)
	}
	c := sessionCookie(res.Response)
	if c == nil || c.Value == "" {
		p.t.Fatalf("confirm set no session cookie: %v", res.Header["Set-Cookie"])
	}
	var codes []string
	raw, _ := res.json(p.t)["recoveryCodes"].([]any)
	for _, v := range raw {
		s, _ := v.(string)
		leaks.secret("recovery code", s)
		codes = append(codes, s)
	}
	return &enrolment{auth: a, secret: c.Value, recoveryCodes: codes}
}

// halfLogin signs in with the password of a user who has TOTP and returns
// the half-signed-in secret, failing unless the answer asks for the second
// factor.
func (p *portal) halfLogin(email string) string {
	p.t.Helper()
	res := p.loginAs(email, testPassword, nil, false)
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || c == nil || c.Value == "" {
		p.t.Fatalf("login %s: %d %s", email, res.StatusCode, res.Body)
	}
	if got := res.json(p.t)["secondFactorRequired"]; got != true {
		p.t.Fatalf("login %s: secondFactorRequired = %v; want true (%s)", email, got, res.Body)
	}
	return c.Value
}

// secondFactor posts body to /api/login/second-factor with the secret.
func (p *portal) secondFactor(secret string, body map[string]any) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: "/api/login/second-factor", cookie: secret, body: body})
}

// fullLogin signs in with password and a fresh code and returns the
// level-2 secret.
func (p *portal) fullLogin(email string, a *authenticator) string {
	p.t.Helper()
	half := p.halfLogin(email)
	res := p.secondFactor(half, map[string]any{"code": a.next()})
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || c == nil || c.Value == "" {
		p.t.Fatalf("second factor for %s: %d %s %v", email, res.StatusCode, res.Body, res.Header["Set-Cookie"])
	}
	return c.Value
}

// wantError checks an error answer's status and {"error"} code.
func wantError(t *testing.T, what string, res *response, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s = %d %s; want %d %s", what, res.StatusCode, res.Body, status, code)
		return
	}
	if got, _ := res.json(t)["error"].(string); got != code {
		t.Errorf("%s: error = %q (%s); want %q", what, got, res.Body, code)
	}
}

// wantThrottled checks a 429 too_many_attempts answer whose Retry-After is
// whole seconds in [1, maxSecs], and returns it.
func wantThrottled(t *testing.T, what string, res *response, maxSecs int) int {
	t.Helper()
	wantError(t, what, res, http.StatusTooManyRequests, "too_many_attempts")
	ra := res.Header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 || n > maxSecs {
		t.Errorf("%s: Retry-After = %q; want whole seconds in [1, %d]", what, ra, maxSecs)
		return maxSecs
	}
	return n
}

// meLevel is the authLevel /api/me shows for the secret (failing on
// anything but 200).
func (p *portal) meLevel(secret string) float64 {
	p.t.Helper()
	_, s := p.me(secret)
	lvl, _ := s["authLevel"].(float64)
	return lvl
}

// pngSignature opens every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// isBase64PNG reports whether s is standard base64 of a PNG file.
func isBase64PNG(s string) bool {
	data, err := base64.StdEncoding.DecodeString(s)
	return err == nil && bytes.HasPrefix(data, pngSignature)
}
