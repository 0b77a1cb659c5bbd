package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// cachedPaths lists the paths of every response in the tab's Cache Storage.
const cachedPaths = `(async () => {
  const out = [];
  for (const k of await caches.keys()) {
    const c = await caches.open(k);
    for (const r of await c.keys()) out.push(new URL(r.url).pathname);
  }
  return out;
})()`

// TestBrowserServiceWorker: in chromium, the service worker takes control
// of the portal, caches the static assets and nothing else (no page, no
// API answer) while the person moves around signed in, and after a sign-out
// every cache is empty and opening the app's start URL shows the login
// page.
func TestBrowserServiceWorker(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("app@example.com")
	ctx := newBrowser(t)
	signInBrowser(t, ctx, p, "app@example.com")

	step, cancel := within(ctx, 30*time.Second)
	defer cancel()
	// The worker registers on the first page and controls the next ones.
	deadline := time.Now().Add(10 * time.Second)
	for {
		controlled, err := chromedp.Run(step, chromedp.Evaluate[bool](`!!(navigator.serviceWorker && navigator.serviceWorker.controller)`))
		if err == nil && controlled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no service worker controls the page after 10 s (err %v)", err)
		}
		if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/"), chromedp.WaitVisible(chromedp.CSS("nav.sidebar"))); err != nil {
			t.Fatal(err)
		}
	}
	for _, page := range []string{"/sessions", "/activity", "/security", "/"} {
		if err := chromedp.Do(step, chromedp.Navigate(p.URL+page), chromedp.WaitVisible(chromedp.CSS("nav.sidebar"))); err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
	}
	paths, err := chromedp.Run(step, chromedp.Evaluate[[]string](cachedPaths, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("list caches: %v", err)
	}
	if !slices.Contains(paths, "/static/style.css") || !slices.Contains(paths, "/static/app.js") {
		t.Errorf("cached %v; want the static assets", paths)
	}
	for _, path := range paths {
		if !strings.HasPrefix(path, "/static/") {
			t.Errorf("the service worker cached %s: only static assets may be kept", path)
		}
	}

	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("form.signout button"))); err != nil {
		t.Fatal(err)
	}
	waitForLogin(t, ctx, 5*time.Second, "after sign-out")
	deadline = time.Now().Add(3 * time.Second)
	for {
		paths, err = chromedp.Run(step, chromedp.Evaluate[[]string](cachedPaths, chromedp.EvalAwaitPromise))
		if err == nil && len(paths) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caches after sign-out: %v (err %v); want empty", paths, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The installed app opens its start URL: the login page.
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitForLogin(t, ctx, 5*time.Second, "the start URL after sign-out")
}
