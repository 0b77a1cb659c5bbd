package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/seal"
)

// keyRetire is how long an ID-token key keeps verifying after a newer one
// took over: an id_token_hint at sign-out may be old (expired hints are
// accepted), and a key gone from the JWKS makes apps refetch it for nothing.
const keyRetire = 30 * 24 * time.Hour

// keyReload spaces reloads prompted by a kid nobody here knows.
const keyReload = time.Second

// rsaBits is the size of ID-token keys: RS256 is OIDC's mandatory
// algorithm and 2048 bits its usual size.
const rsaBits = 2048

// idKey is one ID-token signing key (RS256).
type idKey struct {
	id      string
	private *rsa.PrivateKey
	created time.Time
}

// keyRing holds the ID-token keys, newest first, in the same store as the
// access-token keys (ids start with auth.OtherKeyPrefix), so every instance
// signs and verifies with one set and `lacop keys rotate` rotates both.
type keyRing struct {
	store  lacop.KeyStore
	sealer *seal.Sealer
	now    func() time.Time

	mu     sync.Mutex
	keys   []idKey
	loaded time.Time
}

// additional binds a sealed key to its id.
func additional(id string) []byte { return []byte("id token key " + id) }

// load reads the keys, makes the first one on a new store, and drops keys
// retired long enough ago.
func (k *keyRing) load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loadLocked(ctx)
}

func (k *keyRing) loadLocked(ctx context.Context) error {
	now := k.now()
	k.loaded = now
	stored, err := k.stored(ctx)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		sk, err := k.generate(ctx, now)
		if err != nil {
			return err
		}
		stored = []*lacop.SigningKey{sk}
	}
	keys := make([]idKey, 0, len(stored))
	for i, sk := range stored { // newest first
		if i > 0 && now.Sub(stored[i-1].CreatedAt) > keyRetire {
			if err := k.store.DeleteSigningKey(ctx, sk.ID); err != nil {
				return fmt.Errorf("oidc: delete retired ID-token key: %w", err)
			}
			continue
		}
		der, err := k.sealer.Open(sk.Sealed, additional(sk.ID))
		if err != nil {
			return fmt.Errorf("oidc: ID-token key %s cannot be opened with this data directory's secret.key: %w", sk.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		rk, ok := priv.(*rsa.PrivateKey)
		if err != nil || !ok {
			return fmt.Errorf("oidc: ID-token key %s is not an RSA key: %v", sk.ID, err)
		}
		keys = append(keys, idKey{id: sk.ID, private: rk, created: sk.CreatedAt})
	}
	k.keys = keys
	return nil
}

// stored lists the ID-token keys in the store, newest first.
func (k *keyRing) stored(ctx context.Context) ([]*lacop.SigningKey, error) {
	all, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: load ID-token keys: %w", lacop.Errorf(lacop.EUNAVAILABLE, "The service is temporarily unavailable."))
	}
	var ours []*lacop.SigningKey
	for _, sk := range all {
		if strings.HasPrefix(sk.ID, auth.OtherKeyPrefix) {
			ours = append(ours, sk)
		}
	}
	return ours, nil
}

// generate makes, seals and stores a new key.
func (k *keyRing) generate(ctx context.Context, at time.Time) (*lacop.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("oidc: generate ID-token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("oidc: encode ID-token key: %w", err)
	}
	var idb [12]byte
	rand.Read(idb[:])
	id := auth.OtherKeyPrefix + base64.RawURLEncoding.EncodeToString(idb[:])
	sk := &lacop.SigningKey{ID: id, CreatedAt: at.UTC().Truncate(time.Millisecond), Sealed: k.sealer.Seal(der, additional(id))}
	if err := k.store.AddSigningKey(ctx, sk); err != nil {
		return nil, fmt.Errorf("oidc: store ID-token key: %w", err)
	}
	return sk, nil
}

// Rotate adds a new ID-token key, published at once and signing after
// keyPublish.
func (k *keyRing) rotate(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	at := k.now()
	stored, err := k.stored(ctx)
	if err != nil {
		return "", err
	}
	if len(stored) > 0 && !at.After(stored[0].CreatedAt) {
		at = stored[0].CreatedAt.Add(time.Millisecond)
	}
	sk, err := k.generate(ctx, at)
	if err != nil {
		return "", err
	}
	return sk.ID, k.loadLocked(ctx)
}

// keyPublish is how long a new ID-token key is only published before it
// signs: every instance reloads its keys at least every minute, so by then
// each one's JWKS has it, and an app that fetches the JWKS from any
// instance can verify what any instance signs.
const keyPublish = 2 * time.Minute

// current is the signing key: the newest one published for keyPublish
// (the only one on a new store), reloaded every minute to see rotations.
func (k *keyRing) current(ctx context.Context) (idKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 || k.now().Sub(k.loaded) > time.Minute {
		if err := k.loadLocked(ctx); err != nil && len(k.keys) == 0 {
			return idKey{}, err
		}
	}
	return signer(k.keys, k.now()), nil
}

// signer picks the signing key from keys (newest first): the newest one
// published long enough, else the oldest there is.
func signer(keys []idKey, now time.Time) idKey {
	for _, key := range keys {
		if now.Sub(key.created) >= keyPublish {
			return key
		}
	}
	return keys[len(keys)-1]
}

// all returns every key that verifies, reloading when asked for a kid it
// does not hold (another instance rotated), at most once per keyReload.
func (k *keyRing) all(ctx context.Context, kid string) []idKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	known := false
	for _, key := range k.keys {
		known = known || key.id == kid
	}
	if (!known && k.now().Sub(k.loaded) >= keyReload) || k.now().Sub(k.loaded) > time.Minute {
		_ = k.loadLocked(ctx) // keep what we have if the store fails
	}
	return append([]idKey(nil), k.keys...)
}

// signingKey adapts an idKey to op.SigningKey.
type signingKey struct{ k idKey }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s signingKey) Key() any                                    { return s.k.private }
func (s signingKey) ID() string                                  { return s.k.id }

// publicKey adapts an idKey to op.Key.
type publicKey struct{ k idKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.private.PublicKey }

// jwk is an RSA public key in JWKS form.
func (k idKey) jwk() map[string]string {
	pub := k.private.PublicKey
	return map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.id,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// MergeJWKS adds the ID-token keys to the access-token key set, so the one
// jwks_uri serves both.
func (p *Provider) MergeJWKS(ctx context.Context, access []byte) []byte {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(access, &set); err != nil {
		return access
	}
	for _, k := range p.keys.all(ctx, "") {
		b, _ := json.Marshal(k.jwk())
		set.Keys = append(set.Keys, b)
	}
	out, err := json.Marshal(set)
	if err != nil {
		return access
	}
	return out
}
