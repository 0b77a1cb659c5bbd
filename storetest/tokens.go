package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testTokens(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("RefreshRoundTrip", func(t *testing.T) { testRefreshRoundTrip(t, open(t).Tokens) })
	t.Run("SpendOnce", func(t *testing.T) { testRefreshSpendOnce(t, open(t).Tokens) })
	t.Run("SpendConcurrent", func(t *testing.T) { testRefreshSpendConcurrent(t, open(t).Tokens) })
	t.Run("DeleteFamilies", func(t *testing.T) { testRefreshDeleteFamilies(t, open(t).Tokens) })
	t.Run("Denylist", func(t *testing.T) { testDenylist(t, open(t).Tokens) })
	t.Run("DenySessions", func(t *testing.T) { testDenySessions(t, open(t).Tokens) })
	t.Run("Prune", func(t *testing.T) { testTokensPrune(t, open(t).Tokens) })
}

// hash32 is a distinct 32-byte hash for a name.
func hash32(name string) []byte {
	h := bytes.Repeat([]byte{0}, 32)
	copy(h, name)
	return h
}

func refresh(name, session, user string) *lacop.RefreshToken {
	return &lacop.RefreshToken{Hash: hash32(name), SessionID: session, UserID: user,
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
}

func testRefreshRoundTrip(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, refresh("a", "s1", "u1")))
	wantCode(t, "CreateRefreshToken (duplicate)", s.CreateRefreshToken(ctx, refresh("a", "s2", "u1")), lacop.ECONFLICT)
	got, err := s.RefreshTokenByHash(ctx, hash32("a"))
	if err != nil {
		t.Fatalf("RefreshTokenByHash: %v", err)
	}
	if !bytes.Equal(got.Hash, hash32("a")) || got.SessionID != "s1" || got.UserID != "u1" ||
		!sameMS(got.CreatedAt, base) || !sameMS(got.ExpiresAt, base.Add(time.Hour)) || !got.SpentAt.IsZero() ||
		got.SuccessorJTI != "" || !got.SuccessorIssuedAt.IsZero() {
		t.Errorf("RefreshTokenByHash = %+v; want the token as created, unspent", got)
	}
	_, err = s.RefreshTokenByHash(ctx, hash32("nope"))
	wantCode(t, "RefreshTokenByHash (unknown)", err, lacop.ENOTFOUND)
}

func testRefreshSpendOnce(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, refresh("a", "s1", "u1")))
	at := base.Add(time.Minute)
	must(t, "SpendRefreshToken", s.SpendRefreshToken(ctx, hash32("a"), at, "jti-1", at.Truncate(time.Second), refresh("b", "s1", "u1")))
	got, err := s.RefreshTokenByHash(ctx, hash32("a"))
	if err != nil || !sameMS(got.SpentAt, at) || got.SuccessorJTI != "jti-1" || !sameMS(got.SuccessorIssuedAt, at.Truncate(time.Second)) {
		t.Errorf("spent token = %+v, %v; want spent at %v with successor jti-1", got, err, at)
	}
	if next, err := s.RefreshTokenByHash(ctx, hash32("b")); err != nil || !next.SpentAt.IsZero() {
		t.Errorf("successor = %+v, %v; want stored and unspent", next, err)
	}
	// Spent once: a second spend is a conflict and stores nothing.
	err = s.SpendRefreshToken(ctx, hash32("a"), at.Add(time.Second), "jti-2", at, refresh("c", "s1", "u1"))
	wantCode(t, "SpendRefreshToken (again)", err, lacop.ECONFLICT)
	_, err = s.RefreshTokenByHash(ctx, hash32("c"))
	wantCode(t, "successor of a refused spend", err, lacop.ENOTFOUND)
	err = s.SpendRefreshToken(ctx, hash32("gone"), at, "jti-3", at, refresh("d", "s1", "u1"))
	wantCode(t, "SpendRefreshToken (unknown)", err, lacop.ENOTFOUND)
	_, err = s.RefreshTokenByHash(ctx, hash32("d"))
	wantCode(t, "successor of an unknown token", err, lacop.ENOTFOUND)
}

