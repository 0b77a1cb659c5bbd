package oidc

import (
	"testing"
	"time"
)

// TestSignerWaitsForPublication: a rotated key signs only once every
// instance has had time to publish it.
func TestSignerWaitsForPublication(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	key := func(id string, age time.Duration) idKey { return idKey{id: id, created: now.Add(-age)} }
	for _, tc := range []struct {
		name string
		keys []idKey // newest first
		want string
	}{
		{"the only key, brand new (a new store)", []idKey{key("a", 0)}, "a"},
		{"just rotated: the old key signs", []idKey{key("new", 30*time.Second), key("old", 40*24*time.Hour)}, "old"},
		{"a minute after rotating: still the old", []idKey{key("new", 119*time.Second), key("old", time.Hour)}, "old"},
		{"published long enough: the new key", []idKey{key("new", keyPublish), key("old", time.Hour)}, "new"},
		{"rotated twice quickly: the newest published", []idKey{key("c", time.Second), key("b", 3*time.Minute), key("a", time.Hour)}, "b"},
		{"rotated twice within the window: the oldest", []idKey{key("c", time.Second), key("b", time.Minute)}, "b"},
	} {
		if got := signer(tc.keys, now).id; got != tc.want {
			t.Errorf("%s: signs with %q; want %q", tc.name, got, tc.want)
		}
	}
}
