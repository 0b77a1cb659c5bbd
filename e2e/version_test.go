package e2e

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: lacop version says what runs — the version (devel for a
// build that is not a release), the commit, the build date, the Go
// version and platform — as text and as JSON.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	if v["version"] != "devel" || v["goVersion"] != runtime.Version() || v["platform"] != runtime.GOOS+"/"+runtime.GOARCH ||
		v["commit"] == "" || v["buildDate"] == "" {
		t.Errorf("version --json = %v", v)
	}
	text, err := exec.Command(binary, "version").Output()
	if err != nil || !strings.HasPrefix(string(text), "lacop devel\n") || !strings.Contains(string(text), runtime.Version()) {
		t.Errorf("version = %q, %v", text, err)
	}
}
