package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoredEmailsNormalized: an older lacop compared addresses only
// lower-cased, so its database may hold an address typed decomposed or in
// fullwidth letters, which no lookup (now in PRECIS form) would find. The
// next command that opens the data rewrites it, records the change, and
// leaves an address whose normal form another account holds to the admin.
func TestStoredEmailsNormalized(t *testing.T) {
	dir := t.TempDir()
	for _, email := range []string{"zoe@example.com", "ann@example.com", "ann2@example.com"} {
		if out, err := run(t, dir, testPassword+"\n", "user", "add", email, "--password-stdin"); err != nil {
			t.Fatalf("user add %s: %v\n%s", email, err, out)
		}
	}
	const (
		nfd       = "zoe\u0308@exa\u0308mple.com" // what an older lacop stored as typed
		nfc       = "zo\u00eb@ex\u00e4mple.com"   // its PRECIS form
		fullwidth = "\uff41nn@example.com"        // fullwidth a: its normal form is ann@…, taken
	)
	db, err := sql.Open("sqlite", filepath.Join(dir, "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	for old, now := range map[string]string{"zoe@example.com": nfd, "ann2@example.com": fullwidth} {
		if _, err := db.Exec(`UPDATE users SET email = ? WHERE email = ?`, now, old); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out, err := run(t, dir, "", "session", "list", "--user", "ZOE\u0308@EXA\u0308MPLE.COM")
	if err != nil {
		t.Fatalf("session list --user (decomposed capitals): %v\n%s", err, out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "ann@example.com") {
		t.Errorf("no warning about the address whose normal form is taken:\n%s", out)
	}
	audit, err := run(t, dir, "", "audit", "--wide", "--type", "email.changed")
	if err != nil || !strings.Contains(audit, `to="`+nfc+`"`) || !strings.Contains(audit, `by="normalization"`) {
		t.Errorf("audit --type email.changed: %v\n%s\nwant the rewrite to %s recorded", err, audit, nfc)
	}
	if strings.Count(audit, "  email.changed  ") != 1 {
		t.Errorf("audit --type email.changed: want exactly one event (the taken address is left alone):\n%s", audit)
	}
}
