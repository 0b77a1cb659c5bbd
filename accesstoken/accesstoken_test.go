package accesstoken_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop/accesstoken"
)

const (
	issuer   = "https://auth.example.test"
	audience = "https://api.example.test"
)

// t0 is a whole second, as token times are.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake time source the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newKey makes the same key for the same seed, so failures reproduce.
func newKey(t testing.TB, seed uint64, created time.Time) accesstoken.Key {
	t.Helper()
	k, err := accesstoken.GenerateKey(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), created)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newAuthority returns an Authority on a fake clock at t0 holding keys.
func newAuthority(t testing.TB, o accesstoken.Options, keys ...accesstoken.Key) (*accesstoken.Authority, *clock) {
	t.Helper()
	c := &clock{now: t0}
	o.Issuer, o.Audience, o.Now = issuer, audience, c.Now
	a := accesstoken.New(o)
	if err := a.SetKeys(keys); err != nil {
		t.Fatal(err)
	}
	return a, c
}

// validClaims are claims that verify at t0.
func validClaims() accesstoken.Claims {
	return accesstoken.Claims{
		Issuer:    issuer,
		Subject:   "user-1",
		Audience:  audience,
		IssuedAt:  t0,
		ExpiresAt: t0.Add(5 * time.Minute),
		ID:        "jti-1",
		SessionID: "sess-1",
		Version:   3,
		AuthLevel: 2,
	}
}

func sign(t testing.TB, a *accesstoken.Authority, c accesstoken.Claims) string {
	t.Helper()
	tok, err := a.Sign(c)
	if err != nil {
		t.Fatalf("Sign(%+v): %v", c, err)
	}
	return tok
}

