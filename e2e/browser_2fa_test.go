package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lacop/lacop/totp"
)

// TestBrowserSecondFactor sets up two-step sign-in on the security page
// and then signs in with password and code, as a person would.
func TestBrowserSecondFactor(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("two@example.com")
	ctx := newBrowser(t)
	signInBrowser(t, ctx, p, "two@example.com")

	step, cancel := within(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/security"),
		chromedp.SendKeys(chromedp.CSS("#totpPassword"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/security/totp/start"] button`)),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
	); err != nil {
		t.Fatalf("start enrolment: %v", err)
	}
	secret, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("code.key")))
	if err != nil || secret == "" {
		t.Fatalf("no manual key on the page: %q %v", secret, err)
	}
	if dir := os.Getenv("LACOP_SCREENSHOTS"); dir != "" {
		shot(t, ctx, dir, "security-enrol")
	}
	// Confirm with the previous step's code (one step of skew is allowed),
	// which leaves the current step unused for the sign-in below.
	code, err := totp.Code(secret, totp.Step(time.Now())-1)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS("#confirmCode"), code),
		chromedp.Click(chromedp.CSS(`form[action="/security/totp/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".recovery")),
	); err != nil {
		t.Fatalf("confirm enrolment: %v", err)
	}
	codes, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(".recovery")))
	if n := len(strings.Fields(codes)); n != 10 {
		t.Errorf("recovery codes shown: %d (%q); want 10", n, codes)
	}

	// Sign out, then in again: password, then the code page.
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("form.signout button"))); err != nil {
		t.Fatal(err)
	}
	waitForLogin(t, ctx, 5*time.Second, "after sign-out")
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/login?rd=/activity"),
		chromedp.SendKeys(chromedp.CSS("#email"), "two@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	); err != nil {
		t.Fatalf("password step: %v", err)
	}
	if loc, _ := chromedp.Run(step, chromedp.Location()); !strings.Contains(loc, "/login/second-factor") {
		t.Fatalf("after the password: at %s; want the second-factor page", loc)
	}
	if dir := os.Getenv("LACOP_SCREENSHOTS"); dir != "" {
		shot(t, ctx, dir, "second-factor")
	}
	code, _ = totp.Code(secret, totp.Step(time.Now()))
	if err := chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/login/second-factor"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("nav.sidebar")),
	); err != nil {
		t.Fatalf("code step: %v", err)
	}
	if loc, _ := chromedp.Run(step, chromedp.Location()); !strings.HasSuffix(loc, "/activity") {
		t.Errorf("after the code: at %s; want /activity (the rd)", loc)
	}
}
