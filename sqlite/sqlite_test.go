package sqlite_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/sqlite"
	"github.com/lacop/lacop/storetest"
)

// open opens a lacop database at path and closes it when the test ends.
func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// stores returns every store on db.
func stores(db *sqlite.DB) storetest.Stores {
	return storetest.Stores{
		Users:    sqlite.NewUserStore(db),
		Sessions: sqlite.NewSessionStore(db),
		Audit:    sqlite.NewAuditStore(db),
		Setup:    sqlite.NewSetupStore(db),

		SecondFactor: sqlite.NewSecondFactorStore(db),
		Regulation:   sqlite.NewRegulationStore(db),
		Tokens:       sqlite.NewTokenStore(db),
		Keys:         sqlite.NewKeyStore(db),
		Apps:         sqlite.NewAppStore(db),
		Outbox:       sqlite.NewOutboxStore(db),
		Links:        sqlite.NewLinkStore(db),
		Devices:      sqlite.NewDeviceStore(db),
		Passkeys:     sqlite.NewPasskeyStore(db),
	}
}

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return stores(open(t, filepath.Join(t.TempDir(), "lacop.db")))
	})
}

// foreignSQLite creates a SQLite database at path that belongs to some
// other program, preparing it with stmts through the plain driver.
func foreignSQLite(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// dirNames lists the names in dir, so that a test can tell whether Open
// left a journal, WAL or shared-memory file behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	random := make([]byte, 8192)
	r := rand.NewChaCha8([32]byte{'l', 'a', 'c', 'o', 'p'})
	_, _ = r.Read(random)

	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string // a substring of the error, if any in particular
	}{
		{"random bytes", func(t *testing.T, path string) {
			writeFile(t, path, random)
		}, ""},
		{"text file", func(t *testing.T, path string) {
			writeFile(t, path, []byte("listen: :8080\ndata: /var/lib/lacop\n"))
		}, ""},
		{"SQLite header, garbage after", func(t *testing.T, path string) {
			writeFile(t, path, append([]byte("SQLite format 3\x00"), random[:4080]...))
		}, ""},
		{"other program's SQLite database", func(t *testing.T, path string) {
			foreignSQLite(t, path, `CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)`, `INSERT INTO foo (v) VALUES ('keep me')`)
		}, "not a lacop database"},
		{"other program's SQLite database in WAL mode", func(t *testing.T, path string) {
			foreignSQLite(t, path, `PRAGMA journal_mode = WAL`, `CREATE TABLE foo (id INTEGER PRIMARY KEY)`)
		}, ""},
		{"other program's empty database with its own application id", func(t *testing.T, path string) {
			foreignSQLite(t, path, `PRAGMA application_id = 1234`, `PRAGMA user_version = 7`)
		}, "not a lacop database"},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "lacop.db")
			tt.prepare(t, path)
			before, _ := os.ReadFile(path) // nil for the directory
			namesBefore := dirNames(t, dir)

			db, err := sqlite.Open(t.Context(), path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded; want an error", tt.name)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%s) error = %q; want it to mention %q", tt.name, err, tt.wantErr)
			}

			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, before) {
				t.Errorf("Open(%s) changed the file: %d bytes before, %d after", tt.name, len(before), len(after))
			}
			// Bytes 18 and 19 are SQLite's write and read format versions:
			// 1 for a rollback journal, 2 for WAL.
			if len(before) >= 20 && len(after) >= 20 && !bytes.Equal(after[18:20], before[18:20]) {
				t.Errorf("Open(%s) changed the journal mode bytes from %v to %v", tt.name, before[18:20], after[18:20])
			}
			if got := dirNames(t, dir); !slices.Equal(got, namesBefore) {
				t.Errorf("Open(%s) left files behind: directory holds %q; want %q", tt.name, got, namesBefore)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenEmptyFile accepts a zero-length file, as made by touch or a
// volume mount, and turns it into a lacop database.
func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lacop.db")
	writeFile(t, path, nil)
	db := open(t, path)
	if err := sqlite.NewUserStore(db).CreateUser(t.Context(), newUser("ann")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
}

func newUser(id string) *lacop.User {
	return &lacop.User{ID: id, Email: id + "@example.com", PasswordHash: "hash-" + id}
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lacop.db")
	for i := range 3 {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		users := sqlite.NewUserStore(db)
		if i == 0 {
			if err := users.CreateUser(ctx, newUser("ann")); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
		} else if u, err := users.UserByID(ctx, "ann"); err != nil || u.Email != "ann@example.com" {
			t.Errorf("Open #%d: UserByID(ann) = %v, %v; want ann@example.com, nil", i+1, u, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}

	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var applied, appliedTwice, appID int
	if err := raw.QueryRowContext(ctx, `SELECT count(DISTINCT version_id), count(*) - count(DISTINCT version_id)
		FROM lacop_migrations WHERE version_id > 0`).Scan(&applied, &appliedTwice); err != nil {
		t.Fatalf("read lacop_migrations: %v", err)
	}
	if applied == 0 || appliedTwice != 0 {
		t.Errorf("lacop_migrations: %d versions applied, %d applied again; want > 0, 0", applied, appliedTwice)
	}
	if err := raw.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		t.Fatal(err)
	}
	if want := 0x6c61636f; appID != want {
		t.Errorf("application_id = %#x; want %#x", appID, want)
	}
	header, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := header[18:20]; !bytes.Equal(got, []byte{2, 2}) {
		t.Errorf("journal mode bytes = %v; want [2 2] (WAL)", got)
	}
}

// TestConcurrentProcessesShareFile opens the file twice, as `lacop serve`
// and a CLI command do, and checks that each sees the other's writes at
// once: a session revoked from the CLI is gone for the server.
func TestConcurrentProcessesShareFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lacop.db")
	serve, cli := stores(open(t, path)), stores(open(t, path))

	if err := cli.Users.CreateUser(ctx, newUser("ann")); err != nil {
		t.Fatalf("CreateUser through the CLI: %v", err)
	}
	if u, err := serve.Users.UserByEmail(ctx, "ann@example.com"); err != nil || u.ID != "ann" {
		t.Fatalf("UserByEmail through serve = %v, %v; want ann, nil", u, err)
	}

	now := time.Now()
	sess := &lacop.Session{ID: "s1", SecretHash: []byte("hash-s1"), UserID: "ann", AuthLevel: lacop.AuthLevelOneFactor,
		CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := serve.Sessions.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession through serve: %v", err)
	}
	if list, err := cli.Sessions.UserSessions(ctx, "ann"); err != nil || len(list) != 1 {
		t.Fatalf("UserSessions through the CLI = %d sessions, %v; want 1, nil", len(list), err)
	}

	// Serve keeps touching and reading the session while the CLI revokes it.
	var wg sync.WaitGroup
	ended := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				at := now.Add(time.Duration(g*100+i+1) * time.Millisecond)
				if err := serve.Sessions.TouchSession(ctx, sess.ID, at); err != nil {
					t.Errorf("TouchSession through serve: %v", err)
					return
				}
				if _, err := serve.Sessions.SessionByHash(ctx, sess.SecretHash); err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
					t.Errorf("SessionByHash through serve: %v", err)
					return
				}
			}
		})
	}
	go func() {
		defer close(ended)
		if ok, err := cli.Sessions.DeleteSession(ctx, sess.ID); err != nil || !ok {
			t.Errorf("DeleteSession through the CLI = %v, %v; want true, nil", ok, err)
		}
	}()
	<-ended
	// The revocation has returned: serve must not see the session again.
	if _, err := serve.Sessions.SessionByHash(ctx, sess.SecretHash); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("SessionByHash through serve right after the CLI's delete: %v; want ENOTFOUND", err)
	}
	wg.Wait()
	for name, s := range map[string]storetest.Stores{"serve": serve, "cli": cli} {
		if _, err := s.Sessions.SessionByID(ctx, sess.ID); lacop.ErrorCode(err) != lacop.ENOTFOUND {
			t.Errorf("SessionByID through %s after delete: %v; want ENOTFOUND", name, err)
		}
	}

	// Writers in both processes at once wait for each other rather than
	// fail with SQLITE_BUSY.
	for name, s := range map[string]storetest.Stores{"serve": serve, "cli": cli} {
		wg.Go(func() {
			for i := range 20 {
				e := &lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, UserID: name, Detail: map[string]string{"i": fmt.Sprint(i)}}
				if err := s.Audit.RecordEvents(ctx, e); err != nil {
					t.Errorf("RecordEvent through %s: %v", name, err)
					return
				}
				if _, err := s.Users.BumpTokenVersion(ctx, "ann"); err != nil {
					t.Errorf("BumpTokenVersion through %s: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if u, err := serve.Users.UserByID(ctx, "ann"); err != nil || u.TokenVersion != 40 {
		t.Errorf("TokenVersion after 40 bumps from two processes = %v, %v; want 40", u, err)
	}
	if list, err := cli.Audit.Events(ctx, lacop.AuditFilter{Limit: 100}); err != nil || len(list) != 40 {
		t.Errorf("Events after 40 records from two processes = %d, %v; want 40", len(list), err)
	}
}

// TestClock checks that the stamps the store sets come from DB.Now.
func TestClock(t *testing.T) {
	ctx := t.Context()
	db := open(t, filepath.Join(t.TempDir(), "lacop.db"))
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return at }
	s := stores(db)

	u := newUser("ann")
	if err := s.Users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Users.UserByID(ctx, "ann"); err != nil || !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(at) {
		t.Errorf("UserByID(ann) = %+v, %v; want CreatedAt and UpdatedAt %v", got, err, at)
	}
	e := &lacop.AuditEvent{Type: lacop.AuditLogout}
	if err := s.Audit.RecordEvents(ctx, e); err != nil {
		t.Fatal(err)
	}
	if !e.Time.Equal(at) {
		t.Errorf("RecordEvent set Time %v; want %v", e.Time, at)
	}
}

// TestOpenUnusualPath checks that the database lands at exactly the path
// given, whatever characters a data directory's name holds.
func TestOpenUnusualPath(t *testing.T) {
	for _, name := range []string{"with space", "per%25cent", "per%cent", "hash#tag", "question?mark=1", "ümlaut", "semi;colon&amp"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "lacop.db")
			db := open(t, path)
			if err := sqlite.NewUserStore(db).CreateUser(t.Context(), newUser("ann")); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
				t.Errorf("Stat(%q) = %v, %v; want the database there", path, fi, err)
			}
			// Opening again finds the same database, so the ownership check
			// read the file that was written.
			db2 := open(t, path)
			if _, err := sqlite.NewUserStore(db2).UserByID(t.Context(), "ann"); err != nil {
				t.Errorf("UserByID(ann) through a second Open: %v", err)
			}
		})
	}
}