// testRefreshSpendConcurrent: of many concurrent spends of one token,
// exactly one wins; the rest are conflicts.
func testRefreshSpendConcurrent(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, refresh("a", "s1", "u1")))
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.SpendRefreshToken(ctx, hash32("a"), base, fmt.Sprint("jti-", i), base, refresh(fmt.Sprint("next-", i), "s1", "u1"))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch lacop.ErrorCode(err) {
		case "":
			won++
		case lacop.ECONFLICT:
		default:
			t.Errorf("spend %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent spends of one token: %d won; want exactly 1", n, won)
	}
}

func testRefreshDeleteFamilies(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	for _, r := range []*lacop.RefreshToken{refresh("a1", "s1", "u1"), refresh("a2", "s1", "u1"), refresh("b1", "s2", "u1"),
		refresh("c1", "s3", "u1"), refresh("d1", "s4", "u2")} {
		must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r))
	}
	live := func(names ...string) {
		t.Helper()
		for _, name := range []string{"a1", "a2", "b1", "c1", "d1"} {
			want := false
			for _, n := range names {
				want = want || n == name
			}
			_, err := s.RefreshTokenByHash(ctx, hash32(name))
			if got := err == nil; got != want {
				t.Errorf("token %s live = %v (%v); want %v", name, got, err, want)
			}
		}
	}
	must(t, "DeleteRefreshTokens", s.DeleteRefreshTokens(ctx, "s1", "s2"))
	live("c1", "d1")
	must(t, "DeleteRefreshTokens (none)", s.DeleteRefreshTokens(ctx))
	must(t, "DeleteUserRefreshTokens", s.DeleteUserRefreshTokens(ctx, "u1"))
	live("d1")
	// Many sessions at once (more than any one statement's batch).
	ids := make([]string, 1200)
	for i := range ids {
		ids[i] = fmt.Sprint("many-", i)
		must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, refresh(ids[i], ids[i], "u3")))
	}
	must(t, "DeleteRefreshTokens (many)", s.DeleteRefreshTokens(ctx, ids...))
	for _, id := range []string{ids[0], ids[599], ids[1199]} {
		_, err := s.RefreshTokenByHash(ctx, hash32(id))
		wantCode(t, "token of one of many ended sessions", err, lacop.ENOTFOUND)
	}
}

func wantDenied(t *testing.T, s lacop.TokenStore, jti string, now time.Time, want bool) {
	t.Helper()
	if got, err := s.AccessTokenDenied(t.Context(), jti, now); err != nil || got != want {
		t.Errorf("AccessTokenDenied(%q, %v) = %v, %v; want %v, nil", jti, now, got, err, want)
	}
}

func testDenylist(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	wantDenied(t, s, "j1", base, false)
	must(t, "DenyAccessToken", s.DenyAccessToken(ctx, "j1", base.Add(time.Minute)))
	wantDenied(t, s, "j1", base, true)
	wantDenied(t, s, "j1", base.Add(time.Minute-time.Millisecond), true)
	// Past the token's own expiry the entry no longer matters.
	wantDenied(t, s, "j1", base.Add(time.Minute), false)
	must(t, "DenyAccessToken (again)", s.DenyAccessToken(ctx, "j1", base.Add(time.Minute)))
	wantDenied(t, s, "j2", base, false)
}

func testDenySessions(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	exp := base.Add(15 * time.Minute)
	for _, r := range []struct{ jti, session, user string }{
		{"a", "s1", "u1"}, {"b", "s1", "u1"}, {"c", "s2", "u1"}, {"d", "s3", "u1"}, {"e", "s4", "u2"},
	} {
		must(t, "RecordAccessToken", s.RecordAccessToken(ctx, r.jti, r.session, r.user, exp))
	}
	must(t, "RecordAccessToken (expired)", s.RecordAccessToken(ctx, "old", "s1", "u1", base.Add(-time.Second)))
	for _, j := range []string{"a", "b", "c", "d", "e", "old"} {
		wantDenied(t, s, j, base, false)
	}
	must(t, "DenySessionAccessTokens", s.DenySessionAccessTokens(ctx, base, "s1", "s2"))
	for j, want := range map[string]bool{"a": true, "b": true, "c": true, "d": false, "e": false, "old": false} {
		wantDenied(t, s, j, base, want)
	}
	wantDenied(t, s, "a", exp, false) // entries end with their token
	must(t, "DenySessionAccessTokens (none)", s.DenySessionAccessTokens(ctx, base))
	must(t, "DenyUserAccessTokens", s.DenyUserAccessTokens(ctx, "u1", base))
	wantDenied(t, s, "d", base, true)
	wantDenied(t, s, "e", base, false)
	// A token recorded after its session's tokens were denied is not denied
	// by that earlier call (auth re-checks the session instead).
	must(t, "RecordAccessToken", s.RecordAccessToken(ctx, "f", "s1", "u1", exp))
	wantDenied(t, s, "f", base, false)
	must(t, "DenySessionAccessTokens", s.DenySessionAccessTokens(ctx, base, "s1"))
	wantDenied(t, s, "f", base, true)
}

