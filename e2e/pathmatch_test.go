package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pathConfig is issue 14's rules: docs.example.com/public/ is open to all,
// app.example.com/admin to nobody, the rest to anyone signed in.
const pathConfig = `public_url: https://auth.example.com
server:
  trusted_proxies: [127.0.0.1/32]
access_control:
  default_policy: one_factor
  rules:
    - {domain: "docs.example.com", policy: bypass, resources: ["/public/"]}
    - {domain: "app.example.com", policy: deny, resources: ["/admin"]}
`

// The files the app serves; the markers show in the body when served.
const (
	publicMarker = "PUBLIC-FILE"
	secretMarker = "SECRET-FILE"
	adminMarker  = "ADMIN-PANEL"
)

// fileApp is an app behind the proxy that serves files from a directory,
// reading the path as the upstream named in the request's X-Test-Upstream
// header would: "go" (Go's file server: decoded, then cleaned), "tomcat"
// (";" parameters stripped from each segment first, as Tomcat, Jetty and
// Spring do) or "windows" (a case-insensitive file system: "\" is a
// separator, case and trailing dots and spaces of names do not count). It
// counts the requests that reached it.
type fileApp struct {
	URL  string
	hits atomic.Int64
}

func startFileApp(t *testing.T) *fileApp {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"public/ok.txt": publicMarker, "secret.txt": secretMarker, "admin/index.txt": adminMarker} {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := &fileApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		p, _, _ := strings.Cut(r.RequestURI, "?")
		upstream := r.Header.Get("X-Test-Upstream")
		if upstream == "tomcat" {
			segs := strings.Split(p, "/")
			for i, s := range segs {
				segs[i], _, _ = strings.Cut(s, ";")
			}
			p = strings.Join(segs, "/")
		}
		p = lenientPathUnescape(p)
		if upstream == "windows" {
			segs := strings.Split(strings.ToLower(strings.ReplaceAll(p, `\`, "/")), "/")
			for i, s := range segs {
				if s = strings.TrimRight(s, " "); s != "." && s != ".." {
					s = strings.TrimRight(s, ". ")
				}
				segs[i] = s
			}
			p = strings.Join(segs, "/")
		}
		file := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p)))
		if fi, err := os.Stat(file); err == nil && fi.IsDir() {
			file = filepath.Join(file, "index.txt")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// lenientPathUnescape decodes every valid %XX and keeps anything else.
func lenientPathUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rawGet sends a GET of target exactly as written (no client cleans or
// escapes it) to the proxy at base, and returns the status and body.
func rawGet(t *testing.T, base, host, target string, header map[string]string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
	for k, v := range header {
		req += k + ": " + v + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, "" // the proxy closed the connection: nothing served
		}
		t.Fatalf("GET %s%s: %v", host, target, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// bypassURLs are request targets that an upstream serves as a file the
// rules keep from the visitor: outside docs.example.com/public/ for an
// anonymous one, app.example.com/admin for anyone. upstream is the reading
// (fileApp) under which the target reaches the file.
var bypassURLs = []struct {
	host, target, upstream, marker string
}{
	{"docs.example.com", "/public/%2e%2e/secret.txt", "go", secretMarker},
	{"docs.example.com", "/public/%2E%2E/secret.txt", "go", secretMarker},
	{"docs.example.com", "/public/.%2e/secret.txt", "go", secretMarker},
	{"docs.example.com", "/public/../secret.txt", "go", secretMarker},
	{"docs.example.com", "/public/x/../../secret.txt", "go", secretMarker},
	{"docs.example.com", "/public/..;/secret.txt", "tomcat", secretMarker},
	{"docs.example.com", "/public/%2e%2e;x/secret.txt", "tomcat", secretMarker},
	{"docs.example.com", "/public/ok.txt;/../../secret.txt", "tomcat", secretMarker},
	{"docs.example.com", "/PUBLIC/../secret.txt", "windows", secretMarker},
	{"docs.example.com", "/public/..%5csecret.txt", "windows", secretMarker},
	{"docs.example.com", `/public/..\secret.txt`, "windows", secretMarker},
	{"docs.example.com", "/public/..%20/secret.txt", "windows", secretMarker},
	{"docs.example.com", "/public/..%2fsecret.txt", "go", secretMarker},
	{"docs.example.com", "/public/x#/../../secret.txt", "go", secretMarker},
	{"app.example.com", "/%61dmin/", "go", adminMarker},
	{"app.example.com", "//admin/", "go", adminMarker},
	{"app.example.com", "/./admin/", "go", adminMarker},
	{"app.example.com", "/x/../admin/", "go", adminMarker},
	{"app.example.com", "/x/%2e%2e/admin/", "go", adminMarker},
	{"app.example.com", "/;/admin/", "tomcat", adminMarker},
	{"app.example.com", "/x/..;/admin/", "tomcat", adminMarker},
	{"app.example.com", "/Admin/", "windows", adminMarker},
	{"app.example.com", "/ADMIN./index.txt", "windows", adminMarker},
	{"app.example.com..", "/admin/", "go", adminMarker},
}

// TestPathBypassThroughProxies puts nginx and Caddy, configured as
// docs/deploy.md says, in front of a file-serving app, and sends issue
// 14's bypass URLs as raw requests, anonymously and signed in: none
// reaches the app, whatever its reading of the path, while the plain
// requests the rules allow do.
func TestPathBypassThroughProxies(t *testing.T) {
	p := startPortal(t, pathConfig)
	p.addUser("ada@example.com")
	cookie := cookieHeader(cookieName, p.login("ada@example.com"))
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			app := startFileApp(t)
			var base string
			if proxy == "nginx" {
				base = startNginx(t, p.URL, app.URL, authURL)
			} else {
				base = startCaddy(t, hostPort(t, p.URL), hostPort(t, app.URL))
			}
			// What the rules allow reaches the file: the app and its
			// readings work, so the refusals below are the rules'.
			for _, ok := range []struct {
				host, target, upstream, marker string
				header                         map[string]string
			}{
				{"docs.example.com", "/public/ok.txt", "go", publicMarker, acceptHTML},
				{"docs.example.com", "/public/%6fk.txt", "go", publicMarker, acceptHTML},
				{"app.example.com", "/x/../secret.txt", "go", secretMarker, mergeHeaders(cookie, acceptHTML)},
				{"app.example.com", "/x/..;/secret.txt", "tomcat", secretMarker, mergeHeaders(cookie, acceptHTML)},
				{"app.example.com", "/SECRET.TXT", "windows", secretMarker, mergeHeaders(cookie, acceptHTML)},
			} {
				h := mergeHeaders(ok.header, map[string]string{"X-Test-Upstream": ok.upstream})
				if status, body := rawGet(t, base, ok.host, ok.target, h); status != http.StatusOK || body != ok.marker {
					t.Errorf("%s %s%s (%s) = %d %q; want 200 %q", proxy, ok.host, ok.target, ok.upstream, status, body, ok.marker)
				}
			}
			for _, tt := range bypassURLs {
				for _, who := range []string{"anonymous", "signed in"} {
					h := mergeHeaders(acceptHTML, map[string]string{"X-Test-Upstream": tt.upstream})
					if who == "signed in" {
						if tt.host == "docs.example.com" {
							continue // a signed-in visitor may read the secret
						}
						h = mergeHeaders(h, cookie)
					}
					hits := app.hits.Load()
					status, body := rawGet(t, base, tt.host, tt.target, h)
					if status == http.StatusOK || strings.Contains(body, tt.marker) || app.hits.Load() != hits {
						t.Errorf("%s %s %s%s (%s) = %d %q; the app must not be reached", proxy, who, tt.host, tt.target, tt.upstream, status, body)
					}
				}
			}
		})
	}
}
