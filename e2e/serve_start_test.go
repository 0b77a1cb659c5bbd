package e2e

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// setupLink is the one-time link serve prints on an empty database.
var setupLink = regexp.MustCompile(`(https?://[^ \n]+)/setup\?token=([A-Za-z0-9_%-]+)`)

// printedSetup returns the base URL and the token of the setup link in out.
func printedSetup(t *testing.T, out string) (base, token string) {
	t.Helper()
	m := setupLink.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no setup link printed:\n%s", out)
	}
	token, err := url.QueryUnescape(m[2])
	if err != nil {
		t.Fatal(err)
	}
	return m[1], token
}

// runServe runs lacop serve with args to its end, which a start that fails
// reaches on its own; a start that does not fail is killed after a while
// and reported as such by the caller's checks (its exit is then not the
// listen error).
func runServe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve"}, args...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("lacop serve %q was still running after 30s; want it to fail:\n%s", args, out)
	}
	return string(out), err
}

// TestSecondServeOnBusyPort: a second serve on the same data and a port
// already taken fails at once, non-zero, saying the address is in use; it
// prints no setup link and claims no token, so the first one's link still
// works; and it logs no error about parts it never started.
func TestSecondServeOnBusyPort(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	_, token := printedSetup(t, p.out.String())
	addr := strings.TrimPrefix(p.URL, "http://")

	out, err := runServe(t, "--listen", addr, "--data", p.DataDir)
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("second serve on %s: err %v; want a non-zero exit\n%s", addr, err, out)
	}
	if !strings.Contains(out, addr) || !strings.Contains(out, "address already in use") {
		t.Errorf("second serve said %q; want the address %s and \"address already in use\"", out, addr)
	}
	if strings.Contains(out, "/setup?token=") {
		t.Errorf("second serve printed a setup link:\n%s", out)
	}
	for _, bad := range []string{"relay stopped", "context canceled", "level=ERROR"} {
		if strings.Contains(out, bad) {
			t.Errorf("second serve logged %q:\n%s", bad, out)
		}
	}
	if res := p.do(request{method: "GET", path: "/setup?token=" + url.QueryEscape(token)}); res.StatusCode != http.StatusOK {
		t.Errorf("the first serve's setup link after a failed second start = %d; want 200", res.StatusCode)
	}
}

// TestPublicURLFollowsListen: with no public_url set, the setup link points
// at the address serve listens on, port included — also when the port was
// chosen by the system (:0); a wildcard address gives the loopback address
// and a log line saying to set public_url for other machines; a public_url
// that is set (here by the environment) is kept.
func TestPublicURLFollowsListen(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	base, token := printedSetup(t, p.out.String())
	if base != p.URL {
		t.Errorf("--listen 127.0.0.1:0: setup link on %s; want %s, where serve listens", base, p.URL)
	}
	if res := p.do(request{method: "GET", path: "/setup?token=" + url.QueryEscape(token)}); res.StatusCode != http.StatusOK {
		t.Errorf("GET the printed setup link = %d; want 200", res.StatusCode)
	}

	port := freePort(t)
	for _, tt := range []struct {
		listen, env, want string
		hint              bool
	}{
		{listen: "127.0.0.1:" + port, want: "http://127.0.0.1:" + port},
		{listen: "0.0.0.0:" + port, want: "http://127.0.0.1:" + port, hint: true},
		{listen: ":" + port, want: "http://127.0.0.1:" + port, hint: true},
		{listen: "127.0.0.1:" + port, env: "LACOP_PUBLIC_URL=https://auth.example.com", want: "https://auth.example.com"},
	} {
		q := startServe(t, []string{tt.env}, "--listen", tt.listen)
		out := q.out.String()
		if base, _ := printedSetup(t, out); base != tt.want {
			t.Errorf("--listen %s %s: setup link on %s; want %s", tt.listen, tt.env, base, tt.want)
		}
		if hint := strings.Contains(out, "set public_url"); hint != tt.hint {
			t.Errorf("--listen %s %s: log says to set public_url: %v; want %v\n%s", tt.listen, tt.env, hint, tt.hint, out)
		}
		q.stop()
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
