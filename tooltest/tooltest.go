// Package tooltest finds the programs some tests run beside lacop
// (oauth2-proxy, mailpit), which CI installs with `go install`: on PATH, in
// GOBIN, or in $(go env GOPATH)/bin. Without one a test skips with the
// command that installs it, except in CI (CI set), where it fails.
package tooltest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GoInstalled returns the path of the program name, which install
// (a `go install …` command) puts in place.
func GoInstalled(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n") // GOBIN's line may be empty
		if len(lines) == 2 {
			if lines[0] != "" {
				dirs = append(dirs, lines[0])
			}
			for _, gopath := range filepath.SplitList(lines[1]) {
				dirs = append(dirs, filepath.Join(gopath, "bin"))
			}
		}
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI must run the tests that need it (%s)", name, install)
	}
	t.Skipf("%s not found: skipping (%s to run this test)", name, install)
	return ""
}
