package e2e

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lacopCLI runs a lacop command on a fresh data directory, with no portal.
func lacopCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, append(args, "--data", filepath.Join(t.TempDir(), "data"))...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCLIUnknownSubcommand: a mistyped subcommand is an error that names it
// and suggests the command meant, at every level; a bare group still
// prints its help.
func TestCLIUnknownSubcommand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"user", "dissable", "x@example.com"}, []string{`unknown command "dissable" for "lacop user"`, "disable"}},
		{[]string{"sesion", "list"}, []string{`unknown command "sesion" for "lacop"`, "session"}},
		{[]string{"session", "lst"}, []string{`unknown command "lst" for "lacop session"`, "list"}},
		{[]string{"session", "revoek", "--user", "x@example.com"}, []string{`unknown command "revoek"`, "revoke"}},
		{[]string{"keys", "rotat"}, []string{`unknown command "rotat" for "lacop keys"`, "rotate"}},
		{[]string{"config", "chek"}, []string{`unknown command "chek" for "lacop config"`, "check"}},
		{[]string{"user", "frobnicate"}, []string{`unknown command "frobnicate" for "lacop user"`, "lacop user --help"}},
	} {
		out, err := lacopCLI(t, tt.args...)
		if err == nil {
			t.Errorf("lacop %s: exit 0; want non-zero\n%s", strings.Join(tt.args, " "), out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("lacop %s: output %q; want it to contain %q", strings.Join(tt.args, " "), out, w)
			}
		}
	}
	if out, err := lacopCLI(t, "user"); err != nil || !strings.Contains(out, "Usage:") {
		t.Errorf("lacop user: %v %q; want its help and exit 0", err, out)
	}
}

// TestCLIGroupList: --group takes a comma-separated list as well as
// repeats, trims spaces, and refuses an empty name.
func TestCLIGroupList(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("gus@example.com", "--group", "dev, ops", "--group", "admins")
	u, _ := p.me(p.login("gus@example.com"))
	var groups []string
	for _, g := range u["groups"].([]any) {
		groups = append(groups, g.(string))
	}
	if want := []string{"admins", "dev", "ops"}; !slices.Equal(sorted(groups), want) {
		t.Errorf("groups = %q; want %q", groups, want)
	}
	for _, g := range []string{"", " ", "a,,b", "a,"} {
		out, err := p.cli(testPassword+"\n", "user", "add", "x@example.com", "--password-stdin", "--group", g)
		if err == nil || !strings.Contains(out, "empty group name") {
			t.Errorf("user add --group %q: %v %q; want an empty group name refused", g, err, out)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestCLIAuditSinceAndType: --since takes days as well as Go durations, and
// an unknown --type is an error that lists the known ones.
func TestCLIAuditSinceAndType(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("dia@example.com")
	for _, since := range []string{"1d", "2d12h", "36h", "1d30m"} {
		if got := p.auditEvents("--since", since, "--type", "user.created"); len(got) != 1 {
			t.Errorf("audit --since %s --type user.created = %d events; want 1", since, len(got))
		}
	}
	for _, tt := range []struct{ args, want []string }{
		{[]string{"--since", "1x"}, []string{"--since"}},
		{[]string{"--since", "-1d"}, []string{"--since"}},
		{[]string{"--since", "d"}, []string{"--since"}},
		{[]string{"--type", "login.fail"}, []string{`unknown event type "login.fail"`, "login.failed", "user.created", "session.revoked"}},
	} {
		out, err := p.cli("", append([]string{"audit"}, tt.args...)...)
		if err == nil {
			t.Errorf("audit %s: exit 0; want an error\n%s", strings.Join(tt.args, " "), out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("audit %s: output %q; want it to contain %q", strings.Join(tt.args, " "), out, w)
			}
		}
	}
}
