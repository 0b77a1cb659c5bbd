package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// TestSessionRevokeDashID: databases made before public ids stopped
// starting with '-' hold such ids, and session revoke must take any id that
// session list shows, written as it is shown.
func TestSessionRevokeDashID(t *testing.T) {
	dir := t.TempDir()
	m := start(t, dir, testPassword+"\n", "user", "add", "ada@example.com", "--password-stdin")
	u, err := m.Auth.Users.UserByEmail(t.Context(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"-8T8ZiQxN0mYc4kP2bVwAA", // the id from the report, padded to 22
		"--serData0mYc4kP2bVwAA", // two dashes: pflag would read a long flag
		"-hZiQxN0mYc4kP2bVwAAbb", // -h is the help flag's shorthand
		"-_ZiQxN0mYc4kP2bVwAAbb",
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, id := range ids {
		err := m.Auth.Sessions.CreateSession(t.Context(), &lacop.Session{ID: id, SecretHash: []byte{byte(i), 1, 2, 3},
			UserID: u.ID, AuthLevel: lacop.AuthLevelOneFactor, CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatalf("CreateSession(%q): %v", id, err)
		}
	}
	m.Close()

	list, err := run(t, dir, "", "session", "list")
	if err != nil {
		t.Fatalf("session list: %v\n%s", err, list)
	}
	for _, id := range ids {
		if !strings.Contains(list, id+" ") {
			t.Errorf("session list does not show %q:\n%s", id, list)
		}
	}
	for i, args := range [][]string{
		{"session", "revoke", ids[0]},
		{"session", "revoke", ids[1]},
		{"session", "revoke", ids[2], "--storage-driver", "sqlite"},
		{"session", "revoke", "--", ids[3]}, // the portable spelling still works
	} {
		out, err := run(t, dir, "", args...)
		if err != nil || !strings.Contains(out, "ended session "+ids[i]) {
			t.Errorf("lacop %s: %v %q; want the session ended", strings.Join(args, " "), err, out)
		}
	}
	if out, _ := run(t, dir, "", "session", "list"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("sessions left after revoking every one:\n%s", out)
	}

	// What is not an id stays a flag.
	for _, tt := range []struct {
		args    []string
		wantErr bool
		want    string
	}{
		{[]string{"session", "revoke", "--bogus"}, true, "unknown flag: --bogus"},
		{[]string{"session", "revoke", "-x"}, true, "unknown shorthand flag: 'x'"},
		{[]string{"session", "revoke", "--help"}, false, "Usage:"},
		{[]string{"session", "revoke", "-h"}, false, "Usage:"},
		{[]string{"session", "revoke", "--user", "ada@example.com"}, false, "ended 0 session(s)"},
		{[]string{"session", "revoke", "--user=nobody@example.com"}, true, "no user with email"},
	} {
		out, err := run(t, dir, "", tt.args...)
		if (err != nil) != tt.wantErr || !strings.Contains(out+errString(err), tt.want) {
			t.Errorf("lacop %s: %v %q; want error %v and %q", strings.Join(tt.args, " "), err, out, tt.wantErr, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
