package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/accesstoken"
)

// keyReload spaces reloads of the signing keys prompted by an unknown kid,
// so a flood of forged tokens cannot turn into a flood of store reads.
const keyReload = time.Second

// keyState remembers when the keys were last loaded.
type keyState struct {
	mu     sync.Mutex
	loaded time.Time
	ids    string // the ids of the keys in use, to skip reloads that change nothing
}

// verifyAccess checks an access token's signature and claims. An unknown
// signing key may be one another instance (or lacop keys rotate) just
// added: the keys are reloaded, at most once per keyReload, and the token
// checked again.
func (s *Service) verifyAccess(ctx context.Context, token string) (*accesstoken.Claims, error) {
	claims, err := s.Access.Verify(token)
	if errors.Is(err, accesstoken.ErrUnknownKey) && s.reloadDue() {
		if lerr := s.LoadKeys(ctx); lerr != nil {
			s.Logger.Warn("reload signing keys", "err", lerr)
			return nil, err
		}
		claims, err = s.Access.Verify(token)
	}
	return claims, err
}

// reloadDue reports whether an unknown kid may prompt a reload now.
func (s *Service) reloadDue() bool {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	return s.Now().Sub(s.keys.loaded) >= keyReload
}

// LoadKeys reads the signing keys from the store into the signer, creating
// the first key on a new store. A key stops verifying once the key after
// it has signed for longer than an access token lives; such keys are
// deleted.
func (s *Service) LoadKeys(ctx context.Context) error {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	now := s.Now()
	s.keys.loaded = now
	stored, err := s.signingKeys(ctx)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		k, err := s.newSigningKey(ctx, now)
		if err != nil {
			return err
		}
		stored = []*lacop.SigningKey{k}
	}
	var ids strings.Builder
	keys := make([]accesstoken.Key, 0, len(stored))
	for i, sk := range stored { // newest first
		if i > 0 && now.Sub(stored[i-1].CreatedAt) > s.Config.Tokens.AccessTTL+time.Minute {
			if err := s.Keys.DeleteSigningKey(ctx, sk.ID); err != nil {
				s.Logger.Warn("delete retired signing key", "kid", sk.ID, "err", err)
			}
			continue
		}
		seed, err := s.Sealer.Open(sk.Sealed, []byte("signing key "+sk.ID))
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("auth: signing key %s cannot be opened with this data directory's secret.key: %w", sk.ID, err)
		}
		keys = append(keys, accesstoken.Key{ID: sk.ID, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: sk.CreatedAt})
		ids.WriteString(sk.ID + " ")
	}
	if ids.String() == s.keys.ids {
		return nil // unchanged: keep the verified-token cache warm
	}
	if err := s.Access.SetKeys(keys); err != nil {
		return fmt.Errorf("auth: signing keys: %w", err)
	}
	s.keys.ids = ids.String()
	return nil
}

// RotateKey adds a new signing key, which signs from now on; older keys
// keep verifying until the tokens they signed have expired. Other
// instances pick it up on their next reload.
func (s *Service) RotateKey(ctx context.Context) (string, error) {
	at := s.Now()
	stored, err := s.signingKeys(ctx)
	if err != nil {
		return "", err
	}
	if len(stored) > 0 && !at.After(stored[0].CreatedAt) {
		// The newest key signs: a rotation must come strictly after it,
		// even on a coarse or stepped clock.
		at = stored[0].CreatedAt.Add(time.Millisecond)
	}
	k, err := s.newSigningKey(ctx, at)
	if err != nil {
		return "", err
	}
	if err := s.LoadKeys(ctx); err != nil {
		return "", err
	}
	return k.ID, nil
}

// OtherKeyPrefix starts the ids of keys in the same store that are not
// access-token keys (the OpenID Connect provider's ID-token keys); auth
// leaves them alone. Access-token key ids are base64url, which has no '.'.
const OtherKeyPrefix = "idt."

// signingKeys lists the access-token keys, newest first.
func (s *Service) signingKeys(ctx context.Context) ([]*lacop.SigningKey, error) {
	stored, err := s.Keys.SigningKeys(ctx)
	if err != nil {
		return nil, unavailable("load signing keys", err)
	}
	return slices.DeleteFunc(stored, func(k *lacop.SigningKey) bool { return strings.HasPrefix(k.ID, OtherKeyPrefix) }), nil
}

// newSigningKey generates and stores a key, its private part sealed.
func (s *Service) newSigningKey(ctx context.Context, now time.Time) (*lacop.SigningKey, error) {
	k, err := accesstoken.GenerateKey(s.Rand, now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("auth: generate signing key: %w", err)
	}
	sk := &lacop.SigningKey{ID: k.ID, CreatedAt: k.CreatedAt, Sealed: s.Sealer.Seal(k.Private.Seed(), []byte("signing key "+k.ID))}
	if err := s.Keys.AddSigningKey(ctx, sk); err != nil {
		return nil, unavailable("store signing key", err)
	}
	return sk, nil
}

// JWKS is the public key set, for /.well-known/jwks.json.
func (s *Service) JWKS() []byte { return s.Access.JWKS() }
