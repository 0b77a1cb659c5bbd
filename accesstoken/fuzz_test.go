package accesstoken_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lacop/lacop/accesstoken"
)

// FuzzVerify checks that Verify never panics, that every refusal wraps
// ErrInvalid, and that it accepts nothing but the one token Sign made:
// no other spelling of it, and no forgery.
func FuzzVerify(f *testing.F) {
	key := newKey(f, 1, t0)
	a, _ := newAuthority(f, accesstoken.Options{CacheSize: 64}, key)
	want := validClaims()
	good := sign(f, a, want)
	dot := strings.LastIndexByte(good, '.')
	ft := forger{t: f, key: key}
	for _, seed := range []string{
		good,
		"",
		".",
		"..",
		good[:dot],
		good[:dot+1],
		good + ".",
		good + "=",
		good[:len(good)-1],
		good[:len(good)-1] + "B",
		// The same signature bytes, spelt with a stray low bit.
		good[:len(good)-1] + string(base64URL[strings.IndexByte(base64URL, good[len(good)-1])|1]),
		good[:dot+5] + "\n" + good[dot+5:], // base64 skips newlines
		strings.Replace(good, "e", "f", 1),
		ft.forge(header("alg", "none"), func(string) []byte { return nil }),
		ft.forge(header("alg", "HS256"), nil),
		ft.forge(header("jwk", map[string]any{"kty": "OKP"}), nil),
		ft.forge(payload("lvl", 3), nil),
		ft.raw("[]"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := a.Verify(token)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify(%q) = %+v, %v; want no claims with an error", token, c, err)
			}
			if !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("Verify(%q) error %v does not wrap ErrInvalid", token, err)
			}
			return
		}
		if token != good || c == nil || *c != want {
			t.Fatalf("Verify(%q) = %+v, nil; want only the signed token %q accepted", token, c, good)
		}
	})
}