func testTokensPrune(t *testing.T, s lacop.TokenStore) {
	ctx := t.Context()
	short := refresh("short", "s1", "u1")
	short.ExpiresAt = base.Add(time.Minute)
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, short))
	must(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, refresh("long", "s1", "u1")))
	must(t, "DenyAccessToken", s.DenyAccessToken(ctx, "j-short", base.Add(time.Minute)))
	must(t, "DenyAccessToken", s.DenyAccessToken(ctx, "j-long", base.Add(time.Hour)))
	must(t, "RecordAccessToken", s.RecordAccessToken(ctx, "r-short", "s2", "u1", base.Add(time.Minute)))
	must(t, "RecordAccessToken", s.RecordAccessToken(ctx, "r-long", "s2", "u1", base.Add(time.Hour)))

	must(t, "PruneTokens", s.PruneTokens(ctx, base.Add(2*time.Minute)))
	_, err := s.RefreshTokenByHash(ctx, hash32("short"))
	wantCode(t, "expired refresh token after prune", err, lacop.ENOTFOUND)
	if _, err := s.RefreshTokenByHash(ctx, hash32("long")); err != nil {
		t.Errorf("live refresh token after prune: %v", err)
	}
	wantDenied(t, s, "j-long", base, true)
	// The pruned access-token record is gone: denying its session now
	// denies only the live one.
	must(t, "DenySessionAccessTokens", s.DenySessionAccessTokens(ctx, base, "s2"))
	wantDenied(t, s, "r-long", base, true)
	wantDenied(t, s, "r-short", base, false)
	// The short denylist entry is gone: even asked about a time before its
	// expiry, it is no longer there.
	wantDenied(t, s, "j-short", base, false)
}

func testKeys(t *testing.T, s lacop.KeyStore) {
	ctx := t.Context()
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store = %v, %v; want none", keys, err)
	}
	for i, id := range []string{"k-old", "k-new", "k-mid"} {
		at := map[int]time.Time{0: base, 1: base.Add(2 * time.Hour), 2: base.Add(time.Hour)}[i]
		must(t, "AddSigningKey", s.AddSigningKey(ctx, &lacop.SigningKey{ID: id, Sealed: []byte("sealed " + id), CreatedAt: at}))
	}
	wantCode(t, "AddSigningKey (duplicate)", s.AddSigningKey(ctx, &lacop.SigningKey{ID: "k-old", Sealed: []byte("x"), CreatedAt: base}), lacop.ECONFLICT)
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("SigningKeys = %v, %v; want 3", keys, err)
	}
	for i, want := range []string{"k-new", "k-mid", "k-old"} {
		if keys[i].ID != want || string(keys[i].Sealed) != "sealed "+want {
			t.Errorf("SigningKeys[%d] = %s %q; want %s, newest first, with its sealed key", i, keys[i].ID, keys[i].Sealed, want)
		}
	}
	if !sameMS(keys[0].CreatedAt, base.Add(2*time.Hour)) {
		t.Errorf("CreatedAt = %v; want %v", keys[0].CreatedAt, base.Add(2*time.Hour))
	}
	must(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, "k-old"))
	must(t, "DeleteSigningKey (unknown)", s.DeleteSigningKey(ctx, "k-none"))
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 2 {
		t.Errorf("SigningKeys after a delete = %d keys, %v; want 2", len(keys), err)
	}
}
