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
	"github.com/lacop/lacop/accesstoken"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/passkey"
	"github.com/lacop/lacop/passkey/passkeytest"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
	"github.com/lacop/lacop/sqlite"
)

// benchService is a service on a fresh SQLite file, wired as in production
// but for the hasher, which the benchmark chooses.
func benchService(b *testing.B, hasher *password.Hasher, adjust ...func(*auth.Service)) *auth.Service {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lacop.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	svc := auth.NewService(auth.Config{InactivityTimeout: time.Hour, Lifetime: 2 * time.Hour, RememberMeLifetime: 3 * time.Hour,
		Regulation: auth.Regulation{MaxFailures: 5, MaxFailuresPerIP: 20, Window: time.Minute, Ban: time.Minute},
		Tokens:     auth.Tokens{URL: "https://auth.example.com", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour}},
		auth.Stores{Users: sqlite.NewUserStore(db), Sessions: sqlite.NewSessionStore(db), Audit: sqlite.NewAuditStore(db),
			Setup: sqlite.NewSetupStore(db), SecondFactors: sqlite.NewSecondFactorStore(db), Regulation: sqlite.NewRegulationStore(db),
			Tokens: sqlite.NewTokenStore(db), Keys: sqlite.NewKeyStore(db), Notify: sqlite.NewNotifier(db, logger),
			Links: sqlite.NewLinkStore(db), Passkeys: sqlite.NewPasskeyStore(db)},
		hasher, sealer, logger)
	for _, f := range adjust {
		f(svc)
	}
	if err := svc.LoadKeys(context.Background()); err != nil {
		b.Fatal(err)
	}
	return svc
}

// BenchmarkLoginThroughput signs in as fast as parallel clients can, with
// the production argon2id parameters and the production cap on concurrent
// hashes (GOMAXPROCS): the figure is sign-ins per second for one instance.
func BenchmarkLoginThroughput(b *testing.B) {
	svc := benchService(b, password.NewHasher(password.DefaultParams(), 0))
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "fast@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8) // 8 clients per core wait on the hash cap
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Login(ctx, auth.LoginRequest{Email: "fast@example.com", Password: "a-long-enough-passphrase"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkRevokeAll10k signs a user with 10,000 sessions out everywhere,
// as the admin API and the CLI do: the indexed delete, 10,000 audit events
// in one batch, and 10,000 notices for open tabs through the SQLite relay.
func BenchmarkRevokeAll10k(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b, password.NewHasher(password.Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}, 1))
	sessions := svc.Sessions
	u, err := svc.CreateUser(ctx, auth.NewUser{Email: "many@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		for i := 0; i < 10_000; i++ {
			// Fresh ids each round, as real ones are: an ended session's
			// row may wait for the sweep's purge.
			id := fmt.Sprintf("s%d-%06d", round, i)
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

// BenchmarkAuthenticateBearer is the whole bearer check of a request: the
// signature (cached after the first time, or checked every time), the jti
// denylist and the user's token version, on SQLite.
func BenchmarkAuthenticateBearer(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "uncached"}[cached], func(b *testing.B) {
			svc := benchService(b, password.NewHasher(password.Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}, 1),
				func(svc *auth.Service) {
					if !cached {
						svc.Access = accesstoken.New(accesstoken.Options{Issuer: svc.Config.Tokens.URL, Audience: svc.Config.Tokens.URL, NoCache: true})
					}
				})
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "bearer@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
				b.Fatal(err)
			}
			in, err := svc.Login(ctx, auth.LoginRequest{Email: "bearer@example.com", Password: "a-long-enough-passphrase"})
			if err != nil {
				b.Fatal(err)
			}
			pair, err := svc.IssueTokens(ctx, &auth.Identity{User: in.User, Session: in.Session}, auth.Client{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.AuthenticateBearer(ctx, pair.Access, auth.Client{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPasskeySignIn is the server's side of a sign-in with a passkey
// and no password, on SQLite: the options (a ceremony stored) and the
// answer checked (ceremony used, signature verified, counter moved, session
// made and bound, audit recorded). The authenticator's signing, done by
// the test between the two, is timed too (about 0.05 ms, ECDSA P-256).
func BenchmarkPasskeySignIn(b *testing.B) {
	svc := benchService(b, password.NewHasher(password.DefaultParams(), 0), func(s *auth.Service) {
		rp, err := passkey.New("auth.example.com", "lacop", "https://auth.example.com")
		if err != nil {
			b.Fatal(err)
		}
		s.WebAuthn = rp
	})
	ctx := context.Background()
	c := auth.Client{IP: "192.0.2.1", UserAgent: "bench"}
	u, err := svc.CreateUser(ctx, auth.NewUser{Email: "key@example.com", Password: "a-long-enough-passphrase"}, "", c)
	if err != nil {
		b.Fatal(err)
	}
	in, err := svc.Login(ctx, auth.LoginRequest{Email: u.Email, Password: "a-long-enough-passphrase", Client: c})
	if err != nil {
		b.Fatal(err)
	}
	id := &auth.Identity{User: u, Session: in.Session}
	key := &passkeytest.Authenticator{Origin: "https://auth.example.com", UserVerified: true}
	reg, err := svc.BeginPasskeyRegistration(ctx, id, "a-long-enough-passphrase", "", nil, c)
	if err != nil {
		b.Fatal(err)
	}
	answer, _, err := key.Register(reg.Options, passkeytest.Ceremony{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.FinishPasskeyRegistration(ctx, id, reg.Token, "bench", answer, c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cer, err := svc.BeginPasskeyLogin(ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		answer, err := key.Assert(cer.Options, nil, passkeytest.Ceremony{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.FinishPasskeyLogin(ctx, cer.Token, answer, false, "", c); err != nil {
			b.Fatal(err)
		}
	}
}
