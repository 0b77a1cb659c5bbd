// Package lacopbin builds the lacop binary for the measuring tools
// (tools/fwdload, tools/lacopload), so that what they measure is the
// module's own ./cmd/lacop as it is in the working tree.
package lacopbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds ./cmd/lacop of the module the tool is run in into bin.
func Build(ctx context.Context, bin string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if _, err := os.Stat(filepath.Join(root, "cmd", "lacop")); err != nil {
		return fmt.Errorf("run from the lacop module, or give -lacop: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lacop")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/lacop: %w\n%s", err, out)
	}
	return nil
}
