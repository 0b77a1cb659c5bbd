package accesstoken

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Key is one Ed25519 signing key. Keys live in the caller's store; the
// Authority only holds copies, so rotating is a matter of calling SetKeys
// with the new list.
type Key struct {
	ID        string // "kid": random and URL-safe, so it needs no escaping anywhere
	Private   ed25519.PrivateKey
	CreatedAt time.Time // the newest key signs; older ones only verify
}

// GenerateKey makes a key with a random 16-byte base64url (no padding) ID.
// Both the ID and the key come from rand, so tests can make the same key
// twice; pass crypto/rand.Reader in production.
func GenerateKey(rand io.Reader, now time.Time) (Key, error) {
	var buf [16 + ed25519.SeedSize]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return Key{}, fmt.Errorf("accesstoken: generate key: %w", err)
	}
	return Key{
		ID:        base64.RawURLEncoding.EncodeToString(buf[:16]),
		Private:   ed25519.NewKeyFromSeed(buf[16:]),
		CreatedAt: now,
	}, nil
}

// heldKey is a Key prepared for use: the header every token it signs starts
// with, and the public half that verifies them.
type heldKey struct {
	id      string
	private ed25519.PrivateKey
	public  ed25519.PublicKey
	header  string // base64url of the JOSE header, with the trailing "."
}

// keySet is immutable once built, so Sign and Verify read it through an
// atomic pointer without locks while SetKeys swaps in a new one.
type keySet struct {
	signer *heldKey            // newest by CreatedAt
	byID   map[string]*heldKey // every key, for verification
	jwks   []byte              // the published JSON Web Key Set
}

// header is the JOSE header of every token. A struct, not a map, so the
// field order and so the token bytes never change.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// jwk is one public key as RFC 8037 describes Ed25519 keys.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// newKeySet checks keys and prepares them. It copies the private keys, so
// the caller may reuse its slices afterwards.
func newKeySet(keys []Key) (*keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("accesstoken: no keys")
	}
	// Newest first: the JWKS order, and the signer is the first. Equal
	// CreatedAt falls back to the ID so the choice never depends on the
	// order the store returned the keys in.
	sorted := slices.Clone(keys)
	slices.SortStableFunc(sorted, func(a, b Key) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	set := &keySet{byID: make(map[string]*heldKey, len(sorted))}
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(sorted))}
	for _, k := range sorted {
		if k.ID == "" {
			return nil, errors.New("accesstoken: key with empty ID")
		}
		if _, dup := set.byID[k.ID]; dup {
			return nil, fmt.Errorf("accesstoken: duplicate key ID %q", k.ID)
		}
		if len(k.Private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("accesstoken: key %q: private key is %d bytes; want %d", k.ID, len(k.Private), ed25519.PrivateKeySize)
		}
		// An Ed25519 private key carries its public half; a corrupt one
		// would sign tokens that nothing verifies.
		private := ed25519.NewKeyFromSeed(k.Private.Seed())
		if !bytes.Equal(private, k.Private) {
			return nil, fmt.Errorf("accesstoken: key %q: public half does not match the seed", k.ID)
		}
		h, err := json.Marshal(header{Alg: "EdDSA", Typ: "at+jwt", Kid: k.ID})
		if err != nil {
			return nil, fmt.Errorf("accesstoken: key %q: %w", k.ID, err)
		}
		public := private.Public().(ed25519.PublicKey)
		held := &heldKey{
			id:      k.ID,
			private: private,
			public:  public,
			header:  base64.RawURLEncoding.EncodeToString(h) + ".",
		}
		set.byID[k.ID] = held
		if set.signer == nil {
			set.signer = held
		}
		doc.Keys = append(doc.Keys, jwk{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(public),
			Kid: k.ID,
			Alg: "EdDSA",
			Use: "sig",
		})
	}
	jwks, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: jwks: %w", err)
	}
	set.jwks = jwks
	return set, nil
}

// SetKeys atomically replaces the key set; Sign and Verify may run
// meanwhile. The key with the latest CreatedAt signs, all of them verify,
// and the JWKS lists them all. Tokens signed by a key no longer in the set
// stop verifying at once, cached or not. On error the old set stays.
func (a *Authority) SetKeys(keys []Key) error {
	set, err := newKeySet(keys)
	if err != nil {
		return err
	}
	a.keys.Store(set)
	return nil
}

// JWKS returns the JSON Web Key Set document of every key held, newest
// first, for resource servers that verify tokens themselves. Before the
// first SetKeys it is an empty set.
func (a *Authority) JWKS() []byte {
	set := a.keys.Load()
	if set == nil {
		return []byte(`{"keys":[]}`)
	}
	return bytes.Clone(set.jwks)
}
