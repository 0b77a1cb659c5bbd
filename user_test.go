package lacop_test

import (
	"strings"
	"testing"

	"github.com/lacop/lacop"
)

var normalizeEmailTests = []struct{ in, want string }{
	{"  Ada@Example.COM\t", "ada@example.com"},
	{"Zo\u00eb@Ex\u00e4mple.com", "zo\u00eb@ex\u00e4mple.com"},                       // precomposed
	{"zoe\u0308@exa\u0308mple.com", "zo\u00eb@ex\u00e4mple.com"},                     // decomposed: NFC
	{"ZOE\u0308@EXA\u0308MPLE.COM", "zo\u00eb@ex\u00e4mple.com"},                     // decomposed capitals
	{"\uff3a\uff4f\u00eb@\uff25\uff58\u00e4mple.com", "zo\u00eb@ex\u00e4mple.com"},   // fullwidth
	{"\uff11\uff12\uff13@qq.com", "123@qq.com"},                                      // fullwidth digits (Bidi Rule would refuse)
	{"\u05e9\u05dc\u05d5\u05dd@example.com", "\u05e9\u05dc\u05d5\u05dd@example.com"}, // Hebrew mailbox
	{"Stra\u00dfe@x.de", "stra\u00dfe@x.de"},                                         // lower case, not case folding: ß stays
	{"A+Tag@Example.com", "a+tag@example.com"},
	// PRECIS refuses these; they come back trimmed and lower-cased, and
	// Validate refuses them.
	{" A\u202eB@example.com ", "a\u202eb@example.com"},
	{"A\u00a0B@example.com", "a\u00a0b@example.com"},
	{"a\x00b@example.com", "a\x00b@example.com"},
}

func TestNormalizeEmailPRECIS(t *testing.T) {
	for _, tt := range normalizeEmailTests {
		if got := lacop.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q; want %q", tt.in, got, tt.want)
		}
		// What NormalizeEmail returns, it returns again: a stored address
		// is found by itself.
		if got := lacop.NormalizeEmail(tt.want); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q; want it unchanged", tt.want, got)
		}
	}
}

var userTextTests = []struct {
	user lacop.User
	want string // part of the error; "" for none
}{
	{lacop.User{Email: "zo\u00eb@ex\u00e4mple.com", Name: "Zo\u00eb \u00d1\u00fa\u00f1ez-O'Neil"}, ""},
	{lacop.User{Email: "\u05e9\u05dc\u05d5\u05dd@example.com", Name: "\u05e9\u05dc\u05d5\u05dd"}, ""},
	{lacop.User{Email: "a@example.com", Name: "\u0645\u062d\u0645\u062f \u0631\u0636\u0627"}, ""},
	{lacop.User{Email: "a@example.com", Name: "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"}, ""}, // ZWNJ is part of Persian writing
	{lacop.User{Email: "a@example.com", Name: "\U0001f469\u200d\U0001f4bb Dev"}, ""},                   // ZWJ emoji sequence
	{lacop.User{Email: "zoe\u0308@example.com"}, "normal form"},
	{lacop.User{Email: "a\u202eb@example.com"}, "not a valid address"},
	{lacop.User{Email: "a\u00a0b@example.com"}, "not a valid address"},
	{lacop.User{Email: "\u2603@example.com"}, "not a valid address"},
	{lacop.User{Email: "a@example.com", Name: "a\x00b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\x1b[2Jb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\x7fb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u0085b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u009bb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\tb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\nb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "Eve\u202eevil"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u202ab"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u2066b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u2069b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u200fb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u061cb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u2028b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\u2029b"}, "control characters"},
	{lacop.User{Email: "a@example.com", Name: "a\xffb"}, "control characters"},
	{lacop.User{Email: "a@example.com", Groups: []string{"dev\u202e"}}, "not a valid group"},
	{lacop.User{Email: "a@example.com", Groups: []string{"dev\x00"}}, "not a valid group"},
	{lacop.User{Email: "a@example.com", Groups: []string{"d\u00e9v"}}, ""},
}

func TestUserValidateText(t *testing.T) {
	for _, tt := range userTextTests {
		err := tt.user.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%q, %q, %q) = %v; want ok", tt.user.Email, tt.user.Name, tt.user.Groups, err)
		case tt.want != "" && (lacop.ErrorCode(err) != lacop.EINVALID || !strings.Contains(lacop.ErrorMessage(err), tt.want)):
			t.Errorf("Validate(%q, %q, %q) = %v; want invalid_request saying %q", tt.user.Email, tt.user.Name, tt.user.Groups, err, tt.want)
		}
	}
}

var plainTextTests = []struct {
	s               string
	line, multiline bool
}{
	{"", true, true},
	{"Zo\u00eb", true, true},
	{"a\u200db", true, true},
	{"line\r\nnext\tcol", false, true},
	{"a\x00b", false, false},
	{"a\x1bb", false, false},
	{"a\u0085b", false, false},
	{"a\u202eb", false, false},
	{"a\u2028b", false, false},
	{"a\xc3", false, false},
}

func TestPlainText(t *testing.T) {
	for _, tt := range plainTextTests {
		if got := lacop.PlainText(tt.s, false); got != tt.line {
			t.Errorf("PlainText(%q, false) = %v; want %v", tt.s, got, tt.line)
		}
		if got := lacop.PlainText(tt.s, true); got != tt.multiline {
			t.Errorf("PlainText(%q, true) = %v; want %v", tt.s, got, tt.multiline)
		}
	}
}
