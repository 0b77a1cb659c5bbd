package storetest

import (
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testRegulation(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CountPerKey", func(t *testing.T) { testRegulationCountPerKey(t, open(t).Regulation) })
	t.Run("Window", func(t *testing.T) { testRegulationWindow(t, open(t).Regulation) })
	t.Run("Clear", func(t *testing.T) { testRegulationClear(t, open(t).Regulation) })
	t.Run("Forget", func(t *testing.T) { testRegulationForget(t, open(t).Regulation) })
	t.Run("BanEnd", func(t *testing.T) { testRegulationBanEnd(t, open(t).Regulation) })
	t.Run("Ban", func(t *testing.T) { testRegulationBan(t, open(t).Regulation) })
	t.Run("BanKeepsLater", func(t *testing.T) { testRegulationBanKeepsLater(t, open(t).Regulation) })
	t.Run("Prune", func(t *testing.T) { testRegulationPrune(t, open(t).Regulation) })
	t.Run("BanList", func(t *testing.T) { testRegulationBanList(t, open(t).Regulation) })
}

// wantFailures fails the test unless key has n failures at or after since.
func wantFailures(t *testing.T, s lacop.RegulationStore, key string, since time.Time, n int) {
	t.Helper()
	if got, err := s.CountFailures(t.Context(), key, since); err != nil || got != n {
		t.Errorf("CountFailures(%q, %v) = %d, %v; want %d, nil", key, since, got, err, n)
	}
}

// wantBan fails the test unless BannedUntil(key, now) is want (the zero
// time for no ban), compared at millisecond precision.
func wantBan(t *testing.T, s lacop.RegulationStore, key string, now, want time.Time) {
	t.Helper()
	got, err := s.BannedUntil(t.Context(), key, now)
	if err != nil || !sameMS(got, want) || got.IsZero() != want.IsZero() {
		t.Errorf("BannedUntil(%q, %v) = %v, %v; want %v, nil", key, now, got, err, want)
	}
}

func testRegulationCountPerKey(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	must(t, "RecordFailure (no keys)", s.RecordFailure(ctx, base))
	must(t, "RecordFailure", s.RecordFailure(ctx, base, "account:ann", "ip:192.0.2.1"))
	must(t, "RecordFailure", s.RecordFailure(ctx, base.Add(time.Second), "account:ann", "ip:192.0.2.2"))
	must(t, "RecordFailure", s.RecordFailure(ctx, base.Add(2*time.Second), "account:bob", "ip:192.0.2.1"))
	must(t, "RecordFailure", s.RecordFailure(ctx, base.Add(3*time.Second), "account:ann"))

	since := base.Add(-time.Hour)
	tests := []struct {
		key  string
		want int
	}{
		{"account:ann", 3},
		{"account:bob", 1},
		{"ip:192.0.2.1", 2},
		{"ip:192.0.2.2", 1},
		{"account:cat", 0},
		{"ip:192.0.2.3", 0},
		{"", 0},
	}
	for _, tt := range tests {
		wantFailures(t, s, tt.key, since, tt.want)
	}
}

func testRegulationWindow(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	const key = "account:ann"
	for _, at := range []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute)} {
		must(t, "RecordFailure", s.RecordFailure(ctx, at, key))
	}
	tests := []struct {
		name  string
		since time.Time
		want  int
	}{
		{"well before", base.Add(-time.Hour), 3},
		{"at the first", base, 3},
		{"just after the first", base.Add(time.Millisecond), 2},
		{"at the second", base.Add(time.Minute), 2},
		{"between second and third", base.Add(90 * time.Second), 1},
		{"at the last", base.Add(2 * time.Minute), 1},
		{"after the last", base.Add(2*time.Minute + time.Millisecond), 0},
		{"well after", base.Add(time.Hour), 0},
	}
	for _, tt := range tests {
		if got, err := s.CountFailures(ctx, key, tt.since); err != nil || got != tt.want {
			t.Errorf("CountFailures(%q, since %s) = %d, %v; want %d, nil", key, tt.name, got, err, tt.want)
		}
	}
}

func testRegulationClear(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	since := base.Add(-time.Hour)
	for range 3 {
		must(t, "RecordFailure", s.RecordFailure(ctx, base, "account:ann", "account:bob", "ip:192.0.2.1"))
	}
	must(t, "Ban", s.Ban(ctx, "account:ann", base.Add(time.Hour)))
	must(t, "ClearFailures", s.ClearFailures(ctx, "account:ann"))
	must(t, "ClearFailures (nothing recorded)", s.ClearFailures(ctx, "account:cat"))

	wantFailures(t, s, "account:ann", since, 0)
	wantFailures(t, s, "account:bob", since, 3)
	wantFailures(t, s, "ip:192.0.2.1", since, 3)
	// A success forgets the failures, not a ban already earned.
	wantBan(t, s, "account:ann", base, base.Add(time.Hour))

	must(t, "RecordFailure", s.RecordFailure(ctx, base.Add(time.Minute), "account:ann"))
	wantFailures(t, s, "account:ann", since, 1)
}

