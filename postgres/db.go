// Package postgres is lacop's shared store: every lacop instance behind a
// load balancer points at the same PostgreSQL database, so sessions,
// tokens, throttling counts and the audit log are the same wherever a
// request lands, and a session ended on one instance reaches the open
// streams of all through LISTEN/NOTIFY (see Notifier).
//
// The semantics are those of the sqlite package, statement for statement:
// a session is only ever inserted, conditionally updated or deleted, so a
// request in flight can never write an ended session back.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lacop/lacop"
	"github.com/pressly/goose/v3"
)

//go:embed migration/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key ("lacomig") held while migrating,
// so that instances starting together apply each migration once. Advisory
// locks are per database, so other databases on the server are unaffected.
const migrationLock = 0x6c61636f6d6967

// defaultConnectTimeout bounds each connection attempt when the URL sets no
// connect_timeout, so that an unreachable server fails Open instead of
// hanging it.
const defaultConnectTimeout = 10 * time.Second

// deadPeer is how long a connection may go without the server
// acknowledging what was sent (TCP_USER_TIMEOUT, on Linux) before it counts
// as broken; keepalives probe idle connections at half that.
const deadPeer = 5 * time.Second

// DB is an open lacop database: a pool of connections to PostgreSQL.
type DB struct {
	pool *pgxpool.Pool

	// Now is the clock used for CreatedAt and similar stamps.
	Now func() time.Time
}

// Open connects to the PostgreSQL database at dbURL (a postgres:// URL or
// key=value string, as libpq takes), checks that it answers and applies
// pending migrations. Errors never show the password.
func Open(ctx context.Context, dbURL string) (*DB, error) {
	secrets := urlPasswords(dbURL)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, redact(fmt.Errorf("postgres: parse url: %w", err), secrets...)
	}
	secrets = append(secrets, cfg.ConnConfig.Password)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// A partition that drops packets instead of refusing them must fail
	// requests (503) within seconds, not hold them until TCP gives up.
	cfg.ConnConfig.DialFunc = (&net.Dialer{KeepAlive: deadPeer / 2, Control: userTimeout(deadPeer)}).DialContext
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "lacop"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact(fmt.Errorf("postgres: connect: %w", err), secrets...)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, redact(fmt.Errorf("postgres: connect: %w", err), secrets...)
	}
	db := &DB{pool: pool, Now: time.Now}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, redact(err, secrets...)
	}
	return db, nil
}

// migrate applies pending migrations while holding migrationLock on a
// connection of its own: closing that connection releases the lock,
// whatever happened in between.
func (db *DB) migrate(ctx context.Context) error {
	lock, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		lock.Close(closeCtx)
	}()
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close() // returns its connections to the pool
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("lacop_migrations"))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Ping reports whether the database answers; used by /readyz.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool, waiting for those in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// queryer is what a store runs statements on: the pool or a transaction.
type queryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in one transaction, committed if fn succeeds; errors are
// passed through wrap with op.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback(ctx) // a no-op once committed
	if err := fn(tx); err != nil {
		return wrap(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(op, err)
	}
	return nil
}

// wrap turns a failure of op into what the stores return: a domain error
// as it is, text PostgreSQL cannot hold (invalid UTF-8 or NUL, which SQLite
// would have taken) as EINVALID rather than an internal error, and anything
// else wrapped.
func wrap(op string, err error) error {
	var domain *lacop.Error
	if errors.As(err, &domain) {
		return err
	}
	switch pgCode(err) {
	case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
		return lacop.Errorf(lacop.EINVALID, "Text must be valid UTF-8 without NUL characters.")
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// pgCode returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// uniqueViolation reports whether err is a unique violation (23505) and
// of which constraint.
func uniqueViolation(err error) (constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// isForeignKeyViolation reports whether err is a foreign key violation.
func isForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

// storable reports whether PostgreSQL can hold s in a text column. A
// lookup of text that cannot be stored finds nothing, rather than failing.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// clean makes free text that is only recorded (addresses, user agents,
// audit details, throttling keys) storable, so that a stray byte in a
// request header never costs a sign-in or an audit record.
func clean(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// ms and fromMS convert between time.Time and the stored Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// fromMSOrZero is fromMS for columns where 0 means "not yet".
func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// redactedError is an error whose message had passwords taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact hides every non-empty secret in err's message. pgx already masks
// the password of a URL it prints; this is the second line of defence,
// since a database password must never reach a log.
func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// urlPasswords guesses the passwords in a connection string that may not
// parse: the raw and the unescaped text between the scheme's "://", the
// first ":" and the last "@" of a URL, and every "password=" value.
func urlPasswords(raw string) []string {
	var pws []string
	add := func(pw string) {
		if pw == "" {
			return
		}
		pws = append(pws, pw)
		if unescaped, err := url.QueryUnescape(pw); err == nil && unescaped != pw {
			pws = append(pws, unescaped)
		}
	}
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				add(pw)
			}
		}
	}
	for rest := raw; ; {
		i := strings.Index(rest, "password=")
		if i < 0 {
			break
		}
		rest = rest[i+len("password="):]
		end := strings.IndexAny(rest, "& ")
		if end < 0 {
			end = len(rest)
		}
		add(strings.Trim(rest[:end], "'"))
	}
	return pws
}
