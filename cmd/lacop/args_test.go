package main

import (
	"strings"
	"testing"
)

// TestEmailArgStartingWithDash: "-bob@example.com" is a valid address, and
// the commands that take an EMAIL take it as written.
func TestEmailArgStartingWithDash(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		stdin   string
		args    []string
		wantErr bool
		want    string
	}{
		{testPassword + "\n", []string{"user", "add", "-bob@example.com", "--password-stdin", "--name", "Bob"}, false, "created user -bob@example.com"},
		{testPassword + "x\n", []string{"user", "passwd", "--password-stdin", "-bob@example.com"}, false, "password set for -bob@example.com"},
		{"", []string{"user", "disable", "-bob@example.com"}, false, "disabled -bob@example.com"},
		{"", []string{"user", "reset-2fa", "-bob@example.com"}, false, "second factor removed for -bob@example.com"},
		{"", []string{"user", "disable", "--", "-bob@example.com"}, false, "disabled -bob@example.com"},
		{"", []string{"user", "disable", "-bob"}, true, "unknown shorthand flag: 'b'"},
		{"", []string{"user", "disable", "--bogus", "x@example.com"}, true, "unknown flag: --bogus"},
		{testPassword + "\n", []string{"user", "add", "--name", "-x@example.com", "y@example.com", "--password-stdin"}, false, "created user y@example.com"},
	} {
		out, err := run(t, dir, tt.stdin, tt.args...)
		if (err != nil) != tt.wantErr || !strings.Contains(out+errString(err), tt.want) {
			t.Errorf("lacop %s: %v %q; want error %v and %q", strings.Join(tt.args, " "), err, out, tt.wantErr, tt.want)
		}
	}
}

// TestGroupsKeepTheirHelp: a group of commands alone, help and completion
// still work once mistyped subcommands are refused.
func TestGroupsKeepTheirHelp(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args    []string
		wantErr bool
		want    string
	}{
		{[]string{}, false, "lacop [command]"},
		{[]string{"user"}, false, "lacop user [command]"},
		{[]string{"help", "user"}, false, "lacop user [command]"},
		{[]string{"user", "--help"}, false, "lacop user [command]"},
		{[]string{"completion", "bash"}, false, "bash completion"},
		{[]string{"user", "dissable", "x@example.com"}, true, `unknown command "dissable" for "lacop user"; did you mean disable?`},
		{[]string{"session", "--storage-driver", "sqlite", "revoek"}, true, `unknown command "revoek" for "lacop session"; did you mean revoke?`},
		{[]string{"sesion", "list"}, true, `unknown command "sesion" for "lacop"; did you mean session or version?`},
	} {
		out, err := run(t, dir, "", tt.args...)
		if (err != nil) != tt.wantErr || !strings.Contains(out+errString(err), tt.want) {
			t.Errorf("lacop %s: %v %q; want error %v and %q", strings.Join(tt.args, " "), err, out, tt.wantErr, tt.want)
		}
		if strings.Contains(out, "lacop user [flags]") {
			t.Errorf("lacop %s: help offers lacop user [flags]; a group runs nothing itself", strings.Join(tt.args, " "))
		}
	}
}
