package accesstoken

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// parsedClaims is the payload as Verify decodes it. Pointers tell a missing
// claim from a zero one; jwt/v5's types accept aud as a string or an array.
type parsedClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
	SessionID string           `json:"sid"`
	Version   *int64           `json:"ver"`
	AuthLevel int              `json:"lvl"`
}

var _ jwt.Claims = (*parsedClaims)(nil)

func (c *parsedClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *parsedClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *parsedClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *parsedClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *parsedClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *parsedClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// Verify checks a token and returns its claims: signature by a key held,
// alg EdDSA, typ at+jwt, iss and aud as configured, exp in the future, iat
// not, and sub, jti, sid, ver and lvl present and sane. Every error wraps
// ErrInvalid; a kid not held wraps ErrUnknownKey too. The caller still has
// to check jti against its denylist and ver against the user's version.
//
// A token that verified is remembered until it expires, so later calls
// skip the signature check but still check exp and that its key is held.
// The returned Claims are the caller's own copy.
func (a *Authority) Verify(token string) (*Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: token is %d bytes; at most %d", ErrInvalid, len(token), maxTokenLen)
	}
	set := a.keys.Load()
	now := a.now()
	var sum [sha256.Size]byte
	if a.cache != nil {
		// A view of the token's bytes, not a copy: SHA-256 only reads
		// them, and a copy would be the hot path's largest allocation.
		sum = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
		if e, ok := a.cache.get(sum); ok {
			if !now.Before(e.claims.ExpiresAt) {
				a.cache.drop(sum)
				return nil, fmt.Errorf("%w: %w", ErrInvalid, jwt.ErrTokenExpired)
			}
			if k := set.key(e.kid); k != nil && [32]byte(k.public) == e.public && !now.Before(e.claims.IssuedAt) {
				c := e.claims
				return &c, nil
			}
			// The key is gone or was replaced, or the clock went back:
			// verify afresh, which also says exactly why it fails.
			a.cache.drop(sum)
		}
	}

	// Only here: a cached token passed this check when it was stored.
	// base64 decoding skips CR and LF; refusing every byte outside the
	// base64url alphabet keeps one accepted spelling per token.
	if !wellFormed(token) {
		return nil, fmt.Errorf("%w: not three base64url segments", ErrInvalid)
	}
	var pc parsedClaims
	var used *heldKey
	_, err := a.parser.ParseWithClaims(token, &pc, func(t *jwt.Token) (any, error) {
		// These would have us fetch or trust key material the token names
		// itself (jwk, jku, x5u, x5c), or honour extensions we do not
		// implement (crit). Ours carry none: refuse, never look inside.
		for _, name := range [...]string{"jwk", "jku", "x5u", "x5c", "crit"} {
			if _, ok := t.Header[name]; ok {
				return nil, fmt.Errorf("header %q is not accepted", name)
			}
		}
		typ, _ := t.Header["typ"].(string)
		if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
			return nil, fmt.Errorf("typ %q is not at+jwt", typ)
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("missing kid")
		}
		if used = set.key(kid); used == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
		}
		return used.public, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if pc.IssuedAt == nil {
		return nil, fmt.Errorf("%w: missing iat", ErrInvalid)
	}
	if pc.Version == nil {
		return nil, fmt.Errorf("%w: missing ver", ErrInvalid)
	}
	c := Claims{
		Issuer: pc.Issuer,
		// jwt/v5 checked that aud, a string or an array, names us.
		Audience:  a.audience,
		Subject:   pc.Subject,
		IssuedAt:  time.Unix(pc.IssuedAt.Unix(), 0).UTC(),
		ExpiresAt: time.Unix(pc.ExpiresAt.Unix(), 0).UTC(),
		ID:        pc.ID,
		SessionID: pc.SessionID,
		Version:   *pc.Version,
		AuthLevel: pc.AuthLevel,
	}
	if err := a.checkClaims(&c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if a.cache != nil {
		a.cache.put(sum, cacheEntry{claims: c, kid: used.id, public: [32]byte(used.public)}, now)
	}
	return &c, nil
}

// key returns the key named kid, or nil, also before the first SetKeys.
func (s *keySet) key(kid string) *heldKey {
	if s == nil {
		return nil
	}
	return s.byID[kid]
}

// wellFormed reports whether token is three segments of the base64url
// alphabet, without padding, joined by dots.
func wellFormed(token string) bool {
	dots := 0
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}
