package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where browser tests leave their screenshots: the
// directory in LACOP_SCREENSHOTS, or a temp dir of the test.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("LACOP_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// TestBrowserAdminEndsSessions: an admin ends every session of a user from
// the admin panel in one browser; the user's open page in another browser
// lands on the login page within 2 seconds. Screenshots of the admin pages
// are saved along the way.
func TestBrowserAdminEndsSessions(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("chief@example.com", "--admin")
	p.addUser("sam@example.com")
	admin, user := newBrowser(t), newBrowser(t)
	signInBrowser(t, user, p, "sam@example.com")
	signInBrowser(t, admin, p, "chief@example.com")
	waitLive(t, user)
	dir := screenshotDir(t)

	step, cancel := within(admin, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/admin/sessions"),
		chromedp.WaitVisible(chromedp.CSS("table.list")),
	); err != nil {
		t.Fatal(err)
	}
	shot(t, admin, dir, "admin-sessions")
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS("table.list")),
	); err != nil {
		t.Fatal(err)
	}
	shot(t, admin, dir, "admin-users")
	start := time.Now()
	if err := chromedp.Do(step,
		chromedp.Click(chromedp.CSS(`button[aria-label="End every session of sam@example.com"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	); err != nil {
		t.Fatalf("end sam's sessions: %v", err)
	}
	loc := waitForLogin(t, user, 2*time.Second, "the user's page after the admin ended their sessions")
	t.Logf("the user's page reached %s after %v", loc, time.Since(start))
	if !strings.Contains(loc, "reason=admin") {
		t.Errorf("the user's page at %s; want reason=admin", loc)
	}
	if loc, _ := chromedp.Run(admin, chromedp.Location()); strings.Contains(loc, "/login") {
		t.Errorf("the admin was signed out too (%s)", loc)
	}
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/admin/logs"),
		chromedp.WaitVisible(chromedp.CSS("table.list")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("table.list")))
	if err != nil || !strings.Contains(text, "session.revoked") || !strings.Contains(text, "sam@example.com") {
		t.Errorf("the log after the admin's action: %v; want sam's session.revoked", err)
	}
	shot(t, admin, dir, "admin-logs")
	for _, page := range []string{"/", "/sessions", "/security"} {
		if err := chromedp.Do(step, chromedp.Navigate(p.URL+page), chromedp.WaitVisible(chromedp.CSS("nav.sidebar"))); err != nil {
			t.Fatal(err)
		}
		shot(t, admin, dir, "page"+strings.ReplaceAll(strings.TrimSuffix(page, "/"), "/", "-"))
	}
}
