package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres/pgtest"
	"github.com/lacop/lacop/storetest"
)

// Tests of what the contract suite leaves to each backend: behaviour under
// concurrency and load that only a shared server shows, and input that
// PostgreSQL, unlike SQLite, refuses.

// TestRecordEventsMany: 10,000 events in one call get ids in their order,
// quickly.
func TestRecordEventsMany(t *testing.T) {
	s := stores(open(t, pgtest.NewDatabase(t))).Audit
	const n = 10_000
	events := make([]*lacop.AuditEvent, n)
	for i := range events {
		events[i] = &lacop.AuditEvent{Type: lacop.AuditSessionRevokedAll, UserID: "ann", SessionID: fmt.Sprint("s", i)}
	}
	start := time.Now()
	if err := s.RecordEvents(t.Context(), events...); err != nil {
		t.Fatalf("RecordEvents(%d events): %v", n, err)
	}
	took := time.Since(start)
	t.Logf("RecordEvents(%d events) took %v", n, took)
	if took > 5*time.Second {
		t.Errorf("RecordEvents(%d events) took %v; want one quick write", n, took)
	}
	ids := make([]int64, n)
	for i, e := range events {
		id, err := strconv.ParseInt(e.ID, 10, 64)
		if err != nil || e.Time.IsZero() {
			t.Fatalf("event %d: ID %q, Time %v; want a numeric id and a time", i, e.ID, e.Time)
		}
		ids[i] = id
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Errorf("ids are not distinct and ascending in input order")
	}
	list, err := s.Events(t.Context(), lacop.AuditFilter{UserID: "ann", Limit: 2})
	if err != nil || len(list) != 2 || list[0].SessionID != fmt.Sprint("s", n-1) || list[1].SessionID != fmt.Sprint("s", n-2) {
		t.Errorf("Events(ann, limit 2) = %v, %v; want the last two recorded, newest first", list, err)
	}
}

// TestClaimSetupConcurrent: of claims racing on two instances, exactly one
// creates the first admin; with a plain user created beside them, a claim
// wins only if it came first.
func TestClaimSetupConcurrent(t *testing.T) {
	for round, withPlainUser := range []bool{false, false, true, true, true} {
		url := pgtest.NewDatabase(t)
		instances := []storetest.Stores{stores(open(t, url)), stores(open(t, url))}
		ctx, hash := t.Context(), []byte("setup token hash, 32 bytes long!")
		if err := instances[0].Setup.ResetSetupToken(ctx, hash, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		const claims = 8
		errs := make([]error, claims)
		var plainErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range claims {
			wg.Go(func() {
				<-start
				u := newUser(fmt.Sprint("admin", i))
				u.Admin = true
				errs[i] = instances[i%2].Setup.ClaimSetup(ctx, hash, time.Now(), u)
			})
		}
		if withPlainUser {
			wg.Go(func() {
				<-start
				plainErr = instances[1].Users.CreateUser(ctx, newUser("plain"))
			})
		}
		close(start)
		wg.Wait()

		wins := 0
		for i, err := range errs {
			switch lacop.ErrorCode(err) {
			case "":
				wins++
			case lacop.ENOTFOUND:
			default:
				t.Errorf("round %d: claim %d: %v", round, i, err)
			}
		}
		if plainErr != nil {
			t.Errorf("round %d: CreateUser(plain): %v", round, plainErr)
		}
		n, err := instances[0].Users.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 0, true: 1}[withPlainUser] + wins; wins > 1 || (!withPlainUser && wins != 1) || n != want {
			t.Errorf("round %d (plain user %v): %d claims won, %d users; want at most one win (exactly one without the plain user) and users = wins + plain",
				round, withPlainUser, wins, n)
		}
	}
}

