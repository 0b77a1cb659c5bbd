package e2e

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lacop/lacop/mail/mailpittest"
)

var resetURL = regexp.MustCompile(`https?://\S+/reset/[A-Za-z0-9_-]{43}`)

// TestBrowserPasswordReset: a person who forgot their password goes from
// the login page to signed in with a new one, through the link in the
// mail, in chromium.
func TestBrowserPasswordReset(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{})
	p := startPortal(t, mailConfig(mp))
	const email = "dina@example.com"
	p.addUser(email)
	old := p.login(email)
	ctx := newBrowser(t)

	step, cancel := within(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/login"),
		chromedp.Click(chromedp.CSS(`a[href="/reset"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/reset"] #email`)),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS(`form[action="/reset"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("asking for a link from the login page: %v", err)
	}
	m := mp.Wait(t, email, 1, 10*time.Second)[0]
	link := resetURL.FindString(m.Text)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", m.Text)
	}
	leaks.secret("reset link token", link[len(link)-43:])

	step2, cancel2 := within(ctx, 30*time.Second)
	defer cancel2()
	if err := chromedp.Do(step2,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#passwordConfirm"), newPassword),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] #email`)),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("nav.sidebar")),
	); err != nil {
		t.Fatalf("from the mail's link to signed in with the new password: %v", err)
	}
	if got := p.meStatus(old); got != 401 {
		t.Errorf("the session from before the reset = %d; want 401", got)
	}
}
