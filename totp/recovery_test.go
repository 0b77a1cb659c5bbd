package totp_test

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/lacop/lacop/totp"
)

func TestRecoveryCodes(t *testing.T) {
	format := regexp.MustCompile(`^[a-z2-7]{5}-[a-z2-7]{5}$`)
	for _, n := range []int{0, 1, 10, 100} {
		codes, err := totp.RecoveryCodes(n)
		if err != nil {
			t.Errorf("RecoveryCodes(%d): %v", n, err)
			continue
		}
		if got := len(codes); got != n {
			t.Errorf("len(RecoveryCodes(%d)) = %d; want %d", n, got, n)
		}
		seen := make(map[string]bool)
		for _, c := range codes {
			if !format.MatchString(c) {
				t.Errorf("RecoveryCodes(%d) code %q; want match %s", n, c, format)
			}
			if seen[c] {
				t.Errorf("RecoveryCodes(%d) repeats %q", n, c)
			}
			seen[c] = true
		}
	}
	if codes, err := totp.RecoveryCodes(-1); err == nil {
		t.Errorf("RecoveryCodes(-1) = %q, nil; want error", codes)
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"abcde-fghij", "abcdefghij"},
		{"ABCDE-FGHIJ", "abcdefghij"},
		{"abcde fghij", "abcdefghij"},
		{"abcdefghij", "abcdefghij"},
		{" AbCdE--fGhIj\t", "abcdefghij"},
		{"a-b-c-d-e f g h i j", "abcdefghij"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := totp.NormalizeRecoveryCode(tt.in); got != tt.want {
			t.Errorf("NormalizeRecoveryCode(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestHashRecoveryCode(t *testing.T) {
	want := totp.HashRecoveryCode("abcde-fghij")
	if got := len(want); got != 32 {
		t.Errorf("len(HashRecoveryCode) = %d; want 32", got)
	}
	for _, in := range []string{"ABCDE-FGHIJ", "abcde fghij", "abcdefghij", " Abcde-Fghij "} {
		if got := totp.HashRecoveryCode(in); !bytes.Equal(got, want) {
			t.Errorf("HashRecoveryCode(%q) = %x; want %x", in, got, want)
		}
	}
	for _, in := range []string{"abcde-fghik", "bcdef-ghija", "abcde-fghi", ""} {
		if got := totp.HashRecoveryCode(in); bytes.Equal(got, want) {
			t.Errorf("HashRecoveryCode(%q) = HashRecoveryCode(%q) = %x; want different", in, "abcde-fghij", got)
		}
	}

	codes, err := totp.RecoveryCodes(50)
	if err != nil {
		t.Fatalf("RecoveryCodes(50): %v", err)
	}
	hashes := make(map[string]string)
	for _, c := range codes {
		h := string(totp.HashRecoveryCode(c))
		if prev, dup := hashes[h]; dup {
			t.Errorf("HashRecoveryCode(%q) = HashRecoveryCode(%q)", c, prev)
		}
		hashes[h] = c
	}
}
