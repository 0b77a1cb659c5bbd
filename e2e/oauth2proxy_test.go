package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop/tooltest"
)

// oauth2ProxyBinary finds oauth2-proxy, which CI installs (.ci/run).
func oauth2ProxyBinary(t *testing.T) string {
	t.Helper()
	return tooltest.GoInstalled(t, "oauth2-proxy", "go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6")
}

// startRedisServer runs a redis-server of the test's own on a free port,
// with nothing saved to disk, and returns its address.
func startRedisServer(t *testing.T) string {
	t.Helper()
	bin := proxyBinary(t, "redis-server")
	dir, addr := t.TempDir(), freeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", dir)
	runProxy(t, "redis-server", dir, addr, cmd)
	return addr
}

// upstreamApp is the app behind oauth2-proxy: it greets whoever
// oauth2-proxy says a request comes from, and counts the requests that
// reach it per person.
type upstreamApp struct {
	URL  string
	mu   sync.Mutex
	hits map[string]int
}

func startUpstreamApp(t *testing.T) *upstreamApp {
	t.Helper()
	a := &upstreamApp{hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := r.Header.Get("X-Forwarded-Email")
		a.mu.Lock()
		a.hits[email]++
		a.mu.Unlock()
		fmt.Fprintf(w, "upstream: hello %s", email)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// reached is how many requests for email reached the app.
func (a *upstreamApp) reached(email string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[email]
}

// oauth2ProxyLog is oauth2-proxy's output so far.
type oauth2ProxyLog string

func readOAuth2ProxyLog(t *testing.T, dir string) oauth2ProxyLog {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "oauth2-proxy.out"))
	if err != nil {
		t.Fatal(err)
	}
	return oauth2ProxyLog(data)
}

