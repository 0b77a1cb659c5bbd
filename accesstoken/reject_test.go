package accesstoken_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/lacop/lacop/accesstoken"
)

// forger builds tokens by hand, to say exactly what is wrong with each.
type forger struct {
	t   testing.TB
	key accesstoken.Key // the Authority's real key
}

func (f forger) header() map[string]any {
	return map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": f.key.ID}
}

func (f forger) payload() map[string]any {
	return map[string]any{
		"iss": issuer, "sub": "user-1", "aud": audience,
		"iat": t0.Unix(), "exp": t0.Add(5 * time.Minute).Unix(),
		"jti": "jti-1", "sid": "sess-1", "ver": 3, "lvl": 2,
	}
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// edSigner signs the signing input with an Ed25519 key.
func edSigner(priv ed25519.PrivateKey) func(string) []byte {
	return func(in string) []byte { return ed25519.Sign(priv, []byte(in)) }
}

// forge edits the valid header and payload, then signs them with sign, or
// the real key when sign is nil, so edit is the token's only defect.
func (f forger) forge(edit func(h, p map[string]any), sign func(string) []byte) string {
	h, p := f.header(), f.payload()
	if edit != nil {
		edit(h, p)
	}
	if sign == nil {
		sign = edSigner(f.key.Private)
	}
	in := encode(f.t, h) + "." + encode(f.t, p)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign(in))
}

// raw signs the valid header and payload as given, with the real key.
func (f forger) raw(payload string) string {
	in := encode(f.t, f.header()) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(f.key.Private, []byte(in)))
}

