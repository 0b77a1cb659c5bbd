package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// cellsCheck returns a line for each table cell whose value cannot be
// reached: content that overflows its cell unseen, or a value cut with an
// ellipsis whose whole text is not in its title (hover; the title may say
// more, as the raw user agent beside the browser's name) or that cannot be
// focused (focus shows it whole).
const cellsCheck = `(() => {
  const out = [];
  for (const td of document.querySelectorAll("table.list td")) {
    if (td.scrollWidth > td.clientWidth + 1) out.push("overflows its cell: " + td.textContent.trim().slice(0, 80));
    for (const el of td.querySelectorAll(".cut, .clamp")) {
      const cut = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
      if (!cut) continue;
      const text = el.textContent.replace(/\s+/g, " ").trim();
      const title = (el.getAttribute("title") || "").replace(/\s+/g, " ").trim();
      if (!title.includes(text)) out.push("cut without its whole value in the title: " + text.slice(0, 80));
      if (!(el.tabIndex >= 0)) out.push("cut but cannot be focused: " + text.slice(0, 80));
    }
  }
  return out;
})()`

// focusReveals focuses the first cut value of the page and reports whether
// it is then shown whole (no longer cut).
const focusReveals = `(() => {
  const el = [...document.querySelectorAll("table.list .cut")].find(e => e.scrollWidth > e.clientWidth + 1);
  if (!el) return "none cut";
  el.focus();
  return (el.scrollWidth <= el.clientWidth + 1) ? "shown" : "still cut";
})()`

// TestBrowserAdminAtScale: every admin page, at 1280 px and on a 390 px
// phone, with 10,000 people (every fifth with a 250-character email), 5,000
// log events and a ban: the page is never wider than the screen, every
// table cell's whole value can be reached (hover or focus), the current
// tab is marked, and the people page pages and searches. Screenshots of
// each go to LACOP_SCREENSHOTS (docs/screenshots when refreshing them).
func TestBrowserAdminAtScale(t *testing.T) {
	p := startPortal(t, "server:\n  trusted_proxies: [127.0.0.1/32]\nregulation:\n  max_failures_per_ip: 2\n  window: 1m\n  ban: 10m\n")
	long := longEmail(999)
	p.addUser(long, "--admin", "--name", "Administrator With A Rather Long Name That Goes On", "--group", "ops,security-reviewers,on-call-primary")
	p.addUser("sam@example.com", "--group", "dev")
	seedPeople(t, p, 10_000, 5_000)
	for range 2 { // a ban to show
		p.loginAs("sam@example.com", "wrong-password-9", map[string]string{"X-Forwarded-For": "2001:db8:85a3:1234:5678:8a2e:370:7334"}, false)
	}
	sam := p.login("sam@example.com")
	samID := p.userID(sam)
	p.do(request{method: "POST", path: "/api/account/report-concern", cookie: sam, body: map[string]any{"note": strings.Repeat("Something looked wrong. ", 12)}})
	longID := p.adminList(p.login(long), "/api/admin/users?q="+long[:20], "users")[0]["id"].(string)

	ctx := newBrowser(t)
	signInBrowser(t, ctx, p, long)
	dir := screenshotDir(t)
	pages := []struct{ path, tab, name string }{
		{"/admin/users", "People", "admin-users"},
		{"/admin/users?page=37", "People", "admin-users-page"},
		{"/admin/users/" + longID, "People", "admin-person"},
		{"/admin/users/" + samID, "People", "admin-person-sam"},
		{"/admin/sessions", "Sessions", "admin-sessions"},
		{"/admin/logs", "Logs", "admin-logs"},
		{"/admin/bans", "Bans", "admin-bans"},
		{"/admin/apps", "Apps", "admin-apps"},
	}
	for _, width := range []int{1280, 390} {
		step, cancel := within(ctx, 120*time.Second)
		if err := chromedp.Do(step, chromedp.EmulateViewport(int64(width), 900)); err != nil {
			t.Fatal(err)
		}
		for _, pg := range pages {
			if err := chromedp.Do(step, chromedp.Navigate(p.URL+pg.path), chromedp.WaitVisible(chromedp.CSS("nav.tabs"))); err != nil {
				t.Fatalf("%d px %s: %v", width, pg.path, err)
			}
			if px, err := chromedp.Run(step, chromedp.Evaluate[int](overflow)); err != nil || px > 0 {
				t.Errorf("%d px %s: the page is %d px wider than the screen (err %v)", width, pg.path, px, err)
			}
			if bad, err := chromedp.Run(step, chromedp.Evaluate[[]string](cellsCheck)); err != nil || len(bad) > 0 {
				t.Errorf("%d px %s: cells whose value cannot be reached (err %v):\n%s", width, pg.path, err, strings.Join(bad, "\n"))
			}
			if cur, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`nav.tabs a[aria-current="page"]`))); err != nil || strings.TrimSpace(cur) != pg.tab {
				t.Errorf("%d px %s: current tab %q (err %v); want %q", width, pg.path, cur, err, pg.tab)
			}
			if missing, err := chromedp.Run(step, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(missing) > 0 {
				t.Errorf("%d px %s: controls without a name: %v (err %v)", width, pg.path, missing, err)
			}
			shotView(t, ctx, dir, fmt.Sprintf("%s-%d", pg.name, width))
			if width == 1280 && (pg.name == "admin-users" || pg.name == "admin-logs") {
				if got, err := chromedp.Run(step, chromedp.Evaluate[string](focusReveals)); err != nil || got != "shown" {
					t.Errorf("%s: focusing a cut value: %q (err %v); want it shown whole", pg.path, got, err)
				}
			}
		}
		cancel()
	}

	// The people page pages through all 10,002 and finds one by search.
	step, cancel := within(ctx, 60*time.Second)
	defer cancel()
	// The log's links keep their query: the next page of 5,000 events, and
	// the CSV of this filter.
	if err := chromedp.Do(step, chromedp.Navigate(p.URL+"/admin/logs?type=login.failed")); err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(step, chromedp.Evaluate[[]string](`[document.querySelector("a[rel=next]")?.href ?? "", document.querySelector("a[download]")?.href ?? ""]`))
	if err != nil || len(links) != 2 || !strings.Contains(links[0], "before=") || !strings.Contains(links[0], "type=login.failed") ||
		!strings.Contains(links[1], "format=csv") || !strings.Contains(links[1], "type=login.failed") {
		t.Errorf("the log's links: %q (err %v); want the older page and the CSV of this filter", links, err)
	}
	peopleCount := func(path string) (string, error) {
		if err := chromedp.Do(step, chromedp.Navigate(p.URL+path)); err != nil {
			return "", err
		}
		return chromedp.Run(step, chromedp.Text(chromedp.CSS("#people-count")))
	}
	count, err := peopleCount("/admin/users?page=201")
	if err != nil || !strings.Contains(count, "Showing 10001–10002 of 10002 people") {
		t.Errorf("last page of people: %q (err %v)", count, err)
	}
	count, err = peopleCount("/admin/users?q=person00042")
	if err != nil || !strings.Contains(count, "Showing 1–1 of 1 person") {
		t.Errorf("search for person00042: %q (err %v)", count, err)
	}
	if res := p.do(request{method: "GET", path: "/admin/users?page=x", cookie: p.login("sam@example.com")}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a non-admin on the people page: %d; want 403", res.StatusCode)
	}
}

// shotView saves what the screen shows (not the whole long page) into dir.
func shotView(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}
