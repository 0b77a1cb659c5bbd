package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop/postgres/pgtest"
)

// fakeTB records how NewDatabase ends a test, without ending this one.
// Methods NewDatabase should not call are left to the nil embedded TB, so
// calling one panics.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
	cleanups        []func()
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Cleanup(fn func())     { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Skip(args ...any)      { f.skipped, f.msg = true, fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)     { f.failed, f.msg = true, fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs NewDatabase on a fakeTB in a goroutine of its own, as the
// testing package runs a test, so that Skip and Fatal can end it.
func call() *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pgtest.NewDatabase(f)
	}()
	<-done
	for _, fn := range f.cleanups {
		fn()
	}
	return f
}

func TestNewDatabaseWithoutServer(t *testing.T) {
	tests := []struct {
		name, url, ci string
		wantSkip      bool
		wantMsg       string
	}{
		{"unset", "", "", true, "LACOP_TEST_POSTGRES_URL not set; skipping PostgreSQL tests"},
		{"unset in CI", "", "true", false, "LACOP_TEST_POSTGRES_URL not set"},
		{"unreachable", "postgres://lacop:s3cr3t@127.0.0.1:1/postgres?sslmode=disable", "", false, "connection refused"},
		{"unreachable in CI", "postgres://lacop:s3cr3t@127.0.0.1:1/postgres?sslmode=disable", "true", false, "connection refused"},
		{"not a URL", "host=127.0.0.1 password=s3cr3t", "", false, "not a postgres:// URL"},
	}
	for _, tt := range tests {
		t.Setenv(pgtest.EnvURL, tt.url)
		t.Setenv("CI", tt.ci)
		f := call()
		if f.skipped != tt.wantSkip || f.failed == tt.wantSkip || !strings.Contains(f.msg, tt.wantMsg) {
			t.Errorf("NewDatabase(%s): skipped %v, failed %v, message %q; want skipped %v, failed %v, a message with %q",
				tt.name, f.skipped, f.failed, f.msg, tt.wantSkip, !tt.wantSkip, tt.wantMsg)
		}
		if strings.Contains(f.msg, "s3cr3t") {
			t.Errorf("NewDatabase(%s) message %q shows the password", tt.name, f.msg)
		}
	}
}

// exists reports whether the server at base has a database named name.
func exists(t *testing.T, base, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestNewDatabase: each call gets a distinct, empty database, dropped at
// the end of the test even with connections still open.
func TestNewDatabase(t *testing.T) {
	var names []string
	t.Run("create", func(t *testing.T) {
		for range 2 {
			u := pgtest.NewDatabase(t)
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(parsed.Path, "/")
			if !strings.HasPrefix(name, "lacop_test_") {
				t.Errorf("database %q; want a name starting lacop_test_", name)
			}
			names = append(names, name)
			conn, err := pgx.Connect(t.Context(), u) // left open: the drop must not wait for it
			if err != nil {
				t.Fatalf("connect to the new database: %v", err)
			}
			var current string
			var tables int
			if err := conn.QueryRow(t.Context(), `SELECT current_database(),
				(SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))`).Scan(&current, &tables); err != nil {
				t.Fatal(err)
			}
			if current != name || tables != 0 {
				t.Errorf("connected to %q with %d tables; want %q, empty", current, tables, name)
			}
		}
		if len(names) == 2 && names[0] == names[1] {
			t.Errorf("two calls gave the same database %q", names[0])
		}
	})
	base := pgtest.NewDatabase(t) // skips here when no server is configured
	for _, name := range names {
		if exists(t, base, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

// TestNewSchema: a schema URL puts what it creates in its own schema,
// dropped at the end of the test.
func TestNewSchema(t *testing.T) {
	base := pgtest.NewDatabase(t)
	var schema string
	t.Run("create", func(t *testing.T) {
		conn, err := pgx.Connect(t.Context(), pgtest.NewSchema(t, base))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), `CREATE TABLE t (id int)`); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(t.Context(), `SELECT schemaname FROM pg_tables WHERE tablename = 't'`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "lacop_test_") {
			t.Errorf("table created in schema %q; want lacop_test_…", schema)
		}
	})
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("schema %q after its test: %d found, %v; want dropped", schema, n, err)
	}
}
