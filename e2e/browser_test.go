package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Browser tests skip with a message
// without it, except in CI, which installs it: there a missing browser fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found, and CI must run the browser tests (apt-get install chromium)")
	}
	t.Skip("chromium not found: skipping browser tests (apt-get install chromium to run them)")
	return ""
}

// newBrowser starts a headless chromium with its own profile: one device,
// with its own cookies. Tabs made with newTab share them.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1200, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab of the same browser.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	return ctx
}

// within bounds one browser step so a broken page fails instead of hanging.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// signInBrowser signs in through the login form, as a person would.
func signInBrowser(t *testing.T, ctx context.Context, p *portal, email string) {
	t.Helper()
	step, cancel := within(ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("nav.sidebar")),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// waitForLogin waits until the tab shows the login page and returns its URL.
// It polls the location from outside the page, since the page navigates.
func waitForLogin(t *testing.T, ctx context.Context, d time.Duration, what string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	var loc string
	for {
		step, cancel := within(ctx, time.Second)
		l, err := chromedp.Run(step, chromedp.Location())
		cancel()
		if err == nil {
			loc = l
			if u, err := url.Parse(l); err == nil && u.Path == "/login" {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the tab did not reach the login page within %v (at %s)", what, d, loc)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// shot saves a screenshot of the tab into dir for people to look at.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// waitLive waits until the page's script has its event stream open.
func waitLive(t *testing.T, ctx context.Context) {
	t.Helper()
	step, cancel := within(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.WaitReady(chromedp.CSS("body[data-live]"))); err != nil {
		t.Fatalf("the page's event stream did not open: %v", err)
	}
}

// TestBrowserTwoTabs: sign out in one tab and the other lands on the login
// page within 2 seconds.
func TestBrowserTwoTabs(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("tab@example.com")
	one := newBrowser(t)
	signInBrowser(t, one, p, "tab@example.com")
	two := newTab(t, one)
	step, cancel := within(two, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/sessions"), chromedp.WaitVisible(chromedp.CSS("nav.sidebar"))); err != nil {
		t.Fatalf("second tab: %v", err)
	}
	waitLive(t, two)
	if dir := os.Getenv("LACOP_SCREENSHOTS"); dir != "" {
		shot(t, two, dir, "sessions")
	}

	start := time.Now()
	step1, cancel1 := within(one, 20*time.Second)
	defer cancel1()
	if err := chromedp.Do(step1, chromedp.Click(chromedp.CSS("form.signout button"))); err != nil {
		t.Fatalf("click Sign out: %v", err)
	}
	loc := waitForLogin(t, two, 2*time.Second, "other tab after sign-out")
	t.Logf("other tab reached %s after %v", loc, time.Since(start))
	if !strings.Contains(loc, "loggedOut=1") {
		t.Errorf("other tab at %s; want the signed-out login page", loc)
	}
	waitForLogin(t, one, 5*time.Second, "signing-out tab")
}

// TestBrowserTwoDevices: end device B from A's sessions page, and B's open
// page lands on the login page within 2 seconds, saying why.
func TestBrowserTwoDevices(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("dev@example.com")
	a, b := newBrowser(t), newBrowser(t)
	signInBrowser(t, b, p, "dev@example.com")
	signInBrowser(t, a, p, "dev@example.com")
	waitLive(t, b)

	step, cancel := within(a, 20*time.Second)
	defer cancel()
	start := time.Now()
	err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/sessions"),
		chromedp.Click(chromedp.CSS(`li.session:not(.current) form button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if err != nil {
		t.Fatalf("end B from A: %v", err)
	}
	loc := waitForLogin(t, b, 2*time.Second, "device B after A ended it")
	t.Logf("device B reached %s after %v", loc, time.Since(start))
	if !strings.Contains(loc, "reason=revoked") {
		t.Errorf("device B at %s; want reason=revoked", loc)
	}
	text, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(text, "ended from your session list") {
		t.Errorf("login page on B says %q; want why the session ended", text)
	}
	// A is still signed in.
	if loc, _ := chromedp.Run(a, chromedp.Location()); strings.Contains(loc, "/login") {
		t.Errorf("device A was signed out too (%s)", loc)
	}
	if dir := os.Getenv("LACOP_SCREENSHOTS"); dir != "" {
		shot(t, b, dir, "login-after-revoke")
		for _, page := range []string{"/", "/sessions", "/security", "/activity", "/help/logout"} {
			if err := chromedp.Do(step, chromedp.Navigate(p.URL+page)); err != nil {
				t.Fatal(err)
			}
			shot(t, a, dir, strings.Trim(strings.ReplaceAll(page, "/", "-"), "-")+"page")
		}
	}
}

// TestBrowserBackAfterSignOut: after signing out from the sidebar, the Back
// button shows no signed-in content.
func TestBrowserBackAfterSignOut(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("back@example.com")
	ctx := newBrowser(t)
	signInBrowser(t, ctx, p, "back@example.com")
	step, cancel := within(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step,
		chromedp.Navigate(p.URL+"/activity"),
		chromedp.WaitVisible(chromedp.CSS("nav.sidebar")),
		chromedp.Click(chromedp.CSS("form.signout button")),
	); err != nil {
		t.Fatal(err)
	}
	waitForLogin(t, ctx, 5*time.Second, "after sign-out")
	if err := chromedp.Do(step, chromedp.NavigateBack()); err != nil {
		t.Fatalf("back: %v", err)
	}
	// Whatever the browser does with Back, no signed-in content may show:
	// the page is refetched (and redirected to /login) or, if restored from
	// the cache, hidden until the script has re-checked and left.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`!!document.querySelector("nav.sidebar") && getComputedStyle(document.querySelector("main")).visibility !== "hidden"`))
		if err == nil && visible {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("Back after sign-out shows signed-in content at %s", loc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
