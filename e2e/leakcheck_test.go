package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// leaks gathers, over the whole e2e run, every raw secret the tests were
// handed (session cookies, access and refresh tokens, recovery codes, the
// password) and everything lacop wrote (each process's log, each SQLite
// file when its process stopped), so TestMain can check at the end that
// no secret appears in any of it: nothing raw in a log line, an audit
// event or a stored row.
var leaks = &leakCheck{}

type leakCheck struct {
	mu      sync.Mutex
	secrets map[string]string // secret → what it is
	outputs []leakSource
}

type leakSource struct {
	name string
	data func() []byte
}

// secret notes a raw secret the server handed out or was given.
func (l *leakCheck) secret(kind, s string) {
	if len(s) < 12 { // too short to search for without false alarms
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.secrets == nil {
		l.secrets = map[string]string{}
	}
	l.secrets[s] = kind
}

// output notes something lacop wrote, read when the run ends.
func (l *leakCheck) output(name string, data func() []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outputs = append(l.outputs, leakSource{name, data})
}

// files notes the SQLite files of a data directory as they are now.
func (l *leakCheck) files(dir string) {
	for _, name := range []string{"lacop.db", "lacop.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && len(data) > 0 {
			l.output(filepath.Join(filepath.Base(filepath.Dir(dir)), name), func() []byte { return data })
		}
	}
}

// check returns one line per secret found in an output.
func (l *leakCheck) check() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []string
	for _, src := range l.outputs {
		data := src.data()
		for s, kind := range l.secrets {
			if bytes.Contains(data, []byte(s)) {
				found = append(found, fmt.Sprintf("%s %.12q… found in %s", kind, s, src.name))
			}
		}
	}
	return found
}

// report runs the check after the tests; it turns a passing run into a
// failing one when anything leaked.
func (l *leakCheck) report(code int) int {
	found := l.check()
	l.mu.Lock()
	n, m := len(l.secrets), len(l.outputs)
	l.mu.Unlock()
	if len(found) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: raw secrets in lacop's output or files (%d):\n", len(found))
		for _, f := range found[:min(len(found), 20)] {
			fmt.Fprintln(os.Stderr, "  ", f)
		}
		return 1
	}
	fmt.Printf("leak check: %d secrets, none in %d logs and database files\n", n, m)
	return code
}
