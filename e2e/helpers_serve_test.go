package e2e

import (
	"bufio"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// anyListenLine is the listening line over http or https.
var anyListenLine = regexp.MustCompile(`listening on (https?://[^ ]+)`)

// startServe runs lacop serve on a new data directory with args (which may
// hold --listen, --config, --public-url…) and the environment entries env
// added to the clean one, and waits until it listens. Unlike startPortal it
// does not choose the listen address, and it accepts an https listener.
// It is stopped when the test ends.
func startServe(t *testing.T, env []string, args ...string) *portal {
	t.Helper()
	return startServeIn(t, filepath.Join(t.TempDir(), "data"), env, args...)
}

// startServeIn is startServe on the data directory dataDir.
func startServeIn(t *testing.T, dataDir string, env []string, args ...string) *portal {
	t.Helper()
	p := &portal{t: t, DataDir: dataDir, out: &lockedBuffer{}}
	p.cmd = exec.Command(binary, append([]string{"serve", "--data", p.DataDir}, args...)...)
	p.cmd.Env = cleanEnv()
	for _, kv := range env {
		if kv != "" {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if out := p.out.String(); strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("lacop serve reported a data race:\n%s", out[strings.Index(out, "WARNING: DATA RACE"):])
		}
	})
	leaks.output(t.Name()+" log", func() []byte { return []byte(p.out.String()) })

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if m := anyListenLine.FindStringSubmatch(line); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("lacop serve %q exited before listening:\n%s", args, p.out.String())
		}
		p.URL = u
	case <-time.After(20 * time.Second):
		t.Fatalf("lacop serve %q did not start listening:\n%s", args, p.out.String())
	}
	p.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p
}
