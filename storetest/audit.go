package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testAudit(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("RecordSetsIDAndTime", func(t *testing.T) { testAuditRecord(t, open(t).Audit) })
	t.Run("RoundTrip", func(t *testing.T) { testAuditRoundTrip(t, open(t).Audit) })
	t.Run("Filters", func(t *testing.T) { testAuditFilters(t, open(t).Audit) })
	t.Run("Paging", func(t *testing.T) { testAuditPaging(t, open(t).Audit) })
	t.Run("InvalidBeforeID", func(t *testing.T) { testAuditInvalidBeforeID(t, open(t).Audit) })
	t.Run("Batch", func(t *testing.T) { testAuditBatch(t, open(t).Audit) })
	if open(t).Outbox != nil {
		t.Run("WithDeliveries", func(t *testing.T) { testAuditWithDeliveries(t, open(t)) })
	}
}

// testAuditWithDeliveries: the deliveries an event carries (a mail that
// announces it) are written with it or not at all.
func testAuditWithDeliveries(t *testing.T, s Stores) {
	ctx := t.Context()
	d := &lacop.Delivery{ID: "mail-1", Kind: "mail", Key: "smtp", Payload: []byte{1, 2, 3}, CreatedAt: base, NextAttemptAt: base}
	e := &lacop.AuditEvent{Type: lacop.AuditPasswordChanged, UserID: "u1", Time: base, Outbox: []*lacop.Delivery{d}}
	must(t, "RecordEvents", s.Audit.RecordEvents(ctx, e, &lacop.AuditEvent{Type: lacop.AuditLogout, UserID: "u1", Time: base}))
	pending, err := s.Outbox.Deliveries(ctx, lacop.DeliveryPending, 10)
	must(t, "Deliveries", err)
	if len(pending) != 1 || pending[0].ID != "mail-1" || pending[0].Kind != "mail" || string(pending[0].Payload) != "\x01\x02\x03" {
		t.Errorf("outbox after recording the event = %+v; want its delivery", pending)
	}
	// A delivery that cannot be written (its id taken) takes its event
	// down with it, and the events recorded in the same call.
	again := &lacop.AuditEvent{Type: lacop.AuditEmailChanged, UserID: "u2", Time: base.Add(time.Second),
		Outbox: []*lacop.Delivery{{ID: "mail-1", Kind: "mail", Key: "smtp", CreatedAt: base, NextAttemptAt: base}}}
	if err := s.Audit.RecordEvents(ctx, &lacop.AuditEvent{Type: lacop.AuditLogout, UserID: "u2", Time: base}, again); err == nil {
		t.Error("RecordEvents with a delivery whose id is taken = nil; want an error")
	}
	list, err := s.Audit.Events(ctx, lacop.AuditFilter{UserID: "u2"})
	must(t, "Events", err)
	if len(list) != 0 {
		t.Errorf("events of a call whose delivery failed: %d; want none (one step)", len(list))
	}
}

// eventIDs returns the ids of list, in order.
func eventIDs(list []*lacop.AuditEvent) []string {
	ids := make([]string, len(list))
	for i, e := range list {
		ids[i] = e.ID
	}
	return ids
}

// recordEvents stores each event and fails the test on error.
func recordEvents(t *testing.T, s lacop.AuditStore, list ...*lacop.AuditEvent) {
	t.Helper()
	for _, e := range list {
		must(t, "RecordEvent", s.RecordEvents(t.Context(), e))
	}
}

func testAuditRecord(t *testing.T, s lacop.AuditStore) {
	ctx := t.Context()
	seen := map[string]bool{}
	for i := range 10 {
		e := &lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, UserID: "ann"}
		must(t, "RecordEvent", s.RecordEvents(ctx, e))
		if e.ID == "" || seen[e.ID] {
			t.Errorf("RecordEvent #%d set ID %q; want a new, non-empty id (seen: %v)", i, e.ID, seen)
		}
		seen[e.ID] = true
		if e.Time.IsZero() {
			t.Errorf("RecordEvent #%d with zero Time left it zero; want it set", i)
		}
	}

	at := base.Add(90 * time.Minute)
	e := &lacop.AuditEvent{Type: lacop.AuditLogout, UserID: "bob", Time: at}
	must(t, "RecordEvent", s.RecordEvents(ctx, e))
	if !sameMS(e.Time, at) {
		t.Errorf("RecordEvent with Time %v changed it to %v", at, e.Time)
	}
	list, err := s.Events(ctx, lacop.AuditFilter{UserID: "bob"})
	must(t, "Events", err)
	if len(list) != 1 || list[0].ID != e.ID || !sameMS(list[0].Time, at) {
		t.Errorf("Events(bob) = %q; want one event %q at %v", eventIDs(list), e.ID, at)
	} else if list[0].Time.IsZero() {
		t.Errorf("Events(bob)[0].Time is zero")
	}
}

