package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// unlabelled lists the controls of the page a screen reader could not name:
// inputs, selects and text areas without a label or aria-label, buttons and
// links without text or aria-label.
const unlabelled = `(() => {
  const out = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label")) out.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push(el.outerHTML.slice(0, 120));
  }
  return out;
})()`

// overflow reports how many pixels the page is wider than the screen.
const overflow = `Math.max(0, document.documentElement.scrollWidth - window.innerWidth)`

// TestBrowserPhoneAndLabels: on a phone-sized screen (390×844) no page is
// wider than the screen, every control has a name, and the sidebar's Sign
// out can be reached with the keyboard; signed out (login, help) and signed
// in as an admin (every portal and admin page).
func TestBrowserPhoneAndLabels(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("phone@example.com", "--admin")
	ctx := newBrowser(t)
	step, cancel := within(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir(t)
	check := func(page string) {
		t.Helper()
		if err := chromedp.Do(step, chromedp.Navigate(p.URL+page), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
		if missing, err := chromedp.Run(step, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(missing) > 0 {
			t.Errorf("%s: controls without a name: %v (err %v)", page, missing, err)
		}
		if px, err := chromedp.Run(step, chromedp.Evaluate[int](overflow)); err != nil || px > 0 {
			t.Errorf("%s: %d px wider than a 390 px phone screen (err %v)", page, px, err)
		}
	}
	for _, page := range []string{"/login", "/help", "/help/logout"} {
		check(page)
	}
	signInBrowser(t, ctx, p, "phone@example.com")
	for _, page := range []string{"/", "/sessions", "/security", "/activity", "/admin/users", "/admin/sessions", "/admin/logs"} {
		check(page)
	}
	shot(t, ctx, dir, "phone-sessions")

	// Keyboard: tabbing from the top of a page reaches the Sign out button.
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/sessions"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	reached := false
	for range 40 {
		if err := chromedp.Do(step, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		focused, err := chromedp.Run(step, chromedp.Evaluate[bool](`!!document.activeElement.closest("form.signout")`))
		if err == nil && focused {
			reached = true
			break
		}
	}
	if !reached {
		t.Error("40 presses of Tab never reached the Sign out button")
	}
}
