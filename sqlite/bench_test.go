package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/storetest"
)

// seedSessions gives userID n sessions in one transaction.
func seedSessions(tb testing.TB, db *DB, userID string, n int) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	now := ms(time.Now())
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%06d", userID, i)
		h := sha256.Sum256([]byte(id))
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`, gen) VALUES (?, ?, ?, 1, 0, ?, ?, ?, '203.0.113.7', 'bench',
			(SELECT session_gen FROM users WHERE id = ?))`, id, h[:], userID, now, now-int64(i), now+3600_000, userID); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func openBench(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "lacop.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, id := range []string{"victim", "bystander"} {
		if err := NewUserStore(db).CreateUser(context.Background(), &lacop.User{ID: id, Email: id + "@example.com", PasswordHash: "x"}); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// BenchmarkDeleteUserSessions10k ends every session of a user who has
// 10,000, beside another user's 10,000: an indexed read and a generation
// bump (the rows go later, in the sweep's purge, measured as well).
func BenchmarkDeleteUserSessions10k(b *testing.B) {
	db := openBench(b)
	seedSessions(b, db, "bystander", 10_000)
	store := NewSessionStore(db)
	var purge time.Duration
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		seedSessions(b, db, "victim", 10_000)
		b.StartTimer()
		ended, err := store.DeleteUserSessions(context.Background(), "victim", "")
		if err != nil || len(ended) != 10_000 {
			b.Fatalf("DeleteUserSessions = %d, %v; want 10000", len(ended), err)
		}
		b.StopTimer()
		t0 := time.Now()
		if err := store.purge(context.Background()); err != nil {
			b.Fatal(err)
		}
		purge += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(purge.Milliseconds())/float64(b.N), "purge-ms/op")
}

// TestDeleteUserSessionsUsesIndex: ending all of a user's sessions reads
// them through the per-user index, and so does the purge of their rows;
// neither scans every session.
func TestDeleteUserSessionsUsesIndex(t *testing.T) {
	db := openBench(t)
	for _, q := range []string{
		`SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? AND id != ? AND ` + live,
		`SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? AND ` + live + ` AND ? = '' ORDER BY last_active_at DESC, created_at DESC`,
		`DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE user_id = ? AND NOT ` + live + ` LIMIT ?)`,
	} {
		rows, err := db.read.Query(`EXPLAIN QUERY PLAN `+q, "victim", "")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX sessions_user") || strings.Contains(p, "SCAN sessions") {
			t.Errorf("plan for %q = %q; want a search of index sessions_user", q, p)
		}
	}
}

// BenchmarkClaimDeliveries3000: see storetest.BenchmarkClaim.
func BenchmarkClaimDeliveries3000(b *testing.B) {
	storetest.BenchmarkClaim(b, NewOutboxStore(openBench(b)))
}
