package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// password is every load user's password (strong enough for lacop's check).
const password = "quiet-river-orchard-42"

// lacopConfig: sign-in throttling and the unknown-cookie limit are lifted,
// or the load (many sign-ins from one address) and the probes (many dead
// cookies from one address) would be answered 429 instead of reaching the
// stores; logging is quiet.
const lacopConfig = `public_url: http://127.0.0.1
regulation:
  max_failures: 1000000
  max_failures_per_ip: 1000000
  max_unknown_cookies: 1000000000
log:
  level: warn
`

// lacop is the server under load and the way to run its command line on
// the same data.
type lacop struct {
	bin, cfg, data string
	storage        []string // storage flags
	env            []string
	cmd            *exec.Cmd
	addr           string
	stderr         string // file lacop serve's stderr goes to
	done           chan struct{}
	exitErr        error // cmd.Wait's answer, once done is closed
}

var listenLine = regexp.MustCompile(`listening on http://(\S+)`)

func newLacop(bin, tmp string, o options) (*lacop, error) {
	l := &lacop{bin: bin, cfg: filepath.Join(tmp, "lacop.yaml"), data: filepath.Join(tmp, "data"),
		stderr: filepath.Join(tmp, "lacop.stderr"), done: make(chan struct{})}
	if o.postgresURL != "" {
		l.storage = append(l.storage, "--storage-driver", "postgres", "--postgres-url", o.postgresURL)
	}
	if o.redisURL != "" {
		l.storage = append(l.storage, "--redis-url", o.redisURL)
	}
	// Redis keys of this run stay apart from anything else in that Redis.
	l.env = append(os.Environ(), fmt.Sprintf("LACOP_STORAGE_REDIS_PREFIX=lacopload-%d-%d:", os.Getpid(), time.Now().Unix()))
	return l, os.WriteFile(l.cfg, []byte(lacopConfig), 0o600)
}

// cli runs a lacop command on the run's config, data and storage.
func (l *lacop) cli(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	args = append(append(args, "--config", l.cfg, "--data", l.data), l.storage...)
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Env = l.env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("lacop %s: %w: %s", strings.Join(args[:min(3, len(args))], " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// addUsers creates the users, the first alone (it creates the database),
// then the rest four at a time.
func (l *lacop) addUsers(ctx context.Context, emails []string) error {
	add := func(e string) error {
		_, err := l.cli(ctx, password+"\n", "user", "add", e, "--password-stdin")
		return err
	}
	if len(emails) == 0 {
		return nil
	}
	if err := add(emails[0]); err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 4)
		mu   sync.Mutex
		errs []error
	)
	for _, e := range emails[1:] {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := add(e); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// start runs lacop serve on 127.0.0.1:0 and waits for its address.
func (l *lacop) start(ctx context.Context) error {
	errf, err := os.Create(l.stderr)
	if err != nil {
		return err
	}
	defer errf.Close() // the child has its own copy
	l.cmd = exec.Command(l.bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--config", l.cfg, "--data", l.data}, l.storage...)...)
	l.cmd.Env = l.env
	l.cmd.Stderr = errf
	dieWithParent(l.cmd)
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := l.cmd.Start(); err != nil {
		return fmt.Errorf("start lacop: %w", err)
	}
	addrc := make(chan string, 1)
	go func() {
		// Read stdout to the end so lacop never blocks on it, then Wait.
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
		l.exitErr = l.cmd.Wait()
		close(l.done)
	}()
	select {
	case l.addr = <-addrc:
		return nil
	case <-l.done:
		return fmt.Errorf("lacop exited before listening (%v):\n%s", l.exitErr, l.stderrTail())
	case <-time.After(60 * time.Second):
		return fmt.Errorf("lacop did not print its address within 60s:\n%s", l.stderrTail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *lacop) exited() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a graceful exit; it reports lacop's
// exit status, or that it had to be killed after 30 s.
func (l *lacop) stop() error {
	if l.cmd == nil || l.cmd.Process == nil {
		return nil
	}
	if l.exited() {
		return fmt.Errorf("lacop had already exited: %v", l.exitErr)
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.done:
		if l.exitErr != nil {
			return fmt.Errorf("lacop exited with %v after SIGTERM:\n%s", l.exitErr, l.stderrTail())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.done
		return errors.New("lacop did not stop within 30s of SIGTERM; killed")
	}
}

// stderrTail is the end of what lacop serve wrote to stderr.
func (l *lacop) stderrTail() string {
	b, _ := os.ReadFile(l.stderr)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(nothing on stderr)"
	}
	return string(b)
}

// logLines returns how many lines lacop serve logged (at warn or error,
// the configured level) and the first few.
func (l *lacop) logLines(keep int) (int, []string) {
	b, _ := os.ReadFile(l.stderr)
	var first []string
	n := 0
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		n++
		if len(first) < keep {
			first = append(first, line)
		}
	}
	return n, first
}

// auditCount counts the events of type typ from the last 24 h with lacop
// audit (a header line, then one line per event). The limit is set far
// above what the run can have produced; reaching it is an error.
func (l *lacop) auditCount(ctx context.Context, typ string, atLeast int) (int, error) {
	limit := 10*atLeast + 10000
	out, err := l.cli(ctx, "", "audit", "--type", typ, "--since", "24h", "--limit", fmt.Sprint(limit))
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "TIME") {
		return 0, fmt.Errorf("lacop audit: no header line in %q", truncate(string(out), 200))
	}
	n := 0
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] != typ {
			return 0, fmt.Errorf("lacop audit --type %s: unexpected line %q", typ, truncate(line, 200))
		}
		n++
	}
	if n >= limit {
		return n, fmt.Errorf("lacop audit --type %s: %d lines reach --limit %d", typ, n, limit)
	}
	return n, nil
}

// liveSessions lists the ids of every session lacop session list shows.
func (l *lacop) liveSessions(ctx context.Context) ([]string, error) {
	out, err := l.cli(ctx, "", "session", "list")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID") {
		return nil, fmt.Errorf("lacop session list: no header line in %q", truncate(string(out), 200))
	}
	var ids []string
	for _, line := range lines[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids, nil
}

// spoolBytes is the size of the audit spool left in the data directory:
// events the audit store had refused and that never reached it.
func (l *lacop) spoolBytes() int64 {
	fi, err := os.Stat(filepath.Join(l.data, "audit.spool"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
