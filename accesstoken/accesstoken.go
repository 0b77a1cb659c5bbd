// Package accesstoken signs and verifies lacop's access tokens: short-lived
// JWTs (RFC 9068 "at+jwt") bound to a session, signed with Ed25519. It also
// publishes the JSON Web Key Set and remembers verified tokens, so a token
// presented on every request costs one signature check.
//
// Keys, the revocation denylist and users' token versions are stored
// elsewhere: after Verify the caller checks the jti against its denylist and
// ver against the user's current version.
package accesstoken

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenLen is the longest token Verify looks at. Ours are a few hundred
// bytes; refusing longer input before decoding bounds the work a stranger
// can make us do.
const maxTokenLen = 4096

// Authentication levels, the lvl claim.
const (
	levelPassword     = 1 // password only
	levelSecondFactor = 2 // password and a second factor
)

// ErrInvalid is wrapped by every error Verify returns, so callers need one
// check to refuse a token; the wrapped detail is for the log only.
var ErrInvalid = errors.New("accesstoken: invalid token")

// ErrUnknownKey is wrapped, together with ErrInvalid, when a token names a
// key the Authority does not hold. The caller may have missed a rotation:
// reload the keys from the store, SetKeys, and retry once.
var ErrUnknownKey = errors.New("accesstoken: unknown signing key")

// Claims of an access token. Times are whole seconds: Sign drops anything
// finer, and Verify returns them in UTC.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: user id
	Audience  string    // aud (a single string in the JWT)
	IssuedAt  time.Time // iat (unix seconds)
	ExpiresAt time.Time // exp (unix seconds)
	ID        string    // jti: the handle for revoking this one token
	SessionID string    // sid: public session id
	Version   int64     // ver: the user's token version; bumping it revokes all
	AuthLevel int       // lvl: 1 password, 2 password + second factor
	// ClientID and Scope are RFC 9068's client_id and scope: who the token
	// was issued to ("lacop" for the portal's own) and what it may do, so
	// standard JWT access-token validators accept it. Signed, not checked
	// by Verify (lacop checks the session behind the token instead).
	ClientID string // client_id
	Scope    string // scope
}

// Options configure an Authority. Issuer and Audience must be set: with
// either empty, Sign fails and Verify rejects everything, rather than
// skipping the check.
type Options struct {
	Issuer, Audience string           // required values of iss and aud
	Now              func() time.Time // clock (nil: time.Now)
	CacheSize        int              // max cached verified tokens (0: 65536)
	NoCache          bool             // check every signature; for benchmarks and tests
}

// Authority signs with the newest key and verifies with any key it holds.
// It is safe for concurrent use, including SetKeys while tokens are signed
// and verified.
type Authority struct {
	issuer, audience string
	now              func() time.Time
	parser           *jwt.Parser
	keys             atomic.Pointer[keySet]
	cache            *cache // nil with Options.NoCache
}

// New returns an Authority with no keys: call SetKeys before Sign.
func New(o Options) *Authority {
	a := &Authority{issuer: o.Issuer, audience: o.Audience, now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithAudience(o.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.now),
		// Strict base64 leaves one encoding of the signature, so no one can
		// turn a token into a second string that verifies too.
		jwt.WithStrictDecoding(),
	)
	if !o.NoCache {
		size := o.CacheSize
		if size <= 0 {
			size = defaultCacheSize
		}
		a.cache = newCache(size)
	}
	return a
}

// signedClaims is the JWT payload. A struct with fixed fields, so that the
// same claims always encode to the same bytes: the caller re-signs claims to
// hand a client the identical token again.
type signedClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`
	SessionID string `json:"sid"`
	Version   int64  `json:"ver"`
	AuthLevel int    `json:"lvl"`
	ClientID  string `json:"client_id,omitempty"`
	Scope     string `json:"scope,omitempty"`
}

// Sign returns the compact JWT for c, signed with the newest key. It is
// deterministic (Ed25519 needs no randomness): the same claims and key give
// the same string. It refuses claims that Verify would always reject (a
// missing claim, another iss or aud), so a bug shows up where the token is
// made; a token already expired is signed, and Verify refuses it.
func (a *Authority) Sign(c Claims) (string, error) {
	set := a.keys.Load()
	if set == nil {
		return "", errors.New("accesstoken: sign: no keys")
	}
	if err := a.checkClaims(&c); err != nil {
		return "", fmt.Errorf("accesstoken: sign: %w", err)
	}
	payload, err := json.Marshal(signedClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		IssuedAt:  c.IssuedAt.Unix(),
		ExpiresAt: c.ExpiresAt.Unix(),
		ID:        c.ID,
		SessionID: c.SessionID,
		Version:   c.Version,
		AuthLevel: c.AuthLevel,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
	})
	if err != nil {
		return "", fmt.Errorf("accesstoken: sign: %w", err)
	}
	k := set.signer
	enc := base64.RawURLEncoding
	sigLen := enc.EncodedLen(ed25519.SignatureSize)
	var b strings.Builder
	b.Grow(len(k.header) + enc.EncodedLen(len(payload)) + 1 + sigLen)
	b.WriteString(k.header)
	b.WriteString(enc.EncodeToString(payload))
	sig := ed25519.Sign(k.private, []byte(b.String()))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sig))
	return b.String(), nil
}

// checkClaims holds the rules on claims that jwt/v5 does not check, shared
// by Sign and Verify. Issuer and Audience are compared here too, so empty
// Options fail closed (jwt/v5 skips an empty issuer check).
func (a *Authority) checkClaims(c *Claims) error {
	switch {
	case a.issuer == "" || c.Issuer != a.issuer:
		return fmt.Errorf("iss %q is not %q", c.Issuer, a.issuer)
	case a.audience == "" || c.Audience != a.audience:
		return fmt.Errorf("aud %q is not %q", c.Audience, a.audience)
	case c.Subject == "":
		return errors.New("missing sub")
	case c.ID == "":
		return errors.New("missing jti")
	case c.SessionID == "":
		return errors.New("missing sid")
	case c.Version < 0:
		return fmt.Errorf("negative ver %d", c.Version)
	case c.AuthLevel != levelPassword && c.AuthLevel != levelSecondFactor:
		return fmt.Errorf("lvl %d is not 1 or 2", c.AuthLevel)
	case c.IssuedAt.IsZero():
		return errors.New("missing iat")
	case c.ExpiresAt.IsZero():
		return errors.New("missing exp")
	}
	return nil
}
