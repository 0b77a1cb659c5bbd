package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // seeds a running portal's SQLite file
)

// longEmail is a valid address of about 250 characters, different for
// each n: the widest value the admin tables must hold.
func longEmail(n int) string {
	local := fmt.Sprintf("%03d.", n) + strings.Repeat("a", 60)
	label := strings.Repeat("x", 58)
	return local + "@" + label + "." + label + "." + label + ".example.com"
}

// seedPeople writes n people and events straight into the portal's SQLite
// file, beside what the portal wrote itself (creating them through lacop
// would hash a password for each, for nothing the test looks at). Every
// fifth person has a long email, a long name and many groups; events are
// spread over the people, with long user agents and details. The rows are
// as lacop writes them; lacop reads them like its own.
func seedPeople(t *testing.T, p *portal, people, events int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(p.DataDir, "lacop.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now()
	user, err := tx.Prepare(`INSERT INTO users (id, email, name, admin, groups_json, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, 0, ?, 'seeded-no-password', ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range people {
		email, name, groups := fmt.Sprintf("person%05d@example.com", i), fmt.Sprintf("Person %d", i), []string{"staff"}
		if i%5 == 0 {
			email = longEmail(i)
			name = "Maximiliana Alexandra Konstantinopoulou-Wolfeschlegelsteinhausenberger " + fmt.Sprint(i)
			groups = []string{"engineering", "operations", "security-reviewers", "on-call-primary", "finance-approvers", "g" + fmt.Sprint(i)}
		}
		g, _ := json.Marshal(groups)
		at := now.Add(-time.Duration(people-i) * time.Minute).UnixMilli()
		if _, err := user.Exec(fmt.Sprintf("seed%05d", i), email, name, string(g), at, at); err != nil {
			t.Fatal(err)
		}
	}
	event, err := tx.Prepare(`INSERT INTO audit_events (time, type, user_id, session_id, actor_id, ip, user_agent, detail_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	types := []string{"login.succeeded", "login.failed", "session.revoked", "password.changed", "user.updated"}
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0 SomeToolbar/12.4.1 (compatible; very long product token list)"
	for i := range events {
		who := fmt.Sprintf("seed%05d", (i*7)%max(people, 1))
		detail, _ := json.Marshal(map[string]string{"reason": "admin_revoked", "by": "admin",
			"note":  "A long note typed by a person that goes on and on to test that the details column wraps or cuts it without pushing the table wider than the page " + fmt.Sprint(i),
			"email": longEmail(i)})
		at := now.Add(-time.Duration(events-i) * time.Second).UnixMilli()
		if _, err := event.Exec(at, types[i%len(types)], who, "sess"+fmt.Sprint(i), who, "2001:db8:85a3:1234:5678:8a2e:370:7334", ua, string(detail)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