func testRegulationForget(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	since := base.Add(-time.Hour)
	for range 3 {
		must(t, "RecordFailure", s.RecordFailure(ctx, base, "ip:192.0.2.1"))
	}
	must(t, "RecordFailure", s.RecordFailure(ctx, base.Add(time.Second), "ip:192.0.2.1", "ip:192.0.2.2"))
	// One withdrawal takes back exactly one count, at that time, of that key.
	must(t, "ForgetFailure", s.ForgetFailure(ctx, "ip:192.0.2.1", base))
	wantFailures(t, s, "ip:192.0.2.1", since, 3)
	wantFailures(t, s, "ip:192.0.2.1", base.Add(time.Second), 1)
	wantFailures(t, s, "ip:192.0.2.2", since, 1)
	// Nothing recorded at that time: nothing changes, no error.
	must(t, "ForgetFailure (no match)", s.ForgetFailure(ctx, "ip:192.0.2.2", base))
	wantFailures(t, s, "ip:192.0.2.2", since, 1)
	must(t, "ForgetFailure", s.ForgetFailure(ctx, "ip:192.0.2.1", base.Add(time.Second)))
	wantFailures(t, s, "ip:192.0.2.1", since, 2)
	wantFailures(t, s, "ip:192.0.2.2", since, 1)
}

func testRegulationBanEnd(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	want := func(what, key string, w time.Time) {
		t.Helper()
		if got, err := s.BanEnd(ctx, key); err != nil || !got.Equal(w) {
			t.Errorf("BanEnd(%q) %s = %v, %v; want %v, nil", key, what, got, err, w)
		}
	}
	want("never banned", "account:ann", time.Time{})
	must(t, "Ban", s.Ban(ctx, "account:ann", base.Add(time.Minute)))
	want("while banned", "account:ann", base.Add(time.Minute))
	must(t, "Ban (shorter)", s.Ban(ctx, "account:ann", base.Add(time.Second)))
	want("after a shorter ban", "account:ann", base.Add(time.Minute))
	// An ended ban is still reported, until pruned.
	must(t, "PruneRegulation", s.PruneRegulation(ctx, base.Add(time.Minute)))
	want("ended, not yet pruned", "account:ann", base.Add(time.Minute))
	must(t, "PruneRegulation", s.PruneRegulation(ctx, base.Add(time.Minute+time.Millisecond)))
	want("pruned", "account:ann", time.Time{})
	want("other key", "account:bob", time.Time{})
}

func testRegulationBan(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	until := base.Add(10 * time.Minute)
	wantBan(t, s, "ip:192.0.2.1", base, time.Time{})
	must(t, "Ban", s.Ban(ctx, "ip:192.0.2.1", until))

	// Times stay clear of the end itself, whose inclusiveness the contract
	// leaves open.
	tests := []struct {
		name string
		key  string
		now  time.Time
		want time.Time
	}{
		{"long before the end", "ip:192.0.2.1", base.Add(-time.Hour), until},
		{"at the ban", "ip:192.0.2.1", base, until},
		{"just before the end", "ip:192.0.2.1", until.Add(-time.Second), until},
		{"just after the end", "ip:192.0.2.1", until.Add(time.Second), time.Time{}},
		{"long after the end", "ip:192.0.2.1", until.Add(24 * time.Hour), time.Time{}},
		{"another key", "ip:192.0.2.2", base, time.Time{}},
		{"an account key", "account:ann", base, time.Time{}},
	}
	for _, tt := range tests {
		got, err := s.BannedUntil(ctx, tt.key, tt.now)
		if err != nil || !sameMS(got, tt.want) || got.IsZero() != tt.want.IsZero() {
			t.Errorf("BannedUntil(%q, %s) = %v, %v; want %v, nil", tt.key, tt.name, got, err, tt.want)
		}
	}
}

func testRegulationBanKeepsLater(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	const key = "account:ann"
	tests := []struct {
		name  string
		until time.Time
		want  time.Time
	}{
		{"first ban", base.Add(time.Hour), base.Add(time.Hour)},
		{"shorter ban", base.Add(10 * time.Minute), base.Add(time.Hour)},
		{"ban already over", base.Add(-time.Hour), base.Add(time.Hour)},
		{"same ban", base.Add(time.Hour), base.Add(time.Hour)},
		{"longer ban", base.Add(2*time.Hour + 250*time.Millisecond), base.Add(2*time.Hour + 250*time.Millisecond)},
	}
	for _, tt := range tests {
		must(t, "Ban "+tt.name, s.Ban(ctx, key, tt.until))
		got, err := s.BannedUntil(ctx, key, base)
		if err != nil || !sameMS(got, tt.want) {
			t.Errorf("BannedUntil(%q) after %s = %v, %v; want %v, nil", key, tt.name, got, err, tt.want)
		}
	}
}

func testRegulationPrune(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	cutoff := base
	must(t, "RecordFailure old", s.RecordFailure(ctx, cutoff.Add(-time.Hour), "account:old", "account:both"))
	must(t, "RecordFailure recent", s.RecordFailure(ctx, cutoff.Add(time.Minute), "account:new", "account:both"))
	must(t, "Ban ended", s.Ban(ctx, "ip:ended", cutoff.Add(-time.Minute)))
	must(t, "Ban ongoing", s.Ban(ctx, "ip:ongoing", cutoff.Add(time.Hour)))

	must(t, "PruneRegulation", s.PruneRegulation(ctx, cutoff))
	must(t, "PruneRegulation again", s.PruneRegulation(ctx, cutoff))

	// Counting from long ago shows what the tables still hold.
	longAgo := cutoff.Add(-24 * time.Hour)
	wantFailures(t, s, "account:old", longAgo, 0)
	wantFailures(t, s, "account:both", longAgo, 1)
	wantFailures(t, s, "account:new", longAgo, 1)
	wantBan(t, s, "ip:ended", longAgo, time.Time{})
	wantBan(t, s, "ip:ongoing", longAgo, cutoff.Add(time.Hour))
}