func testAuditRoundTrip(t *testing.T, s lacop.AuditStore) {
	ctx := t.Context()
	tests := []struct {
		detail map[string]string
		want   map[string]string
	}{
		{nil, map[string]string{}},
		{map[string]string{}, map[string]string{}},
		{map[string]string{"reason": "logout", "note": "spaces, \"quotes\" and ünïcode"},
			map[string]string{"reason": "logout", "note": "spaces, \"quotes\" and ünïcode"}},
	}
	for i, tt := range tests {
		in := &lacop.AuditEvent{
			Time:      base.Add(time.Duration(i) * time.Minute),
			Type:      lacop.AuditSessionRevoked,
			UserID:    fmt.Sprintf("user-%d", i),
			SessionID: "sess-1",
			ActorID:   "admin-1",
			IP:        "198.51.100.7",
			UserAgent: "curl/8.5.0",
			Detail:    tt.detail,
		}
		want := *in
		recordEvents(t, s, in)
		list, err := s.Events(ctx, lacop.AuditFilter{UserID: in.UserID})
		must(t, "Events", err)
		if len(list) != 1 {
			t.Fatalf("Events(UserID %q) returned %d events; want 1", in.UserID, len(list))
		}
		got := list[0]
		if got.ID != in.ID || !sameMS(got.Time, want.Time) || got.Type != want.Type || got.UserID != want.UserID ||
			got.SessionID != want.SessionID || got.ActorID != want.ActorID || got.IP != want.IP || got.UserAgent != want.UserAgent {
			t.Errorf("event read back as %+v; want %+v with ID %q", *got, want, in.ID)
		}
		if got.Detail == nil || !maps.Equal(got.Detail, tt.want) {
			t.Errorf("Detail stored as %#v read back as %#v; want %#v", tt.detail, got.Detail, tt.want)
		}
	}
}

func testAuditFilters(t *testing.T, s lacop.AuditStore) {
	ctx := t.Context()
	// Twelve events a minute apart: every third is bob's, the rest ann's;
	// logins and logouts alternate.
	var events []*lacop.AuditEvent
	for i := range 12 {
		e := &lacop.AuditEvent{Time: base.Add(time.Duration(i) * time.Minute), UserID: "ann", Type: lacop.AuditLoginSucceeded}
		if i%3 == 0 {
			e.UserID = "bob"
		}
		if i%2 == 1 {
			e.Type = lacop.AuditLogout
		}
		events = append(events, e)
	}
	recordEvents(t, s, events...)
	newestFirst := slices.Clone(events)
	slices.Reverse(newestFirst)
	matching := func(match func(e *lacop.AuditEvent) bool, limit int) []string {
		var ids []string
		for _, e := range newestFirst {
			if match(e) && len(ids) < limit {
				ids = append(ids, e.ID)
			}
		}
		return ids
	}
	since := base.Add(5*time.Minute + 30*time.Second)

	tests := []struct {
		name   string
		filter lacop.AuditFilter
		match  func(e *lacop.AuditEvent) bool
		limit  int
	}{
		{"all", lacop.AuditFilter{Limit: 100},
			func(*lacop.AuditEvent) bool { return true }, 100},
		{"user", lacop.AuditFilter{UserID: "bob", Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.UserID == "bob" }, 100},
		{"unknown user", lacop.AuditFilter{UserID: "nobody", Limit: 100},
			func(*lacop.AuditEvent) bool { return false }, 100},
		{"type", lacop.AuditFilter{Type: lacop.AuditLogout, Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.Type == lacop.AuditLogout }, 100},
		{"since", lacop.AuditFilter{Since: since, Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.Time.After(since) }, 100},
		{"user and type", lacop.AuditFilter{UserID: "ann", Type: lacop.AuditLoginSucceeded, Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.UserID == "ann" && e.Type == lacop.AuditLoginSucceeded }, 100},
		{"user, type and since", lacop.AuditFilter{UserID: "ann", Type: lacop.AuditLogout, Since: since, Limit: 100},
			func(e *lacop.AuditEvent) bool {
				return e.UserID == "ann" && e.Type == lacop.AuditLogout && e.Time.After(since)
			}, 100},
		{"until", lacop.AuditFilter{Until: since, Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.Time.Before(since) }, 100},
		{"since and until", lacop.AuditFilter{Since: base.Add(2 * time.Minute), Until: since, Limit: 100},
			func(e *lacop.AuditEvent) bool { return !e.Time.Before(base.Add(2*time.Minute)) && e.Time.Before(since) }, 100},
		{"limit", lacop.AuditFilter{Limit: 3},
			func(*lacop.AuditEvent) bool { return true }, 3},
		{"limit and user", lacop.AuditFilter{UserID: "ann", Limit: 2},
			func(e *lacop.AuditEvent) bool { return e.UserID == "ann" }, 2},
		{"before", lacop.AuditFilter{BeforeID: events[4].ID, Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.Time.Before(events[4].Time) }, 100},
		{"before and user", lacop.AuditFilter{BeforeID: events[7].ID, UserID: "bob", Limit: 100},
			func(e *lacop.AuditEvent) bool { return e.Time.Before(events[7].Time) && e.UserID == "bob" }, 100},
	}
	for _, tt := range tests {
		list, err := s.Events(ctx, tt.filter)
		want := matching(tt.match, tt.limit)
		if got := eventIDs(list); err != nil || !slices.Equal(got, want) {
			t.Errorf("Events(%s: %+v) = %q, %v; want %q, nil", tt.name, tt.filter, got, err, want)
		}
	}

	// No limit means a store default: at least some events, newest first.
	list, err := s.Events(ctx, lacop.AuditFilter{})
	all := matching(func(*lacop.AuditEvent) bool { return true }, 100)
	if got := eventIDs(list); err != nil || len(got) == 0 || !slices.Equal(got, all[:len(got)]) {
		t.Errorf("Events(zero filter) = %q, %v; want a non-empty prefix of %q", got, err, all)
	}
}