// jwtSigner signs with one of jwt/v5's algorithms, to forge tokens with
// real RSA, ECDSA and HMAC signatures.
func jwtSigner(t *testing.T, m jwt.SigningMethod, key any) func(string) []byte {
	return func(in string) []byte {
		sig, err := m.Sign(in, key)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func header(kv ...any) func(h, p map[string]any) {
	return func(h, p map[string]any) { set(h, kv...) }
}

func payload(kv ...any) func(h, p map[string]any) {
	return func(h, p map[string]any) { set(p, kv...) }
}

// set sets key, value pairs in m; a nil value deletes the key.
func set(m map[string]any, kv ...any) {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
}

// TestForgedAccepted checks the forger itself, and the variants the rules
// allow: without it a rejection below could come from a broken forger.
func TestForgedAccepted(t *testing.T) {
	key := newKey(t, 1, t0)
	f := forger{t, key}
	for _, tt := range []struct {
		name string
		edit func(h, p map[string]any)
	}{
		{"as forged", nil},
		{"typ upper case", header("typ", "AT+JWT")},
		{"typ media type", header("typ", "application/at+jwt")},
		{"typ media type mixed case", header("typ", "Application/At+JWT")},
		{"aud array naming us", payload("aud", []string{"other", audience})},
		{"unknown claim", payload("foo", "bar")},
		{"unknown header", header("foo", "bar")},
		{"exp a second away", payload("exp", t0.Unix()+1)},
		{"iat now", payload("iat", t0.Unix())},
		{"ver 0", payload("ver", 0)},
		{"lvl 1", payload("lvl", 1)},
	} {
		a, _ := newAuthority(t, accesstoken.Options{}, key)
		if _, err := a.Verify(f.forge(tt.edit, nil)); err != nil {
			t.Errorf("%s: Verify = %v; want nil", tt.name, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	key := newKey(t, 1, t0)
	attacker := newKey(t, 666, t0)
	f := forger{t, key}
	good := f.forge(nil, nil)
	dot := strings.LastIndexByte(good, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(good[dot+1:])
	public := []byte(key.Private.Public().(ed25519.PublicKey))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := map[string]any{
		"kty": "OKP", "crv": "Ed25519", "kid": key.ID,
		"x": base64.RawURLEncoding.EncodeToString(attacker.Private.Public().(ed25519.PublicKey)),
	}
	flipped := append([]byte(nil), sig...)
	flipped[10] ^= 1
	// The last base64 character of a 64-byte signature carries 4 unused
	// bits: setting one spells the same bytes differently.
	last := strings.IndexByte(base64URL, good[len(good)-1])
	loose := good[:len(good)-1] + string(base64URL[last|1])

	for _, tt := range []struct {
		name       string
		token      string
		unknownKey bool
	}{
		// Shape.
		{"empty", "", false},
		{"too long", f.forge(payload("pad", strings.Repeat("a", 4000)), nil), false},
		{"two parts", good[:dot], false},
		{"four parts", good + ".", false},
		{"bad base64 header", "!!!" + good[strings.IndexByte(good, '.'):], false},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + good[strings.IndexByte(good, '.'):], false},
		{"payload not JSON", f.raw("nope"), false},
		{"payload an array", f.raw("[1,2]"), false},
		{"payload null", f.raw("null"), false},
		{"payload with trailing data", f.raw(`{"sub":"x"} {}`), false},
		{"newline in signature", good[:dot+5] + "\n" + good[dot+5:], false},
		{"padding", good + "==", false},
		{"non-canonical base64", loose, false},

		// Algorithm.
		{"alg none", f.forge(header("alg", "none"), func(string) []byte { return nil }), false},
		{"alg NONE", f.forge(header("alg", "NONE"), func(string) []byte { return nil }), false},
		{"HS256 keyed with the public key", f.forge(header("alg", "HS256"), func(in string) []byte {
			m := hmac.New(sha256.New, public)
			m.Write([]byte(in))
			return m.Sum(nil)
		}), false},
		{"HS256 by jwt/v5 keyed with the public key", f.forge(header("alg", "HS256"), jwtSigner(t, jwt.SigningMethodHS256, public)), false},
		{"RS256", f.forge(header("alg", "RS256"), jwtSigner(t, jwt.SigningMethodRS256, rsaKey)), false},
		{"ES256", f.forge(header("alg", "ES256"), jwtSigner(t, jwt.SigningMethodES256, ecKey)), false},
		{"alg Ed25519", f.forge(header("alg", "Ed25519"), nil), false},
		{"alg eddsa", f.forge(header("alg", "eddsa"), nil), false},
		{"no alg", f.forge(header("alg", nil), nil), false},

		// Headers naming keys, or extensions.
		{"embedded jwk, signed by it", f.forge(header("jwk", attackerJWK), edSigner(attacker.Private)), false},
		{"embedded jwk, own kid, signed by it", f.forge(header("jwk", attackerJWK, "kid", attacker.ID), edSigner(attacker.Private)), false},
		{"jwk", f.forge(header("jwk", attackerJWK), nil), false},
		{"jku", f.forge(header("jku", "https://evil.test/jwks.json"), nil), false},
		{"x5u", f.forge(header("x5u", "https://evil.test/cert.pem"), nil), false},
		{"x5c", f.forge(header("x5c", []string{"MIIB"}), nil), false},
		{"crit", f.forge(header("crit", []string{"exp"}), nil), false},
		{"crit empty", f.forge(header("crit", []string{}), nil), false},

		// typ.
		{"typ JWT", f.forge(header("typ", "JWT"), nil), false},
		{"typ missing", f.forge(header("typ", nil), nil), false},
		{"typ not a string", f.forge(header("typ", 1), nil), false},
		{"typ at+jwt with suffix", f.forge(header("typ", "at+jwt; x"), nil), false},

		// Key and signature.
		{"kid missing", f.forge(header("kid", nil), nil), false},
		{"kid empty", f.forge(header("kid", ""), nil), false},
		{"kid not a string", f.forge(header("kid", 7), nil), false},
		{"kid unknown", f.forge(header("kid", "nope"), nil), true},
		{"kid of an attacker's key", f.forge(header("kid", attacker.ID), edSigner(attacker.Private)), true},
		{"signed by another key", f.forge(nil, edSigner(attacker.Private)), false},
		{"signature bit flipped", good[:dot+1] + base64.RawURLEncoding.EncodeToString(flipped), false},
		{"signature empty", good[:dot+1], false},
		{"signature truncated", good[:len(good)-4], false},

		// Claims, each signed by the real key.
		{"iss other", f.forge(payload("iss", "https://evil.test"), nil), false},
		{"iss missing", f.forge(payload("iss", nil), nil), false},
		{"aud other", f.forge(payload("aud", "https://other.test"), nil), false},
		{"aud array without us", f.forge(payload("aud", []string{"a", "b"}), nil), false},
		{"aud missing", f.forge(payload("aud", nil), nil), false},
		{"exp missing", f.forge(payload("exp", nil), nil), false},
		{"exp now", f.forge(payload("exp", t0.Unix()), nil), false},
		{"exp past", f.forge(payload("exp", t0.Unix()-60), nil), false},
		{"exp a string", f.forge(payload("exp", "2099-01-01"), nil), false},
		{"iat future", f.forge(payload("iat", t0.Unix()+1), nil), false},
		{"iat missing", f.forge(payload("iat", nil), nil), false},
		{"nbf future", f.forge(payload("nbf", t0.Unix()+60), nil), false},
		{"jti missing", f.forge(payload("jti", nil), nil), false},
		{"jti empty", f.forge(payload("jti", ""), nil), false},
		{"sub missing", f.forge(payload("sub", nil), nil), false},
		{"sid missing", f.forge(payload("sid", nil), nil), false},
		{"sid not a string", f.forge(payload("sid", 5), nil), false},
		{"ver missing", f.forge(payload("ver", nil), nil), false},
		{"ver negative", f.forge(payload("ver", -1), nil), false},
		{"ver a string", f.forge(payload("ver", "3"), nil), false},
		{"ver fractional", f.forge(payload("ver", 3.5), nil), false},
		{"lvl 3", f.forge(payload("lvl", 3), nil), false},
		{"lvl 0", f.forge(payload("lvl", 0), nil), false},
		{"lvl missing", f.forge(payload("lvl", nil), nil), false},
	} {
		a, _ := newAuthority(t, accesstoken.Options{}, key)
		c, err := a.Verify(tt.token)
		if c != nil || !errors.Is(err, accesstoken.ErrInvalid) {
			t.Errorf("%s: Verify(%.60q) = %+v, %v; want ErrInvalid", tt.name, tt.token, c, err)
			continue
		}
		if got := errors.Is(err, accesstoken.ErrUnknownKey); got != tt.unknownKey {
			t.Errorf("%s: Verify error %q wraps ErrUnknownKey = %v; want %v", tt.name, err, got, tt.unknownKey)
		}
	}
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestEmptyOptionsFailClosed checks that an Authority missing its issuer
// or audience accepts nothing, rather than skipping the comparison.
func TestEmptyOptionsFailClosed(t *testing.T) {
	key := newKey(t, 1, t0)
	f := forger{t, key}
	for _, tt := range []struct {
		name  string
		o     accesstoken.Options
		token string
	}{
		{"no issuer", accesstoken.Options{Audience: audience}, f.forge(payload("iss", ""), nil)},
		{"no issuer, iss missing", accesstoken.Options{Audience: audience}, f.forge(payload("iss", nil), nil)},
		{"no audience", accesstoken.Options{Issuer: issuer}, f.forge(payload("aud", ""), nil)},
		{"no audience, aud array", accesstoken.Options{Issuer: issuer}, f.forge(payload("aud", []string{""}), nil)},
	} {
		tt.o.Now = func() time.Time { return t0 }
		a := accesstoken.New(tt.o)
		if err := a.SetKeys([]accesstoken.Key{key}); err != nil {
			t.Fatal(err)
		}
		if c, err := a.Verify(tt.token); !errors.Is(err, accesstoken.ErrInvalid) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalid", tt.name, c, err)
		}
		c := validClaims()
		c.Issuer, c.Audience = tt.o.Issuer, tt.o.Audience
		if tok, err := a.Sign(c); err == nil {
			t.Errorf("%s: Sign = %q, nil; want an error", tt.name, tok)
		}
	}
}
