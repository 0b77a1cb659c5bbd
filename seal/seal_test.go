package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func newSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t)
	plain := []byte("JBSWY3DPEHPK3PXP")
	a, b := s.Seal(plain, []byte("user-1")), s.Seal(plain, []byte("user-1"))
	if bytes.Equal(a, b) {
		t.Error("sealing twice gave the same bytes; want a fresh nonce each time")
	}
	if bytes.Contains(a, plain) {
		t.Error("sealed value contains the plain text")
	}
	got, err := s.Open(a, []byte("user-1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, %v; want %q", got, err, plain)
	}
}

func TestOpenRefuses(t *testing.T) {
	s := newSealer(t)
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	sealed := s.Seal([]byte("secret"), []byte("user-1"))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for _, tt := range []struct {
		name   string
		s      *Sealer
		sealed []byte
		ad     string
	}{
		{"other user", s, sealed, "user-2"},
		{"other key", other, sealed, "user-1"},
		{"tampered", s, tampered, "user-1"},
		{"truncated", s, sealed[:10], "user-1"},
		{"empty", s, nil, "user-1"},
		{"wrong version", s, append([]byte{9}, sealed[1:]...), "user-1"},
	} {
		if _, err := tt.s.Open(tt.sealed, []byte(tt.ad)); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open error = %v; want ErrOpen", tt.name, err)
		}
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d-byte key) = nil error; want an error", n)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create = %d bytes, %v", len(k1), err)
	}
	fi, _ := os.Stat(path)
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o; want 600", mode)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("load = %x, %v; want the created key", k2, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(bad); err == nil {
		t.Error("LoadOrCreateKey(short file) = nil error; want a refusal")
	}
	if got, _ := os.ReadFile(bad); string(got) != "short" {
		t.Errorf("a bad key file was replaced: %q", got)
	}
}

func TestMAC(t *testing.T) {
	a := newSealer(t)
	b, err := New(bytes.Repeat([]byte{8}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if got, again := a.MAC([]byte("x")), a.MAC([]byte("x")); !bytes.Equal(got, again) || len(got) != 32 {
		t.Errorf("MAC not stable: %x, %x", got, again)
	}
	if bytes.Equal(a.MAC([]byte("x")), a.MAC([]byte("y"))) {
		t.Error("MAC of different data is equal")
	}
	if bytes.Equal(a.MAC([]byte("x")), b.MAC([]byte("x"))) {
		t.Error("MAC under different keys is equal")
	}
}
