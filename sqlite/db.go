// Package sqlite is lacop's embedded store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver, so `lacop serve` needs
// nothing installed. Writes go through a single connection, reads through a
// small pool, and other processes (the CLI) share the file under a busy
// timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/lacop/lacop"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migration/*.sql
var migrations embed.FS

// applicationID marks a SQLite file as lacop's ("laco"), so that a
// database belonging to something else is refused rather than altered.
const applicationID = 0x6c61636f

// DB is an open lacop database.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer anyway
	read  *sql.DB
	// stmts holds the prepared statements of the hot path (query text →
	// *sql.Stmt on the read pool): parsing SQL costs as much as running it.
	stmts sync.Map

	// Now is the clock used for CreatedAt and similar stamps.
	Now func() time.Time
}

// Open opens (creating when missing) the lacop database at path and applies
// pending migrations. A file that is not SQLite, or a SQLite database that
// is not lacop's, is an error and is left untouched.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := checkOwnership(ctx, path); err != nil {
		return nil, err
	}
	db := &DB{Now: time.Now}
	var err error
	if db.write, err = openPool(path, "", 1); err != nil {
		return nil, err
	}
	if db.read, err = openPool(path, "&_pragma=query_only(1)", 4); err != nil {
		db.write.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPool(path, extra string, conns int) (*sql.DB, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate" + extra
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxIdleTime(0)
	return pool, nil
}

// checkOwnership refuses an existing file unless it is empty or carries
// lacop's application id, without changing it or creating anything beside
// it: the header is read directly, and only a SQLite file with no
// application id at all is opened (immutable, read-only) to see whether it
// holds anything.
func checkOwnership(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("sqlite: %s is not a regular file", path)
	} else if fi.Size() == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	header := make([]byte, 100)
	if _, err := io.ReadFull(f, header); err != nil || string(header[:16]) != "SQLite format 3\x00" {
		return fmt.Errorf("sqlite: %s is not a SQLite database; refusing to touch it", path)
	}
	switch id := binary.BigEndian.Uint32(header[68:72]); {
	case id == applicationID:
		return nil
	case id != 0:
		return fmt.Errorf("sqlite: %s is not a lacop database (application_id %#x); refusing to touch it", path, id)
	}
	// No mark in the main file. The mark may still sit in the write-ahead
	// log of a lacop database in use (the CLI beside serve); then the side
	// files exist already and a plain read-only open sees through them.
	// Otherwise an immutable open reads the file without creating any.
	mode := "?mode=ro&immutable=1"
	if _, err := os.Stat(path + "-wal"); err == nil {
		mode = "?mode=ro"
	}
	pool, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+mode)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer pool.Close()
	var id, tables int
	if err := pool.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&id); err != nil {
		return fmt.Errorf("sqlite: %s is not a readable SQLite database: %w", path, err)
	}
	if err := pool.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		return fmt.Errorf("sqlite: %s is not a readable SQLite database: %w", path, err)
	}
	if id != applicationID && (id != 0 || tables != 0) {
		return fmt.Errorf("sqlite: %s is not a lacop database (application_id %#x, %d schema objects); refusing to touch it", path, id, tables)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID)); err != nil {
		return fmt.Errorf("sqlite: mark database: %w", err)
	}
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("lacop_migrations"))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// A database a newer lacop migrated may mean things this binary cannot
	// read (since 00005, sessions of an ended generation are still rows):
	// refuse it rather than sign ended sessions in again.
	var known int64
	for _, src := range p.ListSources() {
		known = max(known, src.Version)
	}
	if current, err := p.GetDBVersion(ctx); err == nil && current > known {
		return fmt.Errorf("sqlite: the database was migrated by a newer lacop (schema %d; this one knows up to %d); run that version, or migrate down first", current, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping reports whether the database answers; used by /readyz.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	db.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, db.read.Close(), db.write.Close())...)
}

// queryRow runs a one-row read through a statement prepared once.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, query, args...) // the error surfaces in Scan
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// writeTx runs fn in one write transaction, committed if fn succeeds. A
// domain error from fn (*lacop.Error) is returned as it is; anything else
// is wrapped with op.
func (db *DB) writeTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		var domain *lacop.Error
		if errors.As(err, &domain) {
			return err
		}
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

// ms and fromMS convert between time.Time and the stored Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrZero is ms with the zero time stored as 0 ("not yet").
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Counts reports how many rows each table of sessions, tokens, regulation,
// notices and apps holds, so that operators and soak tests can see the
// store stays bounded while the sweeper runs (the audit log is a log: it
// grows).
func (db *DB) Counts(ctx context.Context) (map[string]int64, error) {
	counts := map[string]int64{}
	for _, table := range []string{"sessions", "refresh_tokens", "access_tokens", "token_denylist",
		"regulation_failures", "regulation_bans", "session_events", "session_purges", "audit_events",
		"auth_requests", "app_grants", "app_tokens", "outbox"} {
		var n int64
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: count %s: %w", table, err)
		}
		counts[table] = n
	}
	return counts, nil
}
