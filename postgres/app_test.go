package postgres_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lacop/lacop"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/postgres/pgtest"
)

// outboxRow is one row of the outbox table as stored.
type outboxRow struct {
	ID, Kind, Key, Payload, State, LastError, LeaseOwner string
	Attempts                                             int
	CreatedAt, NextAttemptAt, LeaseUntil                 int64
}

// query runs one query on a connection of its own to the database at url.
func query(t *testing.T, url, sql string) pgx.Rows {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	rows, err := conn.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

// readOutbox reads the outbox table, in id order.
func readOutbox(t *testing.T, url string) []outboxRow {
	t.Helper()
	list, err := pgx.CollectRows(query(t, url, `SELECT id, kind, key, payload, state, attempts, last_error,
		created_at, next_attempt_at, lease_owner, lease_until FROM outbox ORDER BY id`),
		func(row pgx.CollectableRow) (outboxRow, error) {
			var r outboxRow
			var payload []byte
			err := row.Scan(&r.ID, &r.Kind, &r.Key, &payload, &r.State, &r.Attempts, &r.LastError,
				&r.CreatedAt, &r.NextAttemptAt, &r.LeaseOwner, &r.LeaseUntil)
			r.Payload = string(payload)
			return r, err
		})
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	return list
}

// TestEndAppGrantsWritesOutbox: the deliveries announcing ended grants are
// in the outbox once EndAppGrants returns, one per ended grant, as given,
// pending; a selection that ends nothing, or is refused, writes none.
func TestEndAppGrantsWritesOutbox(t *testing.T) {
	ctx, url := t.Context(), pgtest.NewDatabase(t)
	s := postgres.NewAppStore(open(t, url))
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	for i, g := range []*lacop.AppGrant{
		{ID: "g1", SessionID: "s1", UserID: "ann", ClientID: "grafana"},
		{ID: "g2", SessionID: "s1", UserID: "ann", ClientID: "gitea"},
		{ID: "g3", SessionID: "s2", UserID: "ann", ClientID: "grafana"},
	} {
		g.AuthTime, g.CreatedAt = at, at.Add(time.Duration(i)*time.Second)
		if err := s.CreateAppGrant(ctx, g); err != nil {
			t.Fatalf("CreateAppGrant(%s): %v", g.ID, err)
		}
	}
	outbox := func(g *lacop.AppGrant) []*lacop.Delivery {
		return []*lacop.Delivery{{ID: "logout-" + g.ID, Kind: "backchannel_logout", Key: g.ClientID,
			Payload: []byte("token of " + g.ID), CreatedAt: at, NextAttemptAt: at.Add(time.Second)}}
	}
	want := func(id, key string) outboxRow {
		return outboxRow{ID: "logout-" + id, Kind: "backchannel_logout", Key: key, Payload: "token of " + id,
			State: lacop.DeliveryPending, CreatedAt: at.UnixMilli(), NextAttemptAt: at.Add(time.Second).UnixMilli()}
	}
	steps := []struct {
		name  string
		sel   lacop.GrantSelection
		ended []string
		want  []outboxRow // the whole outbox afterwards
	}{
		{"nothing matched", lacop.GrantSelection{SessionIDs: []string{"s9"}}, []string{}, []outboxRow{}},
		{"refused", lacop.GrantSelection{ClientID: "grafana"}, []string{}, []outboxRow{}},
		{"session s1", lacop.GrantSelection{SessionIDs: []string{"s1"}}, []string{"g1", "g2"},
			[]outboxRow{want("g1", "grafana"), want("g2", "gitea")}},
		{"session s1 again", lacop.GrantSelection{SessionIDs: []string{"s1"}}, []string{},
			[]outboxRow{want("g1", "grafana"), want("g2", "gitea")}},
		{"user ann", lacop.GrantSelection{UserID: "ann"}, []string{"g3"},
			[]outboxRow{want("g1", "grafana"), want("g2", "gitea"), want("g3", "grafana")}},
	}
	for _, step := range steps {
		list, _ := s.EndAppGrants(ctx, step.sel, outbox)
		ended := []string{}
		for _, g := range list {
			ended = append(ended, g.ID)
		}
		if !slices.Equal(ended, step.ended) {
			t.Errorf("%s: EndAppGrants ended %q; want %q", step.name, ended, step.ended)
		}
		if got := readOutbox(t, url); !slices.Equal(got, step.want) {
			t.Errorf("%s: outbox = %+v; want %+v", step.name, got, step.want)
		}
	}
}

// TestEndAppGrantsOverlapping: ends on two instances whose selections
// overlap (all of a user's grants, each session's, each grant by id, in
// different orders) neither fail nor deadlock, and each grant is ended and
// announced exactly once.
func TestEndAppGrantsOverlapping(t *testing.T) {
	ctx, url := t.Context(), pgtest.NewDatabase(t)
	instances := []*postgres.AppStore{postgres.NewAppStore(open(t, url)), postgres.NewAppStore(open(t, url))}
	const rounds, sessions, perSession = 5, 6, 4
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	for round := range rounds {
		var all []string
		var sels []lacop.GrantSelection
		for s := range sessions {
			sid := fmt.Sprintf("r%d-s%d", round, s)
			sels = append(sels, lacop.GrantSelection{SessionIDs: []string{sid}})
			for g := range perSession {
				id := fmt.Sprintf("%s-g%d", sid, g)
				all = append(all, id)
				if err := instances[0].CreateAppGrant(ctx, &lacop.AppGrant{ID: id, SessionID: sid, UserID: "ann",
					ClientID: fmt.Sprint("app", g), AuthTime: at, CreatedAt: at}); err != nil {
					t.Fatal(err)
				}
			}
		}
		backward := slices.Clone(all)
		slices.Reverse(backward)
		sels = append(sels, lacop.GrantSelection{UserID: "ann"}, lacop.GrantSelection{GrantIDs: backward},
			lacop.GrantSelection{GrantIDs: all})
		var mu sync.Mutex
		var ended []string
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, sel := range sels {
			wg.Go(func() {
				<-start
				list, err := instances[i%2].EndAppGrants(ctx, sel, func(g *lacop.AppGrant) []*lacop.Delivery {
					return []*lacop.Delivery{{ID: "logout-" + g.ID, Kind: "backchannel_logout", CreatedAt: at}}
				})
				if err != nil {
					t.Errorf("round %d: EndAppGrants(%+v): %v", round, sel, err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, g := range list {
					ended = append(ended, g.ID)
				}
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(ended)
		if want := slices.Sorted(slices.Values(all)); !slices.Equal(ended, want) {
			t.Errorf("round %d: grants ended %d times in all (%d distinct); want each of %d once",
				round, len(ended), len(slices.Compact(slices.Clone(ended))), len(want))
		}
	}
	if got, want := len(readOutbox(t, url)), rounds*sessions*perSession; got != want {
		t.Errorf("outbox holds %d deliveries; want %d, one per grant", got, want)
	}
}

// TestSpendWhileGrantEnds: refresh-token chains spent on two instances
// while the grant is ended fail only as the contract says (never a
// deadlock), and no token row is left once the end has returned.
func TestSpendWhileGrantEnds(t *testing.T) {
	ctx, url := t.Context(), pgtest.NewDatabase(t)
	instances := []*postgres.AppStore{postgres.NewAppStore(open(t, url)), postgres.NewAppStore(open(t, url))}
	const rounds, chains, links = 10, 8, 30
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	token := func(round, chain, link int) *lacop.AppToken {
		return &lacop.AppToken{Hash: fmt.Appendf(nil, "r%d-c%d-l%d", round, chain, link), GrantID: fmt.Sprint("g", round),
			Kind: lacop.AppTokenRefresh, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	}
	for round := range rounds {
		if err := instances[0].CreateAppGrant(ctx, &lacop.AppGrant{ID: fmt.Sprint("g", round), SessionID: "s1", UserID: "ann",
			ClientID: "grafana", AuthTime: at, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		for c := range chains {
			if err := instances[0].CreateAppToken(ctx, token(round, c, 0)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for c := range chains {
			wg.Go(func() {
				<-start
				for l := range links - 1 {
					err := instances[c%2].SpendAppToken(ctx, token(round, c, l).Hash, at, token(round, c, l+1))
					if code := lacop.ErrorCode(err); code == lacop.ENOTFOUND {
						return
					} else if err != nil {
						t.Errorf("round %d: chain %d: SpendAppToken: %v; want nil or ENOTFOUND", round, c, err)
						return
					}
				}
			})
		}
		close(start)
		time.Sleep(time.Duration(round) * time.Millisecond)
		if _, err := instances[1].EndAppGrants(ctx, lacop.GrantSelection{SessionIDs: []string{"s1"}}, nil); err != nil {
			t.Errorf("round %d: EndAppGrants: %v", round, err)
		}
		rightAfter := countAppTokens(t, url)
		wg.Wait()
		if afterAll := countAppTokens(t, url); rightAfter != 0 || afterAll != 0 {
			t.Errorf("round %d: %d token rows right after EndAppGrants returned, %d once the spends stopped; want 0, 0",
				round, rightAfter, afterAll)
		}
	}
}

func countAppTokens(t *testing.T, url string) int {
	t.Helper()
	n, err := pgx.CollectExactlyOneRow(query(t, url, `SELECT count(*) FROM app_tokens`), pgx.RowTo[int])
	if err != nil {
		t.Fatalf("count app tokens: %v", err)
	}
	return n
}
