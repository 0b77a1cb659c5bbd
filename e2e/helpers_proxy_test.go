package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// remoteHeaders are the identity headers lacop answers a proxy with and the
// proxy hands to the app.
var remoteHeaders = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups"}

// Accept headers of a browser navigating and of a script calling an API.
var (
	acceptHTML = map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
	acceptJSON = map[string]string{"Accept": "application/json"}
)

// with returns the union of header maps, later ones winning.
func mergeHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		maps.Copy(out, h)
	}
	return out
}

// cookieHeader sends the session secret under the given cookie name.
func cookieHeader(name, secret string) map[string]string {
	return map[string]string{"Cookie": name + "=" + secret}
}

// bearer sends an access token.
func bearerHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// proxyBinary finds a reverse proxy's executable. Proxy tests skip with a
// message without it, except in CI, which installs it: there a missing proxy
// fails, as a missing chromium fails the browser tests.
func proxyBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI must run the proxy tests (apt-get install %s)", name, name)
	}
	t.Skipf("%s not found: skipping its proxy tests (apt-get install %s to run them)", name, name)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freeAddr is a 127.0.0.1 address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hostPort is the host:port of an http:// URL.
func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("not a URL with a host: %q", rawURL)
	}
	return u.Host
}

// runProxy starts cmd (its files in dir), waits until addr accepts
// connections, and stops it when the test ends. Its output and logs are
// shown if the test failed.
func runProxy(t *testing.T, name, dir, addr string, cmd *exec.Cmd) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	logs := func() string {
		var b strings.Builder
		for _, f := range []string{name + ".out", "error.log"} {
			if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				b.WriteString("--- " + f + "\n" + string(data))
			}
		}
		return b.String()
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		out.Close()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s:\n%s", name, addr, logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 10s:\n%s", name, addr, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nginxConfig is the nginx setup docs/deploy.md shows, with {{LISTEN}},
// {{DIR}}, {{LACOP}} (lacop's base URL), {{APP}} and {{PORTAL}} (lacop's
// public_url) filled in by startNginx.
const nginxConfig = `worker_processes 1;
events { worker_connections 64; }
http {
    access_log {{DIR}}/access.log;
    client_body_temp_path {{DIR}}/client_body;
    proxy_temp_path {{DIR}}/proxy;
    fastcgi_temp_path {{DIR}}/fastcgi;
    uwsgi_temp_path {{DIR}}/uwsgi;
    scgi_temp_path {{DIR}}/scgi;

    server {
        listen {{LISTEN}};

        location / {
            auth_request /internal-authz;
            auth_request_set $user   $upstream_http_remote_user;
            auth_request_set $email  $upstream_http_remote_email;
            auth_request_set $name   $upstream_http_remote_name;
            auth_request_set $groups $upstream_http_remote_groups;
            auth_request_set $login  $upstream_http_login_url;
            # Always set, so whatever Remote-* the client sent is dropped.
            proxy_set_header Remote-User   $user;
            proxy_set_header Remote-Email  $email;
            proxy_set_header Remote-Name   $name;
            proxy_set_header Remote-Groups $groups;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            error_page 401 =302 $login;
            proxy_pass {{APP}};
        }

        location = /internal-authz {
            internal;
            proxy_pass {{LACOP}}/api/authz/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
}
`

// startNginx runs nginx with nginxConfig in front of app, asking lacop, and
// returns its base URL.
func startNginx(t *testing.T, lacop, app, portal string) string {
	t.Helper()
	bin := proxyBinary(t, "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := strings.NewReplacer("{{LISTEN}}", addr, "{{DIR}}", dir, "{{LACOP}}", lacop,
		"{{APP}}", app, "{{PORTAL}}", portal).Replace(nginxConfig)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
	runProxy(t, "nginx", dir, addr, cmd)
	return "http://" + addr
}

// caddyConfig is the Caddy setup docs/deploy.md shows, with {{PORT}},
// {{LACOP}} and {{APP}} (host:port) filled in by startCaddy; the site
// answers for any Host, as the tests name the app's host in Host. The route
// keeps the order as written: the client's own Remote-* and Remote_*
// headers are dropped first, then forward_auth copies lacop's. (Caddy's
// default order runs request_header after forward_auth, which would drop
// lacop's too; and in Caddy 2.10 copy_headers alone leaves a client's
// header in place when lacop sends none, as on a bypass rule:
// GHSA-7r4p-vjf4-gxv4.)
const caddyConfig = `{
	admin off
	auto_https off
}

http://:{{PORT}} {
	bind 127.0.0.1
	route {
		request_header -Remote-*
		request_header -Remote_*
		forward_auth {{LACOP}} {
			uri /api/authz/forward-auth
			copy_headers Remote-User Remote-Email Remote-Name Remote-Groups
		}
		reverse_proxy {{APP}}
	}
}
`

