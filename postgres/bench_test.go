package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/postgres/pgtest"
	"github.com/lacop/lacop/storetest"
)

// benchRows is how many rows the benchmarks seed, so that lookups go
// through an index of realistic depth rather than a one-page table.
const benchRows = 10_000

// openSeeded opens a fresh database, runs seed on a plain connection to
// it, and refreshes the planner's statistics.
func openSeeded(b *testing.B, seed func(ctx context.Context, conn *pgx.Conn) error) *postgres.DB {
	b.Helper()
	url := pgtest.NewDatabase(b)
	db := open(b, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := seed(ctx, conn); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return db
}

func sessionHash(i int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "session-%06d", i))
	return h[:]
}

// BenchmarkSessionByHash is the lookup on every authenticated request.
func BenchmarkSessionByHash(b *testing.B) {
	now := time.Now().UnixMilli()
	var size int64
	db := openSeeded(b, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at)
			VALUES ('ann', 'ann@example.com', 'x', $1, $1)`, now); err != nil {
			return err
		}
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"sessions"},
			[]string{"id", "secret_hash", "user_id", "auth_level", "remember_me", "created_at", "last_active_at", "expires_at", "ip", "user_agent"},
			pgx.CopyFromSlice(benchRows, func(i int) ([]any, error) {
				return []any{fmt.Sprintf("s%06d", i), sessionHash(i), "ann", 1, false, now, now, now + 3600_000,
					"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) bench"}, nil
			}))
		if err != nil {
			return err
		}
		// The footprint of a session with its indexes, for sizing.
		return conn.QueryRow(ctx, `SELECT pg_total_relation_size('sessions')`).Scan(&size)
	})
	store := postgres.NewSessionStore(db)
	hashes := make([][]byte, benchRows)
	for i := range hashes {
		hashes[i] = sessionHash(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := store.SessionByHash(ctx, hashes[i%benchRows]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(size)/benchRows, "store-bytes/session")
}

// BenchmarkDeleteUserSessions10k ends every session of a user who has
// 10,000, as "sign out everywhere" does.
func BenchmarkDeleteUserSessions10k(b *testing.B) {
	const n = 10_000
	url := pgtest.NewDatabase(b)
	db := open(b, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	now := time.Now().UnixMilli()
	if _, err := conn.Exec(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at)
		VALUES ('ann', 'ann@example.com', 'x', $1, $1)`, now); err != nil {
		b.Fatal(err)
	}
	store := postgres.NewSessionStore(db)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"sessions"},
			[]string{"id", "secret_hash", "user_id", "auth_level", "remember_me", "created_at", "last_active_at", "expires_at", "ip", "user_agent"},
			pgx.CopyFromSlice(n, func(j int) ([]any, error) {
				return []any{fmt.Sprintf("r%d-%05d", i, j), sessionHash(i*n + j), "ann", 1, false, now, now, now + 3600_000,
					"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) bench"}, nil
			})); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ended, err := store.DeleteUserSessions(ctx, "ann", "")
		if err != nil || len(ended) != n {
			b.Fatalf("DeleteUserSessions = %d, %v; want %d", len(ended), err, n)
		}
	}
}

// BenchmarkAccessTokenDenied is the check on every bearer request; half
// the lookups hit a denied token and half miss.
func BenchmarkAccessTokenDenied(b *testing.B) {
	now := time.Now()
	db := openSeeded(b, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"token_denylist"}, []string{"jti", "expires_at"},
			pgx.CopyFromSlice(benchRows, func(i int) ([]any, error) {
				return []any{fmt.Sprintf("denied-%06d", i), now.Add(time.Hour).UnixMilli()}, nil
			}))
		return err
	})
	store := postgres.NewTokenStore(db)
	jtis := make([]string, 2*benchRows)
	for i := range benchRows {
		jtis[2*i], jtis[2*i+1] = fmt.Sprintf("denied-%06d", i), fmt.Sprintf("live-%06d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		denied, err := store.AccessTokenDenied(ctx, jtis[i%len(jtis)], now)
		if err != nil || denied != (i%2 == 0) {
			b.Fatalf("AccessTokenDenied(%s) = %v, %v", jtis[i%len(jtis)], denied, err)
		}
		i++
	}
}

// BenchmarkRecordEvents10k records the audit events of ending 10,000
// sessions at once.
func BenchmarkRecordEvents10k(b *testing.B) {
	db := open(b, pgtest.NewDatabase(b))
	store := postgres.NewAuditStore(db)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		events := make([]*lacop.AuditEvent, benchRows)
		for i := range events {
			events[i] = &lacop.AuditEvent{Type: lacop.AuditSessionRevokedAll, UserID: "ann", SessionID: fmt.Sprint("s", i),
				ActorID: "ann", IP: "203.0.113.7", UserAgent: "bench", Detail: map[string]string{"reason": "revoked_all"}}
		}
		if err := store.RecordEvents(ctx, events...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimDeliveries3000: see storetest.BenchmarkClaim.
func BenchmarkClaimDeliveries3000(b *testing.B) {
	storetest.BenchmarkClaim(b, postgres.NewOutboxStore(open(b, pgtest.NewDatabase(b))))
}
