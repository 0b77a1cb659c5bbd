package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/postgres/pgtest"
	"github.com/lacop/lacop/storetest"
)

// open opens the lacop database at url and closes it when the test ends.
func open(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// stores returns every store on db.
func stores(db *postgres.DB) storetest.Stores {
	return storetest.Stores{
		Users:    postgres.NewUserStore(db),
		Sessions: postgres.NewSessionStore(db),
		Audit:    postgres.NewAuditStore(db),
		Setup:    postgres.NewSetupStore(db),

		SecondFactor: postgres.NewSecondFactorStore(db),
		Regulation:   postgres.NewRegulationStore(db),
		Tokens:       postgres.NewTokenStore(db),
		Keys:         postgres.NewKeyStore(db),
		Apps:         postgres.NewAppStore(db),
		Outbox:       postgres.NewOutboxStore(db),
		Links:        postgres.NewLinkStore(db),
		Devices:      postgres.NewDeviceStore(db),
		Passkeys:     postgres.NewPasskeyStore(db),
		CacheLeases:  postgres.NewCacheLeases(db),
	}
}

// TestStores runs the contract suite, each subtest in a schema of its own
// (a database each would spend most of the suite's time copying template
// databases).
func TestStores(t *testing.T) {
	url := pgtest.NewDatabase(t)
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return stores(open(t, pgtest.NewSchema(t, url)))
	})
}

func newUser(id string) *lacop.User {
	return &lacop.User{ID: id, Email: id + "@example.com", PasswordHash: "hash-" + id}
}

// TestOpenUnreachable: a server that does not answer is refused at once,
// with an error that says so and does not show the password.
func TestOpenUnreachable(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"refused", "postgres://lacop:s3cr3t-pw@127.0.0.1:1/lacop?sslmode=disable", "postgres: connect: "},
		{"bad port", "postgres://lacop:s3cr3t-pw@127.0.0.1:notaport/lacop", "postgres: parse url: "},
		{"bad escape", "postgres://lacop:s3cr3t%zz-pw@127.0.0.1:1/lacop", "postgres: parse url: "},
		{"password in query", "postgres://lacop@127.0.0.1:1/lacop?sslmode=disable&password=s3cr3t-pw", "postgres: connect: "},
		{"key=value", "host=127.0.0.1 port=bad user=lacop password=s3cr3t-pw", "postgres: parse url: "},
	}
	for _, tt := range tests {
		start := time.Now()
		db, err := postgres.Open(t.Context(), tt.url)
		if err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded; want an error", tt.name)
			continue
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("Open(%s) took %v to fail; want it quick", tt.name, elapsed)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, tt.want) || strings.Contains(msg, "s3cr3t") {
			t.Errorf("Open(%s) error = %q; want it to start %q and not show the password", tt.name, msg, tt.want)
		}
	}
}

// TestOpenTwiceMigratesOnce: a second Open on a migrated database applies
// nothing again and keeps the data.
func TestOpenTwiceMigratesOnce(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	for i := range 3 {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		users := postgres.NewUserStore(db)
		if i == 0 {
			if err := users.CreateUser(ctx, newUser("ann")); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
		} else if u, err := users.UserByID(ctx, "ann"); err != nil || u.Email != "ann@example.com" {
			t.Errorf("Open #%d: UserByID(ann) = %v, %v; want ann@example.com, nil", i+1, u, err)
		}
		db.Close()
	}
	wantMigratedOnce(t, url)
}

// wantMigratedOnce fails the test unless lacop_migrations records each
// migration exactly once.
func wantMigratedOnce(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied, appliedTwice int
	if err := conn.QueryRow(t.Context(), `SELECT count(DISTINCT version_id), count(*) - count(DISTINCT version_id)
		FROM lacop_migrations WHERE version_id > 0`).Scan(&applied, &appliedTwice); err != nil {
		t.Fatalf("read lacop_migrations: %v", err)
	}
	if applied == 0 || appliedTwice != 0 {
		t.Errorf("lacop_migrations: %d versions applied, %d applied again; want > 0, 0", applied, appliedTwice)
	}
}

// TestOpenConcurrently: instances starting together on a fresh database
// all succeed, and the migrations run once.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), url)
			if err == nil {
				err = postgres.NewUserStore(db).CreateUser(t.Context(), newUser(string(rune('a'+i))+"nn"))
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i+1, err)
		}
	}
	wantMigratedOnce(t, url)
}

// TestClock checks that the stamps the store sets come from DB.Now.
func TestClock(t *testing.T) {
	ctx := t.Context()
	db := open(t, pgtest.NewDatabase(t))
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return at }
	s := stores(db)
	if err := s.Users.CreateUser(ctx, newUser("ann")); err != nil {
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