func testAuditPaging(t *testing.T, s lacop.AuditStore) {
	ctx := t.Context()
	const total, pageSize = 25, 10
	var want []string // newest first
	for i := range total {
		e := &lacop.AuditEvent{Time: base.Add(time.Duration(i) * time.Second), Type: lacop.AuditTokenRefreshed, UserID: "ann"}
		recordEvents(t, s, e)
		want = append([]string{e.ID}, want...)
	}
	// One event of another user, in the middle of the log, must not show up
	// or take a place in a page.
	recordEvents(t, s, &lacop.AuditEvent{Time: base.Add(time.Hour), Type: lacop.AuditLogout, UserID: "bob"})

	var got []string
	var sizes []int
	before := ""
	for range total { // a bound, in case paging never ends
		page, err := s.Events(ctx, lacop.AuditFilter{UserID: "ann", BeforeID: before, Limit: pageSize})
		if err != nil {
			t.Fatalf("Events(BeforeID %q): %v", before, err)
		}
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		got = append(got, eventIDs(page)...)
		before = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %q; want %q", got, want)
	}
	if wantSizes := []int{10, 10, 5, 0}; !slices.Equal(sizes, wantSizes) {
		t.Errorf("page sizes = %v; want %v", sizes, wantSizes)
	}
}

func testAuditInvalidBeforeID(t *testing.T, s lacop.AuditStore) {
	recordEvents(t, s, &lacop.AuditEvent{Type: lacop.AuditLogout})
	for _, id := range []string{"not an id", "%$#", "1; DROP TABLE audit_events"} {
		_, err := s.Events(t.Context(), lacop.AuditFilter{BeforeID: id})
		wantCode(t, fmt.Sprintf("Events(BeforeID %q)", id), err, lacop.EINVALID)
	}
}

// testAuditBatch: several events in one call are all stored, each with its
// own id, and listed newest (last recorded) first.
func testAuditBatch(t *testing.T, s lacop.AuditStore) {
	ctx := t.Context()
	if err := s.RecordEvents(ctx); err != nil {
		t.Fatalf("RecordEvents() with no events = %v; want nil", err)
	}
	batch := []*lacop.AuditEvent{
		{Type: lacop.AuditSessionRevoked, UserID: "u1", SessionID: "s1"},
		{Type: lacop.AuditSessionRevoked, UserID: "u1", SessionID: "s2"},
		{Type: lacop.AuditSessionRevoked, UserID: "u1", SessionID: "s3"},
	}
	if err := s.RecordEvents(ctx, batch...); err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	ids := map[string]bool{}
	for _, e := range batch {
		if e.ID == "" || ids[e.ID] {
			t.Errorf("event %s got id %q; want a unique non-empty id", e.SessionID, e.ID)
		}
		ids[e.ID] = true
	}
	got, err := s.Events(ctx, lacop.AuditFilter{UserID: "u1"})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("Events = %d events; want 3", len(got))
	}
	for i, want := range []string{"s3", "s2", "s1"} {
		if got[i].SessionID != want {
			t.Errorf("Events[%d].SessionID = %q; want %q", i, got[i].SessionID, want)
		}
	}
}