// TestClaimSetupWaitsForUserCreation: a claim made while another
// connection is creating a user waits for it, then sees that user and
// creates nothing: the first admin is only ever made on an empty store.
func TestClaimSetupWaitsForUserCreation(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	s := stores(open(t, url))
	hash := []byte("setup token hash, 32 bytes long!")
	if err := s.Setup.ResetSetupToken(ctx, hash, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at)
		VALUES ('plain', 'plain@example.com', 'x', 0, 0)`); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Setup.ClaimSetup(ctx, hash, time.Now(), newUser("admin")) }()
	select {
	case err := <-done:
		t.Fatalf("ClaimSetup returned %v while a user was being created; want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("ClaimSetup after another user was created = %v; want ENOTFOUND", err)
	}
	if n, err := s.Users.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers() = %d, %v; want 1 (the plain user only)", n, err)
	}
}

// TestUnstorableText: text PostgreSQL cannot hold (invalid UTF-8, NUL),
// which SQLite takes, never turns into an internal error: recorded text is
// cleaned, lookups find nothing, and stored user fields are refused.
func TestUnstorableText(t *testing.T) {
	ctx := t.Context()
	s := stores(open(t, pgtest.NewDatabase(t)))
	if err := s.Users.CreateUser(ctx, newUser("ann")); err != nil {
		t.Fatal(err)
	}
	bad := newUser("bad")
	bad.Name = "Bad\x00Name"
	if err := s.Users.CreateUser(ctx, bad); lacop.ErrorCode(err) != lacop.EINVALID {
		t.Errorf("CreateUser(name with NUL) = %v; want EINVALID", err)
	}
	for _, lookup := range []string{"\xff@example.com", "ann\x00@example.com"} {
		if _, err := s.Users.UserByEmail(ctx, lookup); lacop.ErrorCode(err) != lacop.ENOTFOUND {
			t.Errorf("UserByEmail(%q) = %v; want ENOTFOUND", lookup, err)
		}
		if _, err := s.Users.UserByID(ctx, lookup); lacop.ErrorCode(err) != lacop.ENOTFOUND {
			t.Errorf("UserByID(%q) = %v; want ENOTFOUND", lookup, err)
		}
		if _, err := s.Sessions.SessionByID(ctx, lookup); lacop.ErrorCode(err) != lacop.ENOTFOUND {
			t.Errorf("SessionByID(%q) = %v; want ENOTFOUND", lookup, err)
		}
		if ok, err := s.Sessions.DeleteSession(ctx, lookup); ok || err != nil {
			t.Errorf("DeleteSession(%q) = %v, %v; want false, nil", lookup, ok, err)
		}
	}

	now := time.Now()
	sess := &lacop.Session{ID: "s1", SecretHash: []byte("hash"), UserID: "ann", AuthLevel: 1,
		CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(time.Hour), IP: "\x00", UserAgent: "agent/\xff\xfe1.0"}
	if err := s.Sessions.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession(user agent with invalid UTF-8): %v", err)
	}
	if got, err := s.Sessions.SessionByID(ctx, "s1"); err != nil || got.UserAgent != "agent/\uFFFD1.0" || got.IP != "\uFFFD" {
		t.Errorf("SessionByID(s1) = %+v, %v; want the user agent and IP cleaned", got, err)
	}

	e := &lacop.AuditEvent{Type: lacop.AuditLoginFailed, UserID: "ann", UserAgent: "\xff", Detail: map[string]string{"email": "x\x00\xff"}}
	if err := s.Audit.RecordEvents(ctx, e); err != nil {
		t.Fatalf("RecordEvents(invalid UTF-8 and NUL): %v", err)
	}
	if list, err := s.Audit.Events(ctx, lacop.AuditFilter{UserID: "ann"}); err != nil || len(list) != 1 || list[0].Detail["email"] != "x\uFFFD\uFFFD" {
		t.Errorf("Events(ann) = %v, %v; want the event with its detail cleaned", list, err)
	}

	const key = "account:\xff\x00"
	for range 2 {
		if err := s.Regulation.RecordFailure(ctx, now, key); err != nil {
			t.Fatalf("RecordFailure(%q): %v", key, err)
		}
	}
	if n, err := s.Regulation.CountFailures(ctx, key, now.Add(-time.Minute)); err != nil || n != 2 {
		t.Errorf("CountFailures(%q) = %d, %v; want 2, nil", key, n, err)
	}
}

// TestDeleteFamilyDuringRefresh: a family ended while a refresh of it is
// in flight loses the successor too. The refresh holds its token's row and
// inserts the successor in the same transaction; a single DELETE waits for
// the row but does not see the successor committed meanwhile.
func TestDeleteFamilyDuringRefresh(t *testing.T) {
	ends := map[string]func(s storetest.Stores) error{
		"DeleteRefreshTokens":     func(s storetest.Stores) error { return s.Tokens.DeleteRefreshTokens(context.Background(), "s1") },
		"DeleteUserRefreshTokens": func(s storetest.Stores) error { return s.Tokens.DeleteUserRefreshTokens(context.Background(), "ann") },
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			url := pgtest.NewDatabase(t)
			s := stores(open(t, url))
			now := time.Now()
			token := func(h string) *lacop.RefreshToken {
				return &lacop.RefreshToken{Hash: []byte(h), SessionID: "s1", UserID: "ann", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			}
			if err := s.Tokens.CreateRefreshToken(ctx, token("first")); err != nil {
				t.Fatal(err)
			}
			// The refresh, held open: first spent, its successor inserted.
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET spent_at = $1 WHERE hash = $2`, now.UnixMilli(), []byte("first")); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, user_id, created_at, expires_at)
				VALUES ($1, 's1', 'ann', $2, $3)`, []byte("second"), now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- end(s) }()
			select {
			case err := <-done:
				t.Fatalf("%s returned %v while the refresh held its row; want it to wait", name, err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"first", "second"} {
				if _, err := s.Tokens.RefreshTokenByHash(ctx, []byte(h)); lacop.ErrorCode(err) != lacop.ENOTFOUND {
					t.Errorf("refresh token %q after the family ended: %v; want ENOTFOUND", h, err)
				}
			}
		})
	}
}
