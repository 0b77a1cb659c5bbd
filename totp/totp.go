// Package totp is the pure logic of lacop's second factor: time-based
// one-time passwords (RFC 6238) and one-time recovery codes. It keeps no
// state; storing the sealed secret, the last used step and the recovery code
// hashes is the caller's job (see lacop.SecondFactorStore).
package totp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"
)

// Period is the length of one TOTP time step. lacop uses the standard 30 s
// (with 6 digits and SHA-1) because every authenticator app supports it and
// many ignore anything else written in the otpauth:// URL.
const Period = 30 * time.Second

// Digits is the length of a TOTP code; 6 is the standard that every
// authenticator app shows.
const Digits = 6

// periodSeconds is Period as the whole number of seconds RFC 6238 divides by.
const periodSeconds = int64(Period / time.Second)

// secretBytes is the size of a new secret: 160 bits, the HMAC-SHA-1 output
// size that RFC 4226 recommends.
const secretBytes = 20

// noPadding decodes and encodes secrets the way authenticator apps show them:
// RFC 4648 base32 without "=" padding.
var noPadding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Key is a freshly generated secret with what a person needs to enrol it in
// an authenticator app, either by scanning URL as a QR code or by typing
// Secret.
type Key struct {
	// Secret is the base32 secret (upper case, no padding): the value that
	// is stored, sealed, and shown as the key to type in by hand.
	Secret string
	// URL is the otpauth:// URL to render as a QR code (see QRCode).
	URL string
}

// Generate makes a new random 160-bit secret for account (the user's email)
// under issuer ("lacop" or the public host name), which is how the
// authenticator app labels the entry. It fixes Period, Digits and SHA-1 in
// the URL so the app computes the same codes as Code.
func Generate(issuer, account string) (Key, error) {
	k, err := otptotp.Generate(otptotp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(periodSeconds),
		SecretSize:  secretBytes,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Key{}, fmt.Errorf("totp: generate: %w", err)
	}
	return Key{Secret: k.Secret(), URL: k.URL()}, nil
}

// QRCode renders url (a Key's URL) as a PNG QR code of size×size pixels, so
// the enrolment page can show it without sending the secret to a third-party
// QR service. It fails if size is too small to hold the code at one pixel
// per module.
func QRCode(url string, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("totp: qr code size %d is not positive", size)
	}
	k, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	img, err := k.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	return buf.Bytes(), nil
}

// Step is the TOTP time step of t: Unix time divided by Period, rounded
// down. Callers store the step a code matched so the same code cannot be
// used twice.
func Step(t time.Time) int64 {
	s := t.Unix()
	step := s / periodSeconds
	if s%periodSeconds < 0 {
		step-- // round down, not toward zero, before 1970
	}
	return step
}

// Code returns the 6-digit code for secret at step: HOTP (RFC 4226, HMAC-SHA-1
// with dynamic truncation) with the step as the counter, as RFC 6238 defines
// TOTP. It exists for tests and tools; sign-in should use Validate, which
// compares in constant time.
func Code(secret string, step int64) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if step < 0 {
		return "", fmt.Errorf("totp: negative step %d", step)
	}
	var code [Digits]byte
	hotp(hmac.New(sha1.New, key), step, &code)
	return string(code[:]), nil
}

// Validate checks code against secret at now, accepting the codes of up to
// skew steps before and after now's step (lacop passes 1) to allow for clock
// drift and typing time. It returns the matched step so the caller can refuse
// a replay of that step (see lacop.SecondFactorStore.UseTOTPStep); should a
// code match more than one step, the step nearest now wins, the later one on
// a tie, so that a coincidence never makes a fresh code look like a replay.
//
// A malformed code (not exactly 6 ASCII digits once surrounding spaces are
// trimmed) is just wrong, so it gives ok false and no error; an undecodable
// secret or a negative skew is the caller's fault and gives an error.
// Every candidate step is computed and compared in constant time, without
// stopping at a match, so timing does not tell which step matched.
func Validate(secret, code string, now time.Time, skew int) (step int64, ok bool, err error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return 0, false, err
	}
	if skew < 0 {
		return 0, false, fmt.Errorf("totp: negative skew %d", skew)
	}
	code = strings.TrimSpace(code)
	// Authenticator apps show "123 456"; people type it that way.
	if len(code) == Digits+1 && code[Digits/2] == ' ' {
		code = code[:Digits/2] + code[Digits/2+1:]
	}
	if !wellFormed(code) {
		return 0, false, nil
	}

	mac := hmac.New(sha1.New, key)
	now64 := Step(now)
	var want [Digits]byte
	var found int64 // 1 once a candidate matched, else 0
	for i := 0; i <= 2*skew; i++ {
		// Order 0, +1, -1, +2, -2, …: nearest first, later before earlier.
		d := int64((i + 1) / 2)
		if i%2 == 0 {
			d = -d
		}
		cand := now64 + d
		if cand < 0 {
			continue // before 1970: no such step; depends only on now
		}
		hotp(mac, cand, &want)
		eq := int64(subtle.ConstantTimeCompare(want[:], []byte(code)))
		take := -(eq &^ found) // all ones for the first match, else zero
		step = cand&take | step&^take
		found |= eq
	}
	return step, found == 1, nil
}

// wellFormed reports whether code is exactly Digits ASCII digits. Only its
// shape is checked, so the early return reveals nothing about the secret.
func wellFormed(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// decodeSecret decodes a base32 secret ignoring case and with or without
// padding, since people and other tools write it all these ways.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimRight(strings.ToUpper(secret), "=")
	if s == "" {
		return nil, errors.New("totp: empty secret")
	}
	// Base32 packs 5 bytes into 8 characters, so a tail of 1, 3 or 6
	// characters cannot be a whole number of bytes. encoding/base32 quietly
	// drops such a tail, which would make a truncated secret look valid.
	switch len(s) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("totp: decode secret: impossible length %d", len(s))
	}
	key, err := noPadding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("totp: decode secret: %w", err)
	}
	return key, nil
}

// hotp writes the RFC 4226 code for counter into code, reusing mac (keyed
// with the secret) so Validate allocates it once for all candidate steps.
func hotp(mac hash.Hash, counter int64, code *[Digits]byte) {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	mac.Reset()
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	h := mac.Sum(sum[:0])
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	for i := Digits - 1; i >= 0; i-- {
		code[i] = byte('0' + v%10)
		v /= 10
	}
}
