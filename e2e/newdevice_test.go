package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/mail/mailpittest"
)

var notMeLink = regexp.MustCompile(`/not-me/([A-Za-z0-9_-]{43})\b`)

// signInFrom signs email in from the browser that holds device ("" a new
// one) and returns the session secret and the device cookie it keeps.
func signInFrom(t *testing.T, p *portal, email, device, userAgent string) (secret, keeps string) {
	t.Helper()
	header := map[string]string{"User-Agent": userAgent}
	if device != "" {
		header["Cookie"] = "__Host-lacop_device=" + device
	}
	res := p.loginAs(email, testPassword, header, false)
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusOK || c == nil {
		t.Fatalf("sign-in = %d %s", res.StatusCode, res.Body)
	}
	keeps = device
	for _, sc := range res.Response.Cookies() {
		if sc.Name == "__Host-lacop_device" {
			keeps = sc.Value
			if !sc.HttpOnly || !sc.Secure || sc.MaxAge < 300*24*3600 || sc.Domain != "" {
				t.Errorf("device cookie %+v; want HttpOnly, Secure, host-only, long-lived", sc)
			}
		}
	}
	if keeps == "" {
		t.Fatal("the sign-in gave the browser no device cookie")
	}
	leaks.secret("device id", keeps)
	return c.Value, keeps
}

// TestNewSignInAlert: a sign-in from a browser the person has not used
// before (the very first aside) mails them, once per browser; "This wasn't
// me" in that mail ends every session of the account and records a
// concern; the mails can be turned off on /security.
func TestNewSignInAlert(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	const ann = "ann@example.com"
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	const safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
	p.addUser(ann)
	s1, laptop := signInFrom(t, p, ann, "", firefox)    // the first browser: nothing to tell
	s2, again := signInFrom(t, p, ann, laptop, firefox) // the same one again
	if again != laptop {
		t.Errorf("a known browser's device id changed")
	}
	s3, _ := signInFrom(t, p, ann, "", safari) // a new one
	m := mp.Wait(t, ann, 1, 10*time.Second)[0]
	if m.Subject != "New sign-in to your account" || !strings.Contains(m.Text, "Safari on iOS") || !strings.Contains(m.Text, "127.0.0.1") {
		t.Errorf("new sign-in mail %q:\n%s", m.Subject, m.Text)
	}
	signInFrom(t, p, ann, laptop, firefox)
	time.Sleep(1500 * time.Millisecond)
	if n := len(mp.To(t, ann)); n != 1 {
		t.Errorf("%d mails after sign-ins from one new browser and known ones; want 1", n)
	}

	link := notMeLink.FindStringSubmatch(m.Text)
	if link == nil {
		t.Fatalf("no \"This wasn't me\" link in:\n%s", m.Text)
	}
	leaks.secret("not-me link token", link[1])
	if res := p.do(request{method: "GET", path: "/not-me/" + link[1]}); res.StatusCode != 200 || !strings.Contains(string(res.Body), "Safari on iOS") {
		t.Errorf("GET of the link = %d; want 200 naming the browser", res.StatusCode)
	}
	if got := p.meStatus(s3); got != 200 {
		t.Error("opening the link ended a session; only its button may")
	}
	res := p.do(request{method: "POST", path: "/not-me/" + link[1]})
	if res.StatusCode != 200 || !strings.Contains(string(res.Body), "/reset?email=") {
		t.Errorf("the button = %d; want 200 leading to a new password", res.StatusCode)
	}
	for _, s := range []string{s1, s2, s3} {
		if got := p.meStatus(s); got != 401 {
			t.Errorf("a session after \"This wasn't me\" = %d; want 401", got)
		}
	}
	if lines := p.auditEvents("--user", ann, "--type", "security.concern_reported"); len(lines) != 1 {
		t.Errorf("concern events: %q; want one", lines)
	}
	if res := p.do(request{method: "POST", path: "/not-me/" + link[1]}); res.StatusCode != http.StatusGone {
		t.Errorf("the link used twice = %d; want 410", res.StatusCode)
	}

	// Turned off, a new browser goes untold.
	s, _ := signInFrom(t, p, ann, laptop, firefox)
	res = p.do(request{method: "POST", path: "/security/alerts", cookie: s, header: formHeader, body: ""})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("turning new-sign-in mails off = %d %s", res.StatusCode, res.Body)
	}
	signInFrom(t, p, ann, "", "curl/8.0")
	time.Sleep(1500 * time.Millisecond)
	if n := len(mp.To(t, ann)); n != 1 {
		t.Errorf("%d mails after a new browser with the mails off; want still 1", n)
	}
}
