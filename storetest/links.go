package storetest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testLinks: one-time links are found until they expire, used once,
// replaced by a newer one of their kind when asked, and voided per user.
func testLinks(t *testing.T, s lacop.LinkStore) {
	ctx := t.Context()
	link := func(b byte, kind, user string, expires time.Time) *lacop.Link {
		return &lacop.Link{Hash: bytes.Repeat([]byte{b}, 32), Kind: kind, UserID: user, Data: "d" + string(rune('a'+b)),
			CreatedAt: base, ExpiresAt: expires}
	}
	a := link(1, lacop.LinkPasswordReset, "u1", base.Add(30*time.Minute))
	must(t, "PutLink", s.PutLink(ctx, a, true))
	got, err := s.LinkByHash(ctx, a.Hash, base.Add(time.Minute))
	if err != nil || got.UserID != "u1" || got.Kind != a.Kind || got.Data != a.Data ||
		!got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("LinkByHash = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.LinkByHash(ctx, a.Hash, a.ExpiresAt); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("LinkByHash at its expiry = %v; want not found", err)
	}
	if err := s.PutLink(ctx, a, false); lacop.ErrorCode(err) != lacop.ECONFLICT {
		t.Errorf("PutLink of a taken hash = %v; want conflict", err)
	}

	// A second link of the kind, replacing, voids the first; another
	// kind and another user's are untouched.
	other := link(2, "other_kind", "u1", base.Add(time.Hour))
	theirs := link(3, lacop.LinkPasswordReset, "u2", base.Add(time.Hour))
	must(t, "PutLink", s.PutLink(ctx, other, false))
	must(t, "PutLink", s.PutLink(ctx, theirs, true))
	b := link(4, lacop.LinkPasswordReset, "u1", base.Add(30*time.Minute))
	must(t, "PutLink", s.PutLink(ctx, b, true))
	for _, tt := range []struct {
		l    *lacop.Link
		live bool
	}{{a, false}, {b, true}, {other, true}, {theirs, true}} {
		_, err := s.LinkByHash(ctx, tt.l.Hash, base)
		if live := err == nil; live != tt.live {
			t.Errorf("link %x after a replacing put: live %v (%v); want %v", tt.l.Hash[:1], live, err, tt.live)
		}
	}

	// Used once: of many uses at once exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := s.UseLink(ctx, b.Hash, base)
			if err != nil {
				t.Errorf("UseLink: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d of 8 uses at once won; want exactly one", n)
	}
	if ok, _ := s.UseLink(ctx, theirs.Hash, theirs.ExpiresAt); ok {
		t.Error("an expired link was used")
	}

	// Voided per user and kind; pruned once expired.
	must(t, "DeleteUserLinks", s.DeleteUserLinks(ctx, "u2", lacop.LinkPasswordReset))
	if _, err := s.LinkByHash(ctx, theirs.Hash, base); lacop.ErrorCode(err) != lacop.ENOTFOUND {
		t.Errorf("a voided link = %v; want not found", err)
	}
	must(t, "PruneLinks", s.PruneLinks(ctx, base.Add(2*time.Hour)))
	if ok, _ := s.UseLink(ctx, other.Hash, base); ok {
		t.Error("a pruned link was used")
	}
}
