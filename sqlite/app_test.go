package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/sqlite"
)

// outboxRow is one row of the outbox table as stored.
type outboxRow struct {
	ID, Kind, Key, Payload, State, LastError, LeaseOwner string
	Attempts                                             int
	CreatedAt, NextAttemptAt, LeaseUntil                 int64
}

// readOutbox reads the outbox table of the database at path through a
// connection of its own, in id order.
func readOutbox(t *testing.T, path string) []outboxRow {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(t.Context(), `SELECT id, kind, key, payload, state, attempts, last_error,
		created_at, next_attempt_at, lease_owner, lease_until FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	defer rows.Close()
	var list []outboxRow
	for rows.Next() {
		var r outboxRow
		var payload []byte
		if err := rows.Scan(&r.ID, &r.Kind, &r.Key, &payload, &r.State, &r.Attempts, &r.LastError,
			&r.CreatedAt, &r.NextAttemptAt, &r.LeaseOwner, &r.LeaseUntil); err != nil {
			t.Fatalf("read outbox: %v", err)
		}
		r.Payload = string(payload)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	return list
}

// TestEndAppGrantsWritesOutbox: the deliveries announcing ended grants are
// in the outbox once EndAppGrants returns, one per ended grant, as given,
// pending; a selection that ends nothing, or is refused, writes none.
func TestEndAppGrantsWritesOutbox(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "lacop.db")
	s := sqlite.NewAppStore(open(t, path))
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
		{"nothing matched", lacop.GrantSelection{SessionIDs: []string{"s9"}}, []string{}, nil},
		{"refused", lacop.GrantSelection{ClientID: "grafana"}, []string{}, nil},
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
		if got := readOutbox(t, path); !slices.Equal(got, step.want) {
			t.Errorf("%s: outbox = %+v; want %+v", step.name, got, step.want)
		}
	}
}