// linesWith are the log lines holding every one of words.
func (l oauth2ProxyLog) linesWith(words ...string) []string {
	var out []string
	for _, line := range strings.Split(string(l), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// proxiedRequest is one request through oauth2-proxy with a fixed cookie
// header: the browser's cookie as it was before the lacop session ended.
type proxiedRequest struct {
	sent   time.Time
	status int
	where  string // Location, if any
	body   string
}

func getWithCookie(t *testing.T, rawURL, cookie string) proxiedRequest {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept", "text/html")
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sent := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s through oauth2-proxy: %v", rawURL, err)
	}
	r := readResponse(t, res)
	return proxiedRequest{sent: sent, status: r.StatusCode, where: r.Header.Get("Location"), body: string(r.Body)}
}

// TestOAuth2ProxyEndsWithSession runs a real oauth2-proxy, set up as
// docs/apps.md shows (Redis session store, PKCE, offline_access, a short
// --cookie-refresh), as an OpenID Connect client of lacop in front of a
// small app. A person signs in through it on lacop's login form; then the
// lacop session ends — signed out at lacop, revoked with lacop session
// revoke, or by a password change — and the browser's oauth2-proxy cookie
// is refused.
//
// oauth2-proxy (v7.15) has no back-channel logout receiver: it finds out
// when it refreshes the session, which it does on the first request after
// the session is --cookie-refresh old. lacop answers that refresh with
// invalid_grant, and oauth2-proxy drops the session (from Redis, so no copy
// of the cookie works) and sends the person to sign in. The test holds it to
// exactly that: every request sent later than --cookie-refresh after the
// last successful refresh is refused, the refusal is oauth2-proxy's "fatal
// refresh error" (invalid_grant) and not anything else, and the app is not
// reached again.
func TestOAuth2ProxyEndsWithSession(t *testing.T) {
	t.Parallel()
	bin := oauth2ProxyBinary(t)
	redisAddr := startRedisServer(t)
	app := startUpstreamApp(t)
	proxyAddr := freeAddr(t)
	proxyURL := "http://" + proxyAddr
	const refresh = 2 * time.Second // --cookie-refresh

	secret := randomToken() + randomToken()
	leaks.secret("client secret", secret)
	p := startPortal(t, fmt.Sprintf(`oidc:
  clients:
    - id: wiki
      name: Wiki
      secret: %q
      redirect_uris: [%q]
      post_logout_redirect_uris: [%q]
      scopes: [openid, profile, email, groups, offline_access]
`, hashClientSecret(t, secret), proxyURL+"/oauth2/callback", proxyURL+"/"))
	addUsers(t, p, []string{"out@example.com"}, []string{"revoked@example.com"}, []string{"passwd@example.com"}, []string{"chained@example.com"})
	meta := p.providerMetadata()

	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--provider=oidc",
		"--provider-display-name=lacop",
		"--oidc-issuer-url="+meta.Issuer,
		"--client-id=wiki",
		"--client-secret-file="+secretFile,
		"--code-challenge-method=S256",
		"--scope=openid email profile groups offline_access",
		"--insecure-oidc-allow-unverified-email",
		"--email-domain=*",
		"--redirect-url="+proxyURL+"/oauth2/callback",
		"--cookie-secret="+randomToken()[:16]+randomToken()[:16],
		"--cookie-secure=false", // plain http on loopback, in the test only
		"--cookie-refresh="+refresh.String(),
		"--cookie-expire=1h",
		"--session-store-type=redis",
		"--redis-connection-url=redis://"+redisAddr,
		"--skip-provider-button",
		"--whitelist-domain="+hostPort(t, p.URL), // sign-out's rd may lead to lacop
		"--upstream="+app.URL,
		"--http-address="+proxyAddr,
	)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OAUTH2_PROXY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	runProxy(t, "oauth2-proxy", dir, proxyAddr, cmd)
	proxy, _ := url.Parse(proxyURL)

	// The app's sign-out chained to lacop's (docs/apps.md): oauth2-proxy
	// drops its session and sends the browser to lacop's end-session URL
	// with the person's ID token as the hint, which ends the lacop session
	// at once and comes back to the registered post-logout URI.
	t.Run("signed out at oauth2-proxy, chained", func(t *testing.T) {
		t.Parallel()
		ua := newUserAgent(t, p, "chained@example.com")
		if res, at := ua.follow(proxyURL+"/private/page", nil); res.StatusCode != http.StatusOK || at.Host != proxy.Host {
			t.Fatalf("signing in through oauth2-proxy ended at %s with %d", at, res.StatusCode)
		}
		var old string
		for _, c := range ua.client.Jar.Cookies(proxy) {
			if c.Name == "_oauth2_proxy" {
				old = c.Name + "=" + c.Value
			}
		}
		lacopCookie := ua.lacopCookie()
		rd := p.URL + "/oauth/logout?client_id=wiki&id_token_hint={id_token}&post_logout_redirect_uri=" + url.QueryEscape(proxyURL+"/")
		res := ua.get(proxyURL + "/oauth2/sign_out?rd=" + url.QueryEscape(rd))
		loc, err := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || err != nil || loc.Host != hostPort(t, p.URL) || loc.Path != "/oauth/logout" {
			t.Fatalf("oauth2-proxy's sign-out = %d to %q; want a redirect to lacop's end-session URL", res.StatusCode, res.Header.Get("Location"))
		}
		if hint := loc.Query().Get("id_token_hint"); strings.Count(hint, ".") != 2 {
			t.Fatalf("oauth2-proxy sent id_token_hint %q; want its ID token in place of {id_token}", hint)
		}
		// The browser follows: a top-level navigation from another site.
		req, _ := http.NewRequest(http.MethodGet, loc.String(), nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		raw, err := ua.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res = readResponse(t, raw)
		if res.StatusCode/100 != 3 || res.Header.Get("Location") != proxyURL+"/" {
			t.Errorf("lacop's end-session with oauth2-proxy's hint = %d to %q; want straight back to %s/", res.StatusCode, res.Header.Get("Location"), proxyURL)
		}
		if got := p.forTest(t).meStatus(lacopCookie); got != http.StatusUnauthorized {
			t.Errorf("the lacop session after the chained sign-out: /api/me = %d; want 401", got)
		}
		if r := getWithCookie(t, proxyURL+"/private/again", old); r.status != http.StatusFound {
			t.Errorf("the old oauth2-proxy cookie after its sign-out = %d %q; want 302 (refused)", r.status, r.body)
		}
	})

	for _, end := range []struct {
		name, email string
		end         func(t *testing.T, ua *userAgent)
	}{
		{"signed out at lacop", "out@example.com", func(t *testing.T, ua *userAgent) {
			// The sidebar's Sign out button, as the person clicks it.
			res, err := ua.client.PostForm(p.URL+"/logout", url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			if r := readResponse(t, res); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-out = %d %s", r.StatusCode, r.Body)
			}
		}},
		{"lacop session revoke", "revoked@example.com", func(t *testing.T, ua *userAgent) {
			id := p.forTest(t).sessionID(ua.lacopCookie())
			p.forTest(t).cliOK("", "session", "revoke", id)
		}},
		{"password changed", "passwd@example.com", func(t *testing.T, ua *userAgent) {
			p.forTest(t).cliOK(newPassword+"\n", "user", "passwd", ua.email, "--password-stdin")
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			t.Parallel()
			ua := newUserAgent(t, p, end.email)
			// Anonymous: oauth2-proxy sends the person to lacop, who signs in
			// on the login form and comes back to the app.
			res, at := ua.follow(proxyURL+"/private/page?x=1", nil)
			if res.StatusCode != http.StatusOK || string(res.Body) != "upstream: hello "+end.email || at.Host != proxy.Host || at.Path != "/private/page" {
				t.Fatalf("signing in through oauth2-proxy ended at %s with %d %q; want the app's page for %s", at, res.StatusCode, res.Body, end.email)
			}
			signedIn := time.Now()
			var cookie []string
			for _, c := range ua.client.Jar.Cookies(proxy) {
				if c.Name == "_oauth2_proxy" {
					cookie = append(cookie, c.Name+"="+c.Value)
				}
			}
			if len(cookie) != 1 {
				t.Fatalf("no _oauth2_proxy cookie after signing in: %v", ua.client.Jar.Cookies(proxy))
			}
			old := strings.Join(cookie, "; ")
			target := proxyURL + "/private/again"

			// Past --cookie-refresh, the next request makes oauth2-proxy
			// refresh at lacop; with the session alive that works. (It
			// compares the session's age, with now truncated to the second,
			// to --cookie-refresh: a session is refreshed between
			// --cookie-refresh and a second more after it was made.)
			uid := p.forTest(t).userID(ua.lacopCookie())
			time.Sleep(time.Until(signedIn.Add(refresh + time.Second + 200*time.Millisecond)))
			r := getWithCookie(t, target, old)
			refreshed := time.Now()
			if r.status != http.StatusOK || r.body != "upstream: hello "+end.email {
				t.Fatalf("request past --cookie-refresh with the session alive = %d %q to %q; want the app", r.status, r.body, r.where)
			}
			if n := len(readOAuth2ProxyLog(t, dir).linesWith("Refreshing session - User: " + uid + ";")); n != 1 {
				t.Fatalf("oauth2-proxy refreshed %s's session %d times before the end; want 1", end.email, n)
			}

			end.end(t, ua)
			ended := time.Now()

			// The old cookie until it is refused; it must be refused at the
			// first request past --cookie-refresh (and the second lost to
			// truncation) after the last refresh.
			due := refreshed.Add(refresh + time.Second + 250*time.Millisecond)
			var passed []proxiedRequest
			for {
				r = getWithCookie(t, target, old)
				if r.status != http.StatusOK {
					break
				}
				passed = append(passed, r)
				if r.sent.After(due) {
					t.Fatalf("the old cookie still reached the app %v after the lacop session ended, %v after oauth2-proxy's last refresh (--cookie-refresh %v): %q",
						r.sent.Sub(ended), r.sent.Sub(refreshed), refresh, r.body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			refused := r
			t.Logf("after the end, the old cookie reached the app %d times, until %v; refused %v after the end (%v after the last refresh): %d to %q",
				len(passed), lastSent(passed, ended).Sub(ended), refused.sent.Sub(ended), refused.sent.Sub(refreshed), refused.status, refused.where)
			if refused.status != http.StatusFound || !strings.HasPrefix(refused.where, meta.AuthorizationEndpoint+"?") {
				t.Errorf("old cookie refused with %d to %q; want 302 to lacop's authorization endpoint", refused.status, refused.where)
			}
			reached := app.reached(end.email)
			for range 3 {
				if r := getWithCookie(t, target, old); r.status != http.StatusFound {
					t.Errorf("old cookie after the refusal = %d %q; want 302 (refused)", r.status, r.body)
				}
			}
			if n := app.reached(end.email) - reached; n != 0 {
				t.Errorf("the app was reached %d times for %s after the refusal", n, end.email)
			}

			// The refusal is oauth2-proxy's refresh failing with invalid_grant.
			log := readOAuth2ProxyLog(t, dir)
			if len(log.linesWith("Refreshing session - User: "+uid+";")) != 2 || len(log.linesWith("Fatal refresh error detected", "user: "+uid)) != 1 ||
				len(log.linesWith("email:"+end.email+" ", "session invalidated due to fatal refresh error", `"invalid_grant"`)) != 1 {
				t.Errorf("oauth2-proxy's log does not show %s's second refresh failing with invalid_grant:\n%s", end.email, log)
			}

			// The person's browser is sent to lacop, which asks them to sign in.
			res, at = ua.follow(target, func(u *url.URL) bool { return u.Path == "/login" })
			if res != nil || at.Host != hostPort(t, p.URL) {
				t.Errorf("the browser after the end went to %s; want lacop's login page", at)
			}
		})
	}
}

// lastSent is when the last of rs was sent, or fallback when rs is empty.
func lastSent(rs []proxiedRequest, fallback time.Time) time.Time {
	if len(rs) == 0 {
		return fallback
	}
	return rs[len(rs)-1].sent
}
