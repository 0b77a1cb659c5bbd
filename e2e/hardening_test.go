package e2e

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSecurityHeadersEveryPage: every page and API answer, signed in or
// not, admin or not, error or not, carries the CSP (with frame-ancestors
// 'none'), nosniff, a Referrer-Policy, X-Frame-Options, and HSTS when the
// public URL is https. Forward-auth answers, read only by the proxy, carry
// nosniff and no-store.
func TestSecurityHeadersEveryPage(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "public_url: https://auth.example.com\n")
	p.addUser("ann@example.com")
	p.addUser("boss@example.com", "--admin")
	ann, boss := p.login("ann@example.com"), p.login("boss@example.com")

	paths := []string{"/", "/login", "/logout", "/setup", "/login/second-factor", "/sessions", "/security",
		"/activity", "/help", "/help/logout", "/admin", "/admin/users", "/admin/sessions", "/admin/logs",
		"/api/me", "/api/sessions", "/api/account/activity", "/api/admin/users", "/api/admin/audit",
		"/.well-known/jwks.json", "/healthz", "/readyz", "/manifest.webmanifest", "/sw.js", "/static/style.css",
		"/no-such-page", "/api/no-such-thing"}
	for _, path := range paths {
		for who, cookie := range map[string]string{"anonymous": "", "user": ann, "admin": boss} {
			res := p.do(request{method: "GET", path: path, cookie: cookie, header: map[string]string{"Accept": "text/html"}})
			wantPageHeaders(t, "GET "+path+" as "+who, res, true)
		}
	}
	for _, req := range []request{
		{method: "POST", path: "/api/login", body: map[string]any{"email": "ann@example.com", "password": "wrong-password-1"}},
		{method: "POST", path: "/api/login", body: "{not json"},
		{method: "DELETE", path: "/api/sessions/nope", cookie: ann},
		{method: "POST", path: "/oauth/token", body: "grant_type=refresh_token&refresh_token=x",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{method: "PUT", path: "/login"},
	} {
		wantPageHeaders(t, req.method+" "+req.path, p.do(req), true)
	}

	for _, cookie := range []string{"", ann} {
		res := p.forwardAuth("GET", "https://app.example.com/", cookieHeader(cookieName, cookie))
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("forward-auth: nosniff %q, Cache-Control %q; want nosniff, no-store",
				res.Header.Get("X-Content-Type-Options"), res.Header.Get("Cache-Control"))
		}
	}

	// Without https in the public URL there is no HSTS (it would pin a
	// plain-http portal's host to https).
	plain := startPortal(t, "")
	wantPageHeaders(t, "GET /login over http", plain.do(request{method: "GET", path: "/login"}), false)
}

func wantPageHeaders(t *testing.T, what string, res *response, hsts bool) {
	t.Helper()
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s (%d): CSP %q lacks %s", what, res.StatusCode, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows inline or eval", what, csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s (%d): %s = %q; want %q", what, res.StatusCode, name, got, want)
		}
	}
	if got := h.Get("Strict-Transport-Security"); hsts && !strings.HasPrefix(got, "max-age=31536000") {
		t.Errorf("%s (%d): Strict-Transport-Security = %q; want max-age=31536000…", what, res.StatusCode, got)
	} else if !hsts && got != "" {
		t.Errorf("%s: Strict-Transport-Security = %q over plain http; want none", what, got)
	}
}

// TestRequestLimits: a header block over the limit gets 431 and a body
// over it 413, before anything reads further; nothing is signed in.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ann@example.com")
	huge := strings.Repeat("a", 80<<10)
	res, err := p.try(request{method: "GET", path: "/api/me", header: map[string]string{"X-Padding": huge}})
	if err == nil && res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("80 KiB of headers = %d; want 431", res.StatusCode)
	}
	res = p.do(request{method: "POST", path: "/api/login",
		body: `{"email":"ann@example.com","password":"` + testPassword + `","pad":"` + huge + `"}`})
	if res.StatusCode != http.StatusRequestEntityTooLarge || sessionCookie(res.Response) != nil {
		t.Errorf("80 KiB login body = %d (cookie %v); want 413 and no session", res.StatusCode, sessionCookie(res.Response) != nil)
	}
	if got := p.do(request{method: "GET", path: "/healthz"}).StatusCode; got != http.StatusOK {
		t.Errorf("after oversized requests, /healthz = %d; want 200", got)
	}
}

// TestSlowHeadersTimeOut: a client that sends its request headers a byte
// at a time (slowloris) is cut off by ReadHeaderTimeout (10 s) rather than
// holding a connection for as long as it likes, and others are served
// meanwhile.
func TestSlowHeadersTimeOut(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the 10 s ReadHeaderTimeout; -short")
	}
	p := startPortal(t, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		r := bufio.NewReader(conn)
		for {
			if _, err := r.ReadByte(); err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case d := <-closed:
			if d < 9*time.Second || d > 13*time.Second {
				t.Errorf("slow client cut off after %v; want about 10s (ReadHeaderTimeout)", d)
			}
			return
		case <-ticker.C:
			conn.Write([]byte("X")) // a byte of a header line that never ends
			if got := p.do(request{method: "GET", path: "/healthz"}).StatusCode; got != http.StatusOK {
				t.Fatalf("while a slow client trickles, /healthz = %d; want 200", got)
			}
			if time.Since(start) > 20*time.Second {
				t.Fatal("slow client still connected after 20s")
			}
		}
	}
}
