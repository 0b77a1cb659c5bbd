// Package e2e holds black-box tests: they build the lacop binary, start it
// on a free port with a temp data dir, and speak HTTP and the CLI only.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the lacop executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lacop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lacop")
	args := []string{"build", "-o", binary}
	if serverRace() {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/lacop")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build lacop:", err)
		os.Exit(1)
	}
	leaks.secret("password", testPassword)
	code := leaks.report(m.Run())
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverRace says whether the lacop binary under test is built with the
// race detector: when these tests run under -race and LACOP_E2E_RACE=1.
// Not by default: argon2id under the race detector takes seconds a hash, and
// the whole package then takes most of an hour; CI runs the concurrent
// tests again with it (see .ci/run). A race the server reports fails the
// test whose server it was (startServeIn).
func serverRace() bool {
	return raceEnabled && os.Getenv("LACOP_E2E_RACE") == "1"
}

// testPassword passes the strength check; tests share it for speed of
// reading, not because the server would accept anything.
const testPassword = "correct-horse-battery-staple"

// portal is one running lacop serve.
type portal struct {
	t       *testing.T
	URL     string
	DataDir string
	config  string // config file path, "" for none
	cmd     *exec.Cmd
	out     *lockedBuffer
	client  *http.Client
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listenLine = regexp.MustCompile(`listening on (http://[^ ]+)`)

// startPortal runs lacop serve with the given YAML config (may be "") and
// waits until it listens. It is stopped when the test ends.
func startPortal(t *testing.T, configYAML string) *portal {
	t.Helper()
	return startPortalIn(t, filepath.Join(t.TempDir(), "data"), configYAML)
}

// startPortalIn is startPortal on the data directory dataDir, which may
// hold files already (the secret.key every instance of one deployment
// shares).
func startPortalIn(t *testing.T, dataDir, configYAML string) *portal {
	t.Helper()
	args := []string{"--listen", "127.0.0.1:0"}
	var config string
	if configYAML != "" {
		config = filepath.Join(t.TempDir(), "lacop.yaml")
		if err := os.WriteFile(config, []byte(configYAML), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", config)
	}
	p := startServeIn(t, dataDir, nil, args...)
	p.config = config
	return p
}

// cleanEnv is the environment without LACOP_ settings from the outside, so
// a developer's shell cannot change what a test checks.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LACOP_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *portal) dataArgs() []string {
	args := []string{"--data", p.DataDir}
	if p.config != "" {
		args = append(args, "--config", p.config)
	}
	return args
}

func (p *portal) stop() {
	if p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	leaks.files(p.DataDir)
}

// cli runs a lacop command against the portal's data, as an operator would
// while serve is running.
func (p *portal) cli(stdin string, args ...string) (string, error) {
	cmd := exec.Command(binary, append(args, p.dataArgs()...)...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// addUser creates a user through the CLI.
func (p *portal) addUser(email string, extra ...string) {
	p.t.Helper()
	out, err := p.cli(testPassword+"\n", append([]string{"user", "add", email, "--password-stdin"}, extra...)...)
	if err != nil {
		p.t.Fatalf("user add %s: %v\n%s", email, err, out)
	}
}

// request is one HTTP call; cookie is the session secret to send ("" none).
type request struct {
	method, path string
	body         any // string is sent as is, anything else as JSON
	cookie       string
	header       map[string]string
}

// response is a read HTTP answer.
type response struct {
	*http.Response
	Body []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", r.Request.URL, err, r.Body)
	}
	return v
}

const cookieName = "__Host-lacop_session"

func (p *portal) do(req request) *response {
	p.t.Helper()
	res, err := p.try(req)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

func (p *portal) try(req request) (*response, error) {
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(data)
	}
	r, err := http.NewRequest(req.method, p.URL+req.path, body)
	if err != nil {
		return nil, err
	}
	if body != nil && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: req.cookie})
	}
	res, err := p.client.Do(r)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Response: res, Body: data}, nil
}

// login signs in through the API and returns the session secret.
func (p *portal) login(email string) string {
	p.t.Helper()
	res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": email, "password": testPassword}})
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("login %s: %d %s", email, res.StatusCode, res.Body)
	}
	c := sessionCookie(res.Response)
	if c == nil || c.Value == "" {
		p.t.Fatalf("login %s: no session cookie in %v", email, res.Header["Set-Cookie"])
	}
	return c.Value
}

// sessionSetCookies are the Set-Cookie lines of a response that set a
// session cookie (__Host- or __Secure-lacop_session), leaving out the
// device cookie a sign-in sets beside it.
func sessionSetCookies(res *http.Response) []string {
	var out []string
	for _, line := range res.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		if strings.HasSuffix(name, "lacop_session") {
			out = append(out, line)
		}
	}
	return out
}

// sessionCookie returns the session cookie a response set, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "lacop_session") {
			leaks.secret("session cookie", c.Value)
			return c
		}
	}
	return nil
}

// status returns the status of GET /api/me with the secret.
func (p *portal) meStatus(secret string) int {
	p.t.Helper()
	return p.do(request{method: "GET", path: "/api/me", cookie: secret}).StatusCode
}

// auditOutput runs lacop audit --wide (the raw record: ids, whole user
// agents and details) with args and returns its output.
func (p *portal) auditOutput(args ...string) string {
	p.t.Helper()
	out, err := p.cli("", append([]string{"audit", "--wide"}, args...)...)
	if err != nil {
		p.t.Fatalf("lacop audit: %v\n%s", err, out)
	}
	return out
}

// auditEvents returns the event lines of lacop audit, without the header.
func (p *portal) auditEvents(args ...string) []string {
	p.t.Helper()
	lines := strings.Split(strings.TrimSpace(p.auditOutput(args...)), "\n")
	return lines[1:]
}

// sessionLines returns lacop session list's rows, without the header.
func (p *portal) sessionLines(args ...string) []string {
	p.t.Helper()
	out, err := p.cli("", append([]string{"session", "list"}, args...)...)
	if err != nil {
		p.t.Fatalf("lacop session list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[1:]
}

// restart starts p.cmd (prepared by the caller) and waits for it to listen.
func restart(t *testing.T, p *portal) *portal {
	t.Helper()
	q := &portal{t: t, DataDir: p.DataDir, config: p.config, cmd: p.cmd, out: &lockedBuffer{}, client: p.client}
	stdout, err := q.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	q.cmd.Stderr = q.out
	if err := q.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.stop)
	leaks.output(t.Name()+" log after restart", func() []byte { return []byte(q.out.String()) })
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(20*time.Second, func() { q.cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
			q.URL = m[1]
			go io.Copy(q.out, stdout)
			return q
		}
	}
	t.Fatalf("lacop did not restart:\n%s", q.out.String())
	return nil
}
