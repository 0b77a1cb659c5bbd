package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/notify"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
	"github.com/lacop/lacop/sqlite"
)

// t0 is where every fake clock starts. It is a whole millisecond, as the
// store keeps milliseconds, so stored times compare equal to clock times.
var t0 = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// defaultConfig is the contract's default session timing.
var defaultConfig = auth.Config{
	InactivityTimeout:  30 * time.Minute,
	Lifetime:           12 * time.Hour,
	RememberMeLifetime: 720 * time.Hour,
	Regulation:         auth.Regulation{MaxFailures: 5, MaxFailuresPerIP: 20, Window: 10 * time.Minute, Ban: 15 * time.Minute},
	Tokens:             auth.Tokens{URL: "https://auth.example.com", AccessTTL: 15 * time.Minute, RefreshTTL: 720 * time.Hour},
}

// fastParams make argon2id cheap: the auth package does not depend on the
// cost, and one test (TestLoginDefaultParams) covers the real defaults.
var fastParams = password.Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// alicePassword and bobPassword pass password.Check and are distinctive
// enough to search for in audit events and logs.
const (
	alicePassword = "tulip-Meadow-4817-quartz"
	bobPassword   = "harbour-Lantern-9053-fig"
)

// client is the request origin most tests use.
var client = auth.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) test"}

// fakeClock is a test-controlled time source. With tick set, every reading
// moves it on by tick, so that each request sees a later time.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	tick time.Duration
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.tick)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log sink that tolerates concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a Service on a fresh SQLite database with a fake clock.
type env struct {
	ctx      context.Context
	svc      *auth.Service
	db       *sqlite.DB
	clock    *fakeClock
	users    *sqlite.UserStore
	sessions *sqlite.SessionStore
	audit    *sqlite.AuditStore
	setup    *sqlite.SetupStore
	log      *syncBuffer
}

func newEnv(t testing.TB, cfg auth.Config) *env {
	return newEnvParams(t, cfg, fastParams)
}

func newEnvParams(t testing.TB, cfg auth.Config, p password.Params) *env {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lacop.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("db.Close: %v", err)
		}
	})
	e := &env{
		ctx: ctx, db: db, clock: newClock(),
		users: sqlite.NewUserStore(db), sessions: sqlite.NewSessionStore(db),
		audit: sqlite.NewAuditStore(db), setup: sqlite.NewSetupStore(db),
		log: &syncBuffer{},
	}
	db.Now = e.clock.Now
	logger := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sealer, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = auth.NewService(cfg, auth.Stores{Users: e.users, Sessions: e.sessions, Audit: e.audit, Setup: e.setup,
		SecondFactors: sqlite.NewSecondFactorStore(db), Regulation: sqlite.NewRegulationStore(db),
		Tokens: sqlite.NewTokenStore(db), Keys: sqlite.NewKeyStore(db), Notify: notify.NewLocal(),
		Links: sqlite.NewLinkStore(db), Passkeys: sqlite.NewPasskeyStore(db)},
		password.NewHasher(p, 2), sealer, logger)
	e.svc.Now = e.clock.Now
	if err := e.svc.LoadKeys(ctx); err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	return e
}

// createUser adds a user through the service and returns it.
func (e *env) createUser(t testing.TB, email, pw string) *lacop.User {
	t.Helper()
	u, err := e.svc.CreateUser(e.ctx, auth.NewUser{Email: email, Name: "Test " + email, Password: pw}, "", auth.Client{})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

// login signs in and fails the test when that does not work.
func (e *env) login(t testing.TB, email, pw string, rememberMe bool) *auth.SignIn {
	t.Helper()
	in, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: email, Password: pw, RememberMe: rememberMe, Client: client})
	if err != nil {
		t.Fatalf("Login(%q): %v", email, err)
	}
	return in
}

// mustAuth authenticates and fails the test when the session is not live.
func (e *env) mustAuth(t testing.TB, secret string) *auth.Identity {
	t.Helper()
	id, err := e.svc.Authenticate(e.ctx, secret, client)
	if err != nil {
		t.Fatalf("Authenticate: %v; want a live session", err)
	}
	return id
}

// mustBeDead checks that secret no longer authenticates, and that the
// refusal is an ordinary EUNAUTHENTICATED, not a store failure.
func (e *env) mustBeDead(t testing.TB, secret string) {
	t.Helper()
	id, err := e.svc.Authenticate(e.ctx, secret, client)
	if got, want := lacop.ErrorCode(err), lacop.EUNAUTHENTICATED; got != want {
		t.Fatalf("Authenticate after end: code %q (err %v); want %q", got, err, want)
	}
	if id != nil {
		t.Fatalf("Authenticate after end returned identity %+v; want nil", id)
	}
}

// sessionGone checks that the store no longer has the session.
func (e *env) sessionGone(t testing.TB, id string) {
	t.Helper()
	if s, err := e.sessions.SessionByID(e.ctx, id); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Fatalf("SessionByID(%q) = %+v, %v; want ENOTFOUND", id, s, err)
	}
}

// user reads a user back from the store.
func (e *env) user(t testing.TB, id string) *lacop.User {
	t.Helper()
	u, err := e.users.UserByID(e.ctx, id)
	if err != nil {
		t.Fatalf("UserByID(%q): %v", id, err)
	}
	return u
}

// events lists audit events of one type (every type when typ is ""),
// newest first.
func (e *env) events(t testing.TB, typ string) []*lacop.AuditEvent {
	t.Helper()
	list, err := e.audit.Events(e.ctx, lacop.AuditFilter{Type: typ, Limit: 100000})
	if err != nil {
		t.Fatalf("Events(%q): %v", typ, err)
	}
	return list
}

// sessionEvents lists the events of one type about one session.
func (e *env) sessionEvents(t testing.TB, typ, sessionID string) []*lacop.AuditEvent {
	t.Helper()
	var out []*lacop.AuditEvent
	for _, ev := range e.events(t, typ) {
		if ev.SessionID == sessionID {
			out = append(out, ev)
		}
	}
	return out
}

// oneSessionEvent returns the single event of typ about sessionID.
func (e *env) oneSessionEvent(t testing.TB, typ, sessionID string) *lacop.AuditEvent {
	t.Helper()
	list := e.sessionEvents(t, typ, sessionID)
	if len(list) != 1 {
		t.Fatalf("%d %q events for session %q; want 1", len(list), typ, sessionID)
	}
	return list[0]
}

// noSecretsLeak fails when any audit event or log line contains one of the
// given secrets.
func (e *env) noSecretsLeak(t testing.TB, secrets ...string) {
	t.Helper()
	raw, err := json.Marshal(e.events(t, ""))
	if err != nil {
		t.Fatalf("marshal events: %v", err)
	}
	logs := e.log.String()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(string(raw), s) {
			t.Errorf("audit events contain secret %.12q…:\n%s", s, raw)
		}
		if strings.Contains(logs, s) {
			t.Errorf("log contains secret %.12q…:\n%s", s, logs)
		}
	}
}

// wantCode checks an error's code.
func wantCode(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := lacop.ErrorCode(err); got != want {
		t.Fatalf("%s: code %q (err %v); want %q", what, got, err, want)
	}
}
