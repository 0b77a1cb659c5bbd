package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrWeak is returned, wrapped with a reason a person can read, by Check, so
// callers can tell a refused password from other errors with errors.Is and
// show err.Error() to the user as it is.
var ErrWeak = errors.New("weak password")

const (
	minRunes = 12
	// maxBytes caps the password so a huge one cannot be used to make the
	// hasher do needless work.
	maxBytes = 1024
	// minLocalPart is the shortest email local part that Check looks for
	// in the password; shorter ones (such as "al") are too likely to
	// appear by chance.
	minLocalPart = 4
)

// commonList holds very common passwords of 12 or more characters, one per
// line, in lower case. It is read once into common and never changed.
//
//go:embed common.txt
var commonList string

// common is the set of commonList's lines.
var common = func() map[string]struct{} {
	m := make(map[string]struct{})
	for line := range strings.Lines(commonList) {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
}()

// sequenceAlphabets are the orders in which a password counts as a simple
// sequence: digits (1234567890 wraps around), letters, and the keyboard rows
// read left to right, top to bottom.
var sequenceAlphabets = [...]string{
	"0123456789",
	"abcdefghijklmnopqrstuvwxyz",
	"qwertyuiopasdfghjklzxcvbnm",
}

// Check reports why password is too weak to accept, or nil if it is
// acceptable. It refuses a password that:
//   - is longer than 1024 bytes (so a huge password cannot be used to load
//     the hasher);
//   - has fewer than 12 characters (counted as Unicode code points, without
//     normalisation);
//   - contains the whole email, or its local part if that has at least 4
//     characters, ignoring case (anyone who knows the address would try it);
//   - is one character repeated, ignoring case;
//   - is a single ascending or descending run of digits, letters or keyboard
//     keys, such as "123456789012" or "abcdefghijkl";
//   - is, ignoring case, in a small embedded list of very common passwords.
//
// The error is ErrWeak wrapped with a reason meant for the person choosing
// the password, such as "weak password: use at least 12 characters". email
// may be empty when it is not known.
func Check(password, email string) error {
	if len(password) > maxBytes {
		return weak(fmt.Sprintf("use at most %d bytes", maxBytes))
	}
	if utf8.RuneCountInString(password) < minRunes {
		return weak(fmt.Sprintf("use at least %d characters", minRunes))
	}
	lower := strings.ToLower(password)
	if containsEmail(lower, email) {
		return weak("do not use your email address in your password")
	}
	if allSame(lower) {
		return weak("do not repeat a single character")
	}
	if isSequence(lower) {
		return weak("do not use a simple sequence such as 123456, abcdef or qwerty")
	}
	if _, ok := common[lower]; ok {
		return weak("this password is too common")
	}
	return nil
}

func weak(reason string) error {
	return fmt.Errorf("%w: %s", ErrWeak, reason)
}

// containsEmail reports whether lower (a lower-cased password) contains
// email or its local part of at least minLocalPart characters, ignoring case.
func containsEmail(lower, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return false
	}
	if strings.Contains(lower, email) {
		return true
	}
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	return utf8.RuneCountInString(local) >= minLocalPart && strings.Contains(lower, local)
}

// allSame reports whether s consists of one rune repeated.
func allSame(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}

// isSequence reports whether s (lower-cased, at least two runes) steps
// through one of sequenceAlphabets one place at a time, all forwards or all
// backwards, wrapping around at the ends.
func isSequence(s string) bool {
	for _, alpha := range sequenceAlphabets {
		if steps(s, alpha) {
			return true
		}
	}
	return false
}

func steps(s, alpha string) bool {
	n := len(alpha)
	prev, step := -1, 0
	for _, r := range s {
		i := strings.IndexRune(alpha, r)
		if i < 0 {
			return false
		}
		if prev >= 0 {
			d := (i - prev + n) % n
			if d != 1 && d != n-1 {
				return false
			}
			if step == 0 {
				step = d
			} else if d != step {
				return false
			}
		}
		prev = i
	}
	return step != 0
}
