package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// proc is a server process this tool started.
type proc struct {
	name   string
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	stderr string // file its stderr goes to
	done   chan struct{}
}

// listenLine is how both lacop and the empty server announce their address.
var listenLine = regexp.MustCompile(`listening on http://(\S+)`)

// startProc starts cmd and waits for it to print its address. On error the
// returned proc, if not nil, must still be stopped.
func startProc(ctx context.Context, name string, cmd *exec.Cmd, stderrPath string) (*proc, error) {
	errf, err := os.Create(stderrPath)
	if err != nil {
		return nil, err
	}
	defer errf.Close() // the child has its own copy
	cmd.Stderr = errf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, stderr: stderrPath, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		// Read stdout to the end, so the child never blocks on it, and
		// only then Wait, as os/exec requires.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-addrc:
		return p, nil
	case <-p.done:
		return p, fmt.Errorf("%s exited before listening (%v):\n%s", name, cmd.ProcessState, p.stderrTail())
	case <-time.After(30 * time.Second):
		return p, fmt.Errorf("%s did not print its address within 30s:\n%s", name, p.stderrTail())
	case <-ctx.Done():
		return p, ctx.Err()
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to shut down and kills it if it has not within 5s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stderrTail is the end of what the process wrote to stderr, for errors.
func (p *proc) stderrTail() string {
	b, _ := os.ReadFile(p.stderr)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(nothing on stderr)"
	}
	return string(b)
}

// The user the signed-in scenario runs as.
const (
	benchEmail    = "bench@example.com"
	benchPassword = "quiet-river-orchard-42"
)

// lacopConfig is production-like except that logging is quiet (a log line
// per request would be measured too), unknown cookies are never throttled,
// so the flood keeps reaching the store, and neither are sign-ins from one
// address, so the sign-in flood keeps hashing. On PostgreSQL or Redis the
// instances cache under leases (storage.shared_cache; SQLite ignores it).
const lacopConfig = `public_url: https://auth.example.com
redirect:
  allowed_domains: [example.com]
access_control:
  default_policy: one_factor
storage:
  shared_cache: true
regulation:
  max_failures: 1000000
  max_failures_per_ip: 1000000
  max_unknown_cookies: 1000000000
log:
  level: warn
`

// startLacop creates a data directory with one user, starts lacop serve on
// it and signs in. It returns the Cookie header value of that session.
func startLacop(ctx context.Context, bin, tmp string, storage []string) (*proc, string, error) {
	data := filepath.Join(tmp, "data")
	cfg := filepath.Join(tmp, "lacop.yaml")
	if err := os.WriteFile(cfg, []byte(lacopConfig), 0o600); err != nil {
		return nil, "", err
	}
	storage = append(storage, "--config", cfg, "--data", data)
	// Redis keys of this run stay apart from anything else in that Redis.
	env := append(os.Environ(), fmt.Sprintf("LACOP_STORAGE_REDIS_PREFIX=fwdload-%d:", os.Getpid()))
	add := exec.CommandContext(ctx, bin, append([]string{"user", "add", benchEmail, "--name", "Bench", "--password-stdin"}, storage...)...)
	add.Env = env
	add.Stdin = strings.NewReader(benchPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("lacop user add: %w\n%s", err, out)
	}
	serve := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, storage...)...)
	serve.Env = env
	p, err := startProc(ctx, "lacop", serve, filepath.Join(tmp, "lacop.stderr"))
	if err != nil {
		return p, "", err
	}
	cookie, err := signIn(ctx, p.addr)
	if err != nil {
		return p, "", fmt.Errorf("sign in: %w\n%s", err, p.stderrTail())
	}
	return p, cookie, nil
}

// signIn posts the bench user's credentials and returns "name=value" of the
// session cookie, to be sent as is (it is Secure, so a cookie jar would not
// send it over http).
func signIn(ctx context.Context, addr string) (string, error) {
	resp, msg, err := postJSON(ctx, http.DefaultTransport, addr, "/api/login", credentials(), "")
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /api/login answered %s: %s", resp.Status, msg)
	}
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "lacop_session") && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("POST /api/login set no session cookie")
}

// credentials are the bench user's, as /api/login takes them.
func credentials() map[string]string {
	return map[string]string{"email": benchEmail, "password": benchPassword}
}

// postJSON posts body as JSON to path, with cookie ("name=value") when set,
// and returns the answer with up to 1000 bytes of its body read (the rest
// is discarded, so the connection can be kept).
func postJSON(ctx context.Context, rt http.RoundTripper, addr, path string, body any, cookie string) (*http.Response, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, msg, nil
}

// emptyServerCmd is the hidden subcommand that runs the baseline server.
const emptyServerCmd = "empty-server"

// startEmptyServer runs this program again as the baseline server, so it is
// a process of its own whose CPU can be read like lacop's.
func startEmptyServer(ctx context.Context, tmp string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startProc(ctx, "empty server", exec.Command(self, emptyServerCmd), filepath.Join(tmp, "empty.stderr"))
}

// runEmptyServer is the baseline: net/http with lacop's server settings
// and a handler that answers 200 with no body, until SIGINT or SIGTERM.
// At lacop's forward-auth path it answers with the headers lacop's
// signed-in answer carries (fixed values of the same length), so that
// reading the same request and writing the same answer is a baseline too.
func runEmptyServer(stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "fwdload: listening on http://%s\n", ln.Addr())
	// The same timeouts and header limit as lacop serve (cmd/lacop/serve.go).
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == forwardAuthPath {
				h := w.Header()
				h["Cache-Control"] = []string{"no-store"}
				h["X-Content-Type-Options"] = []string{"nosniff"}
				h["Remote-User"] = []string{"01KBWQ1DZ3J5Q9XGAT8V7N2M4P"}
				h["Remote-Email"] = []string{benchEmail}
				h["Remote-Name"] = []string{"Bench"}
				h["Remote-Groups"] = []string{""}
			}
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}
