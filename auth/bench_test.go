package auth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
	"github.com/lacop/lacop/sqlite"
)

// BenchmarkRevokeAll10k signs a user with 10,000 sessions out everywhere,
// as the admin API and the CLI do: the indexed delete, 10,000 audit events
// in one batch, and 10,000 notices for open tabs through the SQLite relay.
func BenchmarkRevokeAll10k(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lacop.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sessions := sqlite.NewSessionStore(db)
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	svc := auth.NewService(auth.Config{InactivityTimeout: time.Hour, Lifetime: 2 * time.Hour, RememberMeLifetime: 3 * time.Hour},
		auth.Stores{Users: sqlite.NewUserStore(db), Sessions: sessions, Audit: sqlite.NewAuditStore(db), Setup: sqlite.NewSetupStore(db),
			SecondFactors: sqlite.NewSecondFactorStore(db), Regulation: sqlite.NewRegulationStore(db), Notify: sqlite.NewNotifier(db, logger)},
		password.NewHasher(password.Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}, 1), sealer, logger)
	u, err := svc.CreateUser(ctx, auth.NewUser{Email: "many@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := 0; i < 10_000; i++ {
			id := fmt.Sprintf("s%06d", i)
			if err := sessions.CreateSession(ctx, &lacop.Session{ID: id, SecretHash: auth.HashSecret(id), UserID: u.ID,
				AuthLevel: 1, CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		n, err := svc.RevokeAll(ctx, u.ID, "", auth.Client{Via: auth.ViaCLI})
		if err != nil || n != 10_000 {
			b.Fatalf("RevokeAll = %d, %v; want 10000", n, err)
		}
	}
}