// segment decodes part i of a compact JWT.
func segment(t *testing.T, token string, i int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatalf("segment %d of %q: %v", i, token, err)
	}
	return b
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	var h struct{ Kid string }
	if err := json.Unmarshal(segment(t, token, 0), &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestRoundTrip(t *testing.T) {
	key := newKey(t, 1, t0)
	a, _ := newAuthority(t, accesstoken.Options{}, key)
	for _, tt := range []struct {
		name string
		edit func(*accesstoken.Claims)
	}{
		{"second factor", func(c *accesstoken.Claims) {}},
		{"password only", func(c *accesstoken.Claims) { c.AuthLevel = 1 }},
		{"version zero", func(c *accesstoken.Claims) { c.Version = 0 }},
		{"large version", func(c *accesstoken.Claims) { c.Version = 1<<53 + 1 }},
		{"unicode and html", func(c *accesstoken.Claims) { c.Subject, c.SessionID = "ü<&>\"", "s\u2028" }},
		{"issued in the past", func(c *accesstoken.Claims) { c.IssuedAt = t0.Add(-time.Minute) }},
	} {
		want := validClaims()
		tt.edit(&want)
		tok := sign(t, a, want)
		// Twice: the second answer comes from the cache.
		for _, pass := range []string{"first", "cached"} {
			got, err := a.Verify(tok)
			if err != nil {
				t.Fatalf("%s: %s Verify: %v", tt.name, pass, err)
			}
			if *got != want {
				t.Errorf("%s: %s Verify = %+v; want %+v", tt.name, pass, *got, want)
			}
			got.Subject = "changed" // the caller's copy: must not reach the cache
		}
	}
}

func TestSignDeterministic(t *testing.T) {
	key := newKey(t, 1, t0)
	a, _ := newAuthority(t, accesstoken.Options{}, key)
	b, _ := newAuthority(t, accesstoken.Options{}, newKey(t, 1, t0)) // same key, another Authority
	other := validClaims()
	other.ID = "jti-2"
	c := validClaims()
	tok := sign(t, a, c)
	for _, tt := range []struct {
		name     string
		got      string
		wantSame bool
	}{
		{"again", sign(t, a, c), true},
		{"other authority, same key", sign(t, b, c), true},
		{"sub-second times", sign(t, a, func() accesstoken.Claims { c := c; c.IssuedAt = c.IssuedAt.Add(time.Millisecond); return c }()), true},
		{"other claims", sign(t, a, other), false},
	} {
		if (tt.got == tok) != tt.wantSame {
			t.Errorf("%s: Sign = %q, first gave %q; want same = %v", tt.name, tt.got, tok, tt.wantSame)
		}
	}
	wantHeader := fmt.Sprintf(`{"alg":"EdDSA","typ":"at+jwt","kid":%q}`, key.ID)
	if got := string(segment(t, tok, 0)); got != wantHeader {
		t.Errorf("header = %s; want %s", got, wantHeader)
	}
	wantPayload := `{"iss":"https://auth.example.test","sub":"user-1","aud":"https://api.example.test",` +
		fmt.Sprintf(`"iat":%d,"exp":%d,"jti":"jti-1","sid":"sess-1","ver":3,"lvl":2}`, t0.Unix(), t0.Unix()+300)
	if got := string(segment(t, tok, 1)); got != wantPayload {
		t.Errorf("payload = %s; want %s", got, wantPayload)
	}
	sig := segment(t, tok, 2)
	if !ed25519.Verify(key.Private.Public().(ed25519.PublicKey), []byte(tok[:strings.LastIndexByte(tok, '.')]), sig) {
		t.Error("signature does not verify with crypto/ed25519")
	}
}

func TestSignRefuses(t *testing.T) {
	a, _ := newAuthority(t, accesstoken.Options{}, newKey(t, 1, t0))
	for _, tt := range []struct {
		name string
		edit func(*accesstoken.Claims)
	}{
		{"other issuer", func(c *accesstoken.Claims) { c.Issuer = "https://evil.test" }},
		{"other audience", func(c *accesstoken.Claims) { c.Audience = "other" }},
		{"no sub", func(c *accesstoken.Claims) { c.Subject = "" }},
		{"no jti", func(c *accesstoken.Claims) { c.ID = "" }},
		{"no sid", func(c *accesstoken.Claims) { c.SessionID = "" }},
		{"negative ver", func(c *accesstoken.Claims) { c.Version = -1 }},
		{"lvl 0", func(c *accesstoken.Claims) { c.AuthLevel = 0 }},
		{"lvl 3", func(c *accesstoken.Claims) { c.AuthLevel = 3 }},
		{"no iat", func(c *accesstoken.Claims) { c.IssuedAt = time.Time{} }},
		{"no exp", func(c *accesstoken.Claims) { c.ExpiresAt = time.Time{} }},
	} {
		c := validClaims()
		tt.edit(&c)
		if tok, err := a.Sign(c); err == nil {
			t.Errorf("%s: Sign = %q, nil; want an error", tt.name, tok)
		}
	}
	if tok, err := accesstoken.New(accesstoken.Options{Issuer: issuer, Audience: audience}).Sign(validClaims()); err == nil {
		t.Errorf("Sign without keys = %q, nil; want an error", tok)
	}
}

func TestGenerateKey(t *testing.T) {
	seed := [32]byte{9}
	a, err := accesstoken.GenerateKey(rand.NewChaCha8(seed), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := accesstoken.GenerateKey(rand.NewChaCha8(seed), t0)
	c, _ := accesstoken.GenerateKey(rand.NewChaCha8([32]byte{10}), t0)
	id, err := base64.RawURLEncoding.Strict().DecodeString(a.ID)
	if err != nil || len(id) != 16 {
		t.Errorf("ID %q decodes to %d bytes, %v; want 16 bytes of base64url", a.ID, len(id), err)
	}
	if len(a.Private) != ed25519.PrivateKeySize || !a.CreatedAt.Equal(t0) {
		t.Errorf("key = %d-byte private key created %v; want %d bytes created %v", len(a.Private), a.CreatedAt, ed25519.PrivateKeySize, t0)
	}
	if a.ID != b.ID || !bytes.Equal(a.Private, b.Private) {
		t.Error("same randomness gave different keys")
	}
	if a.ID == c.ID || bytes.Equal(a.Private, c.Private) {
		t.Error("different randomness gave the same key")
	}
	if _, err := accesstoken.GenerateKey(strings.NewReader("short"), t0); err == nil {
		t.Error("GenerateKey with 5 bytes of randomness succeeded; want an error")
	}
}

func TestRotation(t *testing.T) {
	old, cur := newKey(t, 1, t0.Add(-24*time.Hour)), newKey(t, 2, t0)
	for _, order := range [][]accesstoken.Key{{old, cur}, {cur, old}} {
		a, _ := newAuthority(t, accesstoken.Options{}, old)
		oldTok := sign(t, a, validClaims())
		if err := a.SetKeys(order); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(oldTok); err != nil {
			t.Errorf("Verify(token by older key) after adding a newer one: %v", err)
		}
		newTok := sign(t, a, validClaims())
		if got := kidOf(t, newTok); got != cur.ID {
			t.Errorf("kid of a new token = %q; want the newest key %q", got, cur.ID)
		}
		if _, err := a.Verify(newTok); err != nil {
			t.Errorf("Verify(token by newest key): %v", err)
		}
		var doc struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.Unmarshal(a.JWKS(), &doc); err != nil {
			t.Fatalf("JWKS %s: %v", a.JWKS(), err)
		}
		var want []map[string]string
		for _, k := range []accesstoken.Key{cur, old} {
			want = append(want, map[string]string{
				"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.ID,
				"x": base64.RawURLEncoding.EncodeToString(k.Private.Public().(ed25519.PublicKey)),
			})
		}
		if got, w := fmt.Sprint(doc.Keys), fmt.Sprint(want); got != w {
			t.Errorf("JWKS keys = %s; want %s", got, w)
		}
	}
}

func TestRemovedKey(t *testing.T) {
	old, cur := newKey(t, 1, t0.Add(-time.Hour)), newKey(t, 2, t0)
	for _, tt := range []struct {
		name string
		o    accesstoken.Options
	}{
		{"cached", accesstoken.Options{}},
		{"uncached", accesstoken.Options{NoCache: true}},
	} {
		a, _ := newAuthority(t, tt.o, old)
		tok := sign(t, a, validClaims())
		if _, err := a.Verify(tok); err != nil {
			t.Fatalf("%s: Verify before rotation: %v", tt.name, err)
		}
		if err := a.SetKeys([]accesstoken.Key{cur}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			c, err := a.Verify(tok)
			if c != nil || !errors.Is(err, accesstoken.ErrInvalid) || !errors.Is(err, accesstoken.ErrUnknownKey) {
				t.Errorf("%s: Verify after its key was removed = %v, %v; want ErrInvalid and ErrUnknownKey", tt.name, c, err)
			}
		}
		if got := a.CacheLen(); got != 0 {
			t.Errorf("%s: cache holds %d entries; want the removed key's token dropped", tt.name, got)
		}
	}
}

func TestKeyReplacedUnderSameID(t *testing.T) {
	key := newKey(t, 1, t0)
	a, _ := newAuthority(t, accesstoken.Options{}, key)
	tok := sign(t, a, validClaims())
	if _, err := a.Verify(tok); err != nil {
		t.Fatal(err)
	}
	impostor := newKey(t, 2, t0)
	impostor.ID = key.ID
	if err := a.SetKeys([]accesstoken.Key{impostor}); err != nil {
		t.Fatal(err)
	}
	if c, err := a.Verify(tok); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Errorf("Verify after the key under its kid changed = %v, %v; want ErrInvalid", c, err)
	}
}

func TestSetKeysRefuses(t *testing.T) {
	good := newKey(t, 1, t0)
	corrupt := newKey(t, 2, t0)
	corrupt.Private = bytes.Clone(corrupt.Private)
	corrupt.Private[63] ^= 1 // the public half
	for _, tt := range []struct {
		name string
		keys []accesstoken.Key
	}{
		{"nil", nil},
		{"empty", []accesstoken.Key{}},
		{"empty ID", []accesstoken.Key{{Private: good.Private, CreatedAt: t0}}},
		{"short key", []accesstoken.Key{{ID: "k", Private: good.Private[:32], CreatedAt: t0}}},
		{"no key", []accesstoken.Key{{ID: "k", CreatedAt: t0}}},
		{"duplicate ID", []accesstoken.Key{good, {ID: good.ID, Private: newKey(t, 3, t0).Private}}},
		{"corrupt public half", []accesstoken.Key{good, corrupt}},
	} {
		a, _ := newAuthority(t, accesstoken.Options{}, good)
		if err := a.SetKeys(tt.keys); err == nil {
			t.Errorf("%s: SetKeys = nil; want an error", tt.name)
		}
		if got := kidOf(t, sign(t, a, validClaims())); got != good.ID {
			t.Errorf("%s: after a refused SetKeys the signing kid = %q; want the old %q", tt.name, got, good.ID)
		}
	}
}

func TestNoKeys(t *testing.T) {
	a := accesstoken.New(accesstoken.Options{Issuer: issuer, Audience: audience})
	if got, want := string(a.JWKS()), `{"keys":[]}`; got != want {
		t.Errorf("JWKS() = %s; want %s", got, want)
	}
	other, _ := newAuthority(t, accesstoken.Options{}, newKey(t, 1, t0))
	if _, err := a.Verify(sign(t, other, validClaims())); !errors.Is(err, accesstoken.ErrUnknownKey) {
		t.Errorf("Verify without keys = %v; want ErrUnknownKey", err)
	}
}

func TestExpiry(t *testing.T) {
	exp := validClaims().ExpiresAt
	for _, tt := range []struct {
		name   string
		o      accesstoken.Options
		verify []time.Time // verified successfully at these times first
	}{
		{"cached", accesstoken.Options{}, []time.Time{t0, exp.Add(-time.Second)}},
		{"uncached", accesstoken.Options{NoCache: true}, []time.Time{t0, exp.Add(-time.Second)}},
		{"never verified", accesstoken.Options{}, nil},
	} {
		a, clk := newAuthority(t, tt.o, newKey(t, 1, t0))
		tok := sign(t, a, validClaims())
		for _, at := range tt.verify {
			clk.Set(at)
			if _, err := a.Verify(tok); err != nil {
				t.Fatalf("%s: Verify at %v: %v", tt.name, at, err)
			}
		}
		for _, at := range []time.Time{exp, exp.Add(time.Hour)} {
			clk.Set(at)
			if c, err := a.Verify(tok); c != nil || !errors.Is(err, accesstoken.ErrInvalid) {
				t.Errorf("%s: Verify at exp+%v = %v, %v; want ErrInvalid", tt.name, at.Sub(exp), c, err)
			}
		}
		if got := a.CacheLen(); got != 0 {
			t.Errorf("%s: cache holds %d entries after expiry; want 0", tt.name, got)
		}
	}
}

func TestCacheBound(t *testing.T) {
	const size, n = 8, 100
	a, _ := newAuthority(t, accesstoken.Options{CacheSize: size}, newKey(t, 1, t0))
	tokens := make([]string, n)
	want := make([]accesstoken.Claims, n)
	for i := range tokens {
		want[i] = validClaims()
		want[i].ID = fmt.Sprintf("jti-%d", i)
		tokens[i] = sign(t, a, want[i])
	}
	for pass := range 3 {
		for i, tok := range tokens {
			got, err := a.Verify(tok)
			if err != nil || *got != want[i] {
				t.Fatalf("pass %d: Verify(token %d) = %+v, %v; want %+v", pass, i, got, err, want[i])
			}
			if l := a.CacheLen(); l < 1 || l > size {
				t.Fatalf("pass %d, token %d: cache holds %d entries; want 1..%d", pass, i, l, size)
			}
		}
	}
}

func TestConcurrent(t *testing.T) {
	old, cur := newKey(t, 1, t0.Add(-time.Hour)), newKey(t, 2, t0)
	a, _ := newAuthority(t, accesstoken.Options{CacheSize: 16}, old)
	stable := sign(t, a, validClaims()) // by old, which every set holds
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				c := validClaims()
				c.ID = fmt.Sprintf("jti-%d-%d", w, i%20)
				tok, err := a.Sign(c)
				if err != nil {
					errs <- err
					return
				}
				// A token by cur may lose its key to the rotation below.
				if _, err := a.Verify(tok); err != nil && !errors.Is(err, accesstoken.ErrUnknownKey) {
					errs <- fmt.Errorf("Verify(fresh token): %w", err)
					return
				}
				if _, err := a.Verify(stable); err != nil {
					errs <- fmt.Errorf("Verify(token by a key always held): %w", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		sets := [][]accesstoken.Key{{old, cur}, {old}}
		for i := range 200 {
			if err := a.SetKeys(sets[i%2]); err != nil {
				errs <- err
				return
			}
			_ = a.JWKS()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
