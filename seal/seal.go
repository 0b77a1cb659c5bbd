// Package seal encrypts small secrets at rest (TOTP seeds) with AES-256-GCM,
// so a copy of the database alone does not hand out second factors. The key
// lives apart from the database: a file in the data directory, readable by
// its owner only.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KeySize is the length of a sealing key: AES-256.
const KeySize = 32

// version prefixes sealed values so the format can change later.
const version = 1

// ErrOpen is returned when a sealed value is corrupt or was sealed with
// another key.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer seals and opens values with one key.
type Sealer struct {
	aead   cipher.AEAD
	macKey []byte
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key is %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("lacop seal: mac key"))
	return &Sealer{aead: aead, macKey: m.Sum(nil)}, nil
}

// MAC returns HMAC-SHA256 of data under a key derived from the sealing key.
// It derives values only the holder of the key file can compute, such as
// the successor of a refresh token, without storing them.
func (s *Sealer) MAC(data []byte) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write(data)
	return m.Sum(nil)
}

// Seal encrypts plain. additional binds the value to its owner (the user
// id), so a sealed secret copied onto another user's row does not open.
func (s *Sealer) Seal(plain, additional []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand)
	out := append([]byte{version}, nonce...)
	return s.aead.Seal(out, nonce, plain, additional)
}

// Open decrypts a value made by Seal with the same additional data.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additional)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// LoadOrCreateKey reads the key file at path, or creates one (mode 0600)
// when none exists. An existing file of the wrong size is an error, never
// replaced: replacing it would make every sealed secret unreadable.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != KeySize {
			return nil, fmt.Errorf("seal: key file %s is %d bytes; want %d (refusing to replace it)", path, len(key), KeySize)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seal: read key: %w", err)
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path) // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("seal: create key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("seal: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal: write key: %w", err)
	}
	return key, nil
}