// startCaddy runs caddy with caddyConfig in front of app, asking lacop, and
// returns its base URL.
func startCaddy(t *testing.T, lacop, app string) string {
	t.Helper()
	bin := proxyBinary(t, "caddy")
	dir := t.TempDir()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := strings.NewReplacer("{{PORT}}", port, "{{LACOP}}", lacop, "{{APP}}", app).Replace(caddyConfig)
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	// Caddy keeps state under HOME and the XDG directories: keep it here.
	cmd.Env = append(cleanEnv(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	runProxy(t, "caddy", dir, addr, cmd)
	return "http://" + addr
}

// echoApp is the app behind the proxy: it answers 200 with the identity
// headers it received as JSON, and counts the requests that reached it.
type echoApp struct {
	URL  string
	hits atomic.Int64
}

func startEchoApp(t *testing.T) *echoApp {
	t.Helper()
	a := &echoApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		seen := map[string][]string{}
		for name, v := range r.Header {
			// Remote_User too: CGI-style apps read it as REMOTE_USER.
			if slices.Contains(remoteHeaders, http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))) {
				seen[name] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen)
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// viaProxy sends requests to a reverse proxy as a browser on the given
// virtual host would (the proxy listens on 127.0.0.1; Host names the app).
type viaProxy struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newViaProxy(t *testing.T, base string) *viaProxy {
	return &viaProxy{t: t, base: base, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (v *viaProxy) get(host, path string, header map[string]string) *response {
	v.t.Helper()
	req, err := http.NewRequest("GET", v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Host = host
	for k, val := range header {
		req.Header.Set(k, val)
	}
	res, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("GET %s%s through the proxy: %v", host, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	return &response{Response: res, Body: data}
}

// wantApp checks that the request reached the app (200) and that the app
// saw the identity headers want (see identityMismatch).
func wantApp(t *testing.T, what string, res *response, want map[string]string) {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Errorf("%s = %d %q (Location %q); want 200 from the app", what, res.StatusCode, res.Body, res.Header.Get("Location"))
		return
	}
	var seen map[string][]string
	if err := json.Unmarshal(res.Body, &seen); err != nil {
		t.Errorf("%s: the answer %q is not the app's JSON echo: %v", what, res.Body, err)
		return
	}
	for _, m := range identityMismatch(seen, want) {
		t.Errorf("%s: the app saw %s", what, m)
	}
}

// identityMismatch lists how the identity headers in h differ from want.
// Each name with a non-empty value in want must be there once, with that
// value; every other identity header, Remote_User spellings included, must
// be absent or empty, or be the placeholder Caddy before 2.10 puts in for a
// header lacop did not send (caddyserver/caddy#6610): not the client's.
func identityMismatch(h map[string][]string, want map[string]string) []string {
	var bad []string
	for name, v := range h {
		canon := http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))
		if !slices.Contains(remoteHeaders, canon) {
			continue
		}
		w := ""
		if name == canon {
			w = want[name]
		}
		switch {
		case w == "" && (len(v) > 1 || v[0] != "" && v[0] != "{http.reverse_proxy.header."+canon+"}"):
			bad = append(bad, fmt.Sprintf("%s: %q; want none", name, v))
		case w != "" && (len(v) != 1 || !sameHeaderValue(name, v[0], w)):
			bad = append(bad, fmt.Sprintf("%s: %q; want %q", name, v, w))
		}
	}
	for name, w := range want {
		if w != "" && h[name] == nil {
			bad = append(bad, fmt.Sprintf("no %s; want %q", name, w))
		}
	}
	slices.Sort(bad)
	return bad
}

// sameHeaderValue compares identity header values; groups are a set.
func sameHeaderValue(name, got, want string) bool {
	if name != "Remote-Groups" {
		return got == want
	}
	return slices.Equal(groupSet(got), groupSet(want))
}

func groupSet(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// remoteIdentity is what lacop tells the app about a user.
type remoteIdentity struct {
	id, email, name, groups string
}

// headers are the Remote-* values an app behind the proxy must see.
func (i remoteIdentity) headers() map[string]string {
	return map[string]string{"Remote-User": i.id, "Remote-Email": i.email, "Remote-Name": i.name, "Remote-Groups": i.groups}
}

// whoAmI is GET /api/me with the given credentials, as an identity.
func (p *portal) whoAmI(cred map[string]string) remoteIdentity {
	p.t.Helper()
	res := p.do(request{method: "GET", path: "/api/me", header: cred})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("/api/me = %d %s", res.StatusCode, res.Body)
	}
	var body struct {
		User struct {
			ID, Email, Name string
			Groups          []string
		}
	}
	if err := json.Unmarshal(res.Body, &body); err != nil || body.User.ID == "" {
		p.t.Fatalf("/api/me body %s: %v", res.Body, err)
	}
	return remoteIdentity{body.User.ID, body.User.Email, body.User.Name, strings.Join(body.User.Groups, ",")}
}

// forwardAuth asks GET /api/authz/forward-auth about a request of method
// to target (absolute), as Traefik and Caddy do, sending header too.
func (p *portal) forwardAuth(method, target string, header map[string]string) *response {
	p.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.do(request{method: "GET", path: "/api/authz/forward-auth", header: mergeHeaders(map[string]string{
		"X-Forwarded-Method": method, "X-Forwarded-Proto": u.Scheme,
		"X-Forwarded-Host": u.Host, "X-Forwarded-Uri": u.RequestURI(),
	}, header)})
}

// authRequest asks GET /api/authz/auth-request about a request of method to
// target, as nginx's auth_request does, sending header too.
func (p *portal) authRequest(method, target string, header map[string]string) *response {
	p.t.Helper()
	return p.do(request{method: "GET", path: "/api/authz/auth-request",
		header: mergeHeaders(map[string]string{"X-Original-URL": target, "X-Original-Method": method}, header)})
}

// wantAuthz checks a forward-auth or auth-request answer: the status, no
// cookie set, Cache-Control: no-store, and on 200 the identity headers want
// (nil: none; see identityMismatch).
func wantAuthz(t *testing.T, what string, res *response, status int, want map[string]string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s = %d %q (Location %q); want %d", what, res.StatusCode, res.Body, res.Header.Get("Location"), status)
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("%s: Set-Cookie %q; an authz answer must never set a cookie", what, sc)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control = %q; want no-store", what, cc)
	}
	if res.StatusCode == http.StatusOK && status == http.StatusOK {
		for _, m := range identityMismatch(res.Header, want) {
			t.Errorf("%s: %s", what, m)
		}
	}
}

// wantLoginRedirect checks a 302 to publicURL/login whose only query
// parameter rd is exactly original.
func wantLoginRedirect(t *testing.T, what string, res *response, publicURL, original string) {
	t.Helper()
	if res.StatusCode != http.StatusFound {
		t.Errorf("%s = %d %q; want 302 to the login page", what, res.StatusCode, res.Body)
		return
	}
	loc := res.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		t.Errorf("%s: Location %q: %v", what, loc, err)
		return
	}
	q := u.Query()
	if base := u.Scheme + "://" + u.Host + u.Path; base != publicURL+"/login" || len(q) != 1 || q.Get("rd") != original {
		t.Errorf("%s: Location %q; want %s/login?rd=%s", what, loc, publicURL, url.QueryEscape(original))
	}
}

// raceTrial signs one session out (signOut) while workers goroutines keep
// sending ask() with its credentials, and reports how many requests were
// sent before and after the sign-out answer arrived, and how many of the
// latter got anything but want.
func raceTrial(t *testing.T, workers int, ask func() (int, error), signOut func(), want int) (before, after, wrong int64) {
	var loggedOut, stop atomic.Bool
	var b, a, w atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !stop.Load() {
				sentAfter := loggedOut.Load()
				status, err := ask()
				if err != nil {
					t.Error(err)
					return
				}
				if !sentAfter {
					b.Add(1)
					continue
				}
				a.Add(1)
				if status != want {
					w.Add(1)
				}
			}
		})
	}
	time.Sleep(30 * time.Millisecond) // let the hammering start
	signOut()
	loggedOut.Store(true)
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	return b.Load(), a.Load(), w.Load()
}