// TestEndedGenerationPurged: sessions ended all at once stay as rows of an
// old generation, invisible to every read and write, until the sweep
// removes them in batches; the kept session and a sign-in made after the
// end belong to the new generation and live on; another user's sessions
// are untouched.
func TestEndedGenerationPurged(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "lacop.db"))
	st := stores(db)
	ctx := t.Context()
	for _, id := range []string{"ann", "bob"} {
		if err := st.Users.CreateUser(ctx, &lacop.User{ID: id, Email: id + "@example.com", PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	mk := func(id, user string) *lacop.Session {
		return &lacop.Session{ID: id, SecretHash: []byte("hash-" + id), UserID: user, AuthLevel: 1,
			CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	for i := range 2500 {
		if err := st.Sessions.CreateSession(ctx, mk(fmt.Sprintf("a%04d", i), "ann")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		if err := st.Sessions.CreateSession(ctx, mk(fmt.Sprintf("b%02d", i), "bob")); err != nil {
			t.Fatal(err)
		}
	}
	ended, err := st.Sessions.DeleteUserSessions(ctx, "ann", "a0007")
	if err != nil || len(ended) != 2499 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 2499", len(ended), err)
	}
	if err := st.Sessions.CreateSession(ctx, mk("after", "ann")); err != nil {
		t.Fatal(err)
	}
	rows := func() int64 {
		c, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c["sessions"]
	}
	if n := rows(); n != 2511 {
		t.Errorf("rows before the sweep = %d; want 2511 (the ended ones wait)", n)
	}
	if _, err := st.Sessions.SessionByHash(ctx, []byte("hash-a0001")); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("an ended session by hash: %v; want ENOTFOUND", err)
	}
	if existed, err := st.Sessions.DeleteSession(ctx, "a0001"); existed || err != nil {
		t.Errorf("DeleteSession of an ended session = %v, %v; want false, nil", existed, err)
	}
	if err := st.Sessions.RotateSessionSecret(ctx, "a0001", []byte("new")); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("RotateSessionSecret of an ended session: %v; want ENOTFOUND", err)
	}
	long := now.Add(-24 * time.Hour)
	if expired, err := st.Sessions.DeleteExpiredSessions(ctx, long, long); err != nil || len(expired) != 0 {
		t.Fatalf("sweep = %d, %v; want nothing expired", len(expired), err)
	}
	if n := rows(); n != 12 {
		t.Errorf("rows after the sweep = %d; want 12 (kept, after, bob's 10)", n)
	}
	list, err := st.Sessions.UserSessions(ctx, "ann")
	if ids := fmt.Sprint(sessionIDsOf(list)); err != nil || (ids != "[a0007 after]" && ids != "[after a0007]") {
		t.Errorf("ann's sessions after the sweep = %s, %v; want a0007 and after", ids, err)
	}
	if list, err := st.Sessions.UserSessions(ctx, "bob"); err != nil || len(list) != 10 {
		t.Errorf("bob's sessions = %d, %v; want 10", len(list), err)
	}
}

func sessionIDsOf(list []*lacop.Session) []string {
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestRefusesNewerSchema: a database migrated by a newer lacop is refused,
// not read with rules that no longer hold.
func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lacop.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	foreignSQLite(t, path, `INSERT INTO lacop_migrations (version_id, is_applied) VALUES (999, 1)`)
	if _, err := sqlite.Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer lacop") {
		t.Fatalf("Open of a database at schema 999 = %v; want a refusal naming a newer lacop", err)
	}
}
