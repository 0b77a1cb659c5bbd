package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode"
)

// recoveryAlphabet is lower-case RFC 4648 base32: no 0/O or 1/l to confuse
// when a person copies a code from paper, and 32 letters so a random byte
// masked to 5 bits picks one without bias.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// recoveryLen is the number of random characters in a recovery code: 10 of
// 5 bits each, 50 bits in all.
const recoveryLen = 10

// RecoveryCodes returns n new, distinct one-time recovery codes, which let a
// person sign in after losing their authenticator. Each is 10 random
// characters of lower-case base32 from crypto/rand (50 bits), shown grouped
// as "xxxxx-xxxxx" so it is easy to copy; only HashRecoveryCode of each
// should be stored.
func RecoveryCodes(n int) ([]string, error) {
	if n < 0 {
		return nil, fmt.Errorf("totp: negative recovery code count %d", n)
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	var raw [recoveryLen]byte
	for len(codes) < n {
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("totp: recovery codes: %w", err)
		}
		var b strings.Builder
		b.Grow(recoveryLen + 1)
		for i, r := range raw {
			if i == recoveryLen/2 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[r&31])
		}
		c := b.String()
		if seen[c] {
			continue // a repeat is astronomically unlikely but would waste a code
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes, nil
}

// NormalizeRecoveryCode lower-cases code and removes spaces and dashes, so
// that "ABCDE-FGHIJ", "abcde fghij" and "abcdefghij" are the same code
// however the person typed it.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
}

// HashRecoveryCode is the stored form of a recovery code: the SHA-256 of its
// normalized form, so a leaked database does not reveal usable codes.
// A fast hash is enough here, unlike for passwords: a code is 50 random bits
// from crypto/rand rather than a guessable human choice, so even with the
// stolen hash finding it takes on the order of 2^49 SHA-256 guesses (days
// on a GPU per code); and a found code only stands in for the second factor
// (the password is still needed) and stops working once used or replaced.
// Being unsalted and deterministic also lets the store find a code by its
// hash.
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return sum[:]
}
