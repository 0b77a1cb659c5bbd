package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
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

// rsaBits is the size of RS256 keys, OIDC's mandatory algorithm: 2048
// bits, its usual size.
const rsaBits = 2048

// idKey is one ID-token signing key: RS256 for every app by default,
// ES256 or EdDSA for the apps configured to want them.
type idKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	created time.Time
}

// keyRing holds the ID-token keys, newest first, in the same store as the
// access-token keys (ids start with auth.OtherKeyPrefix), so every instance
// signs and verifies with one set and `lacop keys rotate` rotates both.
// Each algorithm an app uses has its own keys; RS256 always has one.
type keyRing struct {
	store  lacop.KeyStore
	sealer *seal.Sealer
	now    func() time.Time
	algs   []jose.SignatureAlgorithm // in use: RS256 first

	mu     sync.Mutex
	keys   []idKey
	loaded time.Time
}

// additional binds a sealed key to its id.
func additional(id string) []byte { return []byte("id token key " + id) }

// load reads the keys, makes the first one of each algorithm in use, and
// drops keys retired long enough ago.
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
	keys := make([]idKey, 0, len(stored))
	newer := map[jose.SignatureAlgorithm]time.Time{} // the next newer key's creation, per algorithm
	for _, sk := range stored {                      // newest first
		key, err := k.open(sk)
		if err != nil {
			return err
		}
		if at, ok := newer[key.alg]; ok && now.Sub(at) > keyRetire {
			if err := k.store.DeleteSigningKey(ctx, sk.ID); err != nil {
				return fmt.Errorf("oidc: delete retired ID-token key: %w", err)
			}
			continue
		}
		newer[key.alg] = key.created
		keys = append(keys, key)
	}
	for _, alg := range k.algs {
		if _, ok := newer[alg]; ok {
			continue
		}
		sk, err := k.generate(ctx, alg, now)
		if err != nil {
			return err
		}
		key, err := k.open(sk)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	slices.SortStableFunc(keys, func(a, b idKey) int { return b.created.Compare(a.created) })
	k.keys = keys
	return nil
}

// open unseals a stored key; its type says its algorithm.
func (k *keyRing) open(sk *lacop.SigningKey) (idKey, error) {
	der, err := k.sealer.Open(sk.Sealed, additional(sk.ID))
	if err != nil {
		return idKey{}, fmt.Errorf("oidc: ID-token key %s cannot be opened with this data directory's secret.key: %w", sk.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return idKey{}, fmt.Errorf("oidc: ID-token key %s: %w", sk.ID, err)
	}
	key := idKey{id: sk.ID, created: sk.CreatedAt}
	switch pk := priv.(type) {
	case *rsa.PrivateKey:
		key.alg, key.private = jose.RS256, pk
	case *ecdsa.PrivateKey:
		key.alg, key.private = jose.ES256, pk
	case ed25519.PrivateKey:
		key.alg, key.private = jose.EdDSA, pk
	default:
		return idKey{}, fmt.Errorf("oidc: ID-token key %s is a %T, not a key lacop signs with", sk.ID, priv)
	}
	return key, nil
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

// generate makes, seals and stores a new key for alg.
func (k *keyRing) generate(ctx context.Context, alg jose.SignatureAlgorithm, at time.Time) (*lacop.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("no keys for %s", alg)
	}
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

// Rotate adds a new ID-token key for each algorithm in use, published at
// once and signing after keyPublish; it returns their ids.
func (k *keyRing) rotate(ctx context.Context) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	at := k.now()
	stored, err := k.stored(ctx)
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 && !at.After(stored[0].CreatedAt) {
		at = stored[0].CreatedAt.Add(time.Millisecond)
	}
	var ids []string
	for _, alg := range k.algs {
		sk, err := k.generate(ctx, alg, at)
		if err != nil {
			return nil, err
		}
		ids = append(ids, sk.ID)
	}
	return ids, k.loadLocked(ctx)
}

// keyPublish is how long a new ID-token key is only published before it
// signs: every instance reloads its keys at least every minute, so by then
// each one's JWKS has it, and an app that fetches the JWKS from any
// instance can verify what any instance signs.
const keyPublish = 2 * time.Minute

// current is alg's signing key: the newest one published for keyPublish
// (the only one on a new store), reloaded every minute to see rotations.
func (k *keyRing) current(ctx context.Context, alg jose.SignatureAlgorithm) (idKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) == 0 || k.now().Sub(k.loaded) > time.Minute {
		if err := k.loadLocked(ctx); err != nil && len(k.keys) == 0 {
			return idKey{}, err
		}
	}
	var keys []idKey
	for _, key := range k.keys {
		if key.alg == alg {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return idKey{}, fmt.Errorf("oidc: no ID-token key for %s", alg)
	}
	return signer(keys, k.now()), nil
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

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.k.alg }
func (s signingKey) Key() any                                    { return s.k.private }
func (s signingKey) ID() string                                  { return s.k.id }

// publicKey adapts an idKey to op.Key.
type publicKey struct{ k idKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.private.Public() }

// jwk is the key's public half in JWKS form.
func (k idKey) jwk() ([]byte, error) {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.id, Algorithm: string(k.alg), Use: "sig"}.MarshalJSON()
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
		b, err := k.jwk()
		if err != nil {
			return access
		}
		set.Keys = append(set.Keys, b)
	}
	out, err := json.Marshal(set)
	if err != nil {
		return access
	}
	return out
}
