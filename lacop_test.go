package lacop_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lacop/lacop"
)

var errorCodeTests = []struct {
	err           error
	code, message string
}{
	{nil, "", ""},
	{lacop.Errorf(lacop.ENOTFOUND, "No %s.", "user"), lacop.ENOTFOUND, "No user."},
	{fmt.Errorf("sqlite: x: %w", lacop.Errorf(lacop.ECONFLICT, "Taken.")), lacop.ECONFLICT, "Taken."},
	{errors.Join(lacop.Errorf(lacop.EUNAVAILABLE, "Down."), errors.New("dial tcp: refused")), lacop.EUNAVAILABLE, "Down."},
	{errors.New("disk I/O error at /var/lib/x"), lacop.EINTERNAL, "Internal error."},
}

func TestErrorCode(t *testing.T) {
	for _, tt := range errorCodeTests {
		if got := lacop.ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q; want %q", tt.err, got, tt.code)
		}
		if got := lacop.ErrorMessage(tt.err); got != tt.message {
			t.Errorf("ErrorMessage(%v) = %q; want %q", tt.err, got, tt.message)
		}
	}
}

var validateTests = []struct {
	user lacop.User
	ok   bool
}{
	{lacop.User{Email: "ada@example.com"}, true},
	{lacop.User{Email: "ada@example.com", Name: "Ada", Groups: []string{"dev", "ops"}}, true},
	{lacop.User{Email: ""}, false},
	{lacop.User{Email: "not-an-email"}, false},
	{lacop.User{Email: "Ada@example.com"}, false},
	{lacop.User{Email: "Ada <ada@example.com>"}, false},
	{lacop.User{Email: strings.Repeat("a", 250) + "@example.com"}, false},
	{lacop.User{Email: "ada@example.com", Name: strings.Repeat("n", 201)}, false},
	{lacop.User{Email: "ada@example.com", Groups: []string{""}}, false},
	{lacop.User{Email: "ada@example.com", Groups: []string{"a,b"}}, false},
	{lacop.User{Email: "ada@example.com", Groups: []string{"a b"}}, false},
}

func TestUserValidate(t *testing.T) {
	for _, tt := range validateTests {
		err := tt.user.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q, %q, %q) = %v; want ok=%v", tt.user.Email, tt.user.Name, tt.user.Groups, err, tt.ok)
		} else if err != nil && lacop.ErrorCode(err) != lacop.EINVALID {
			t.Errorf("Validate(%q) code = %q; want %q", tt.user.Email, lacop.ErrorCode(err), lacop.EINVALID)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := lacop.NormalizeEmail("  Ada@Example.COM\t"); got != "ada@example.com" {
		t.Errorf("NormalizeEmail = %q; want %q", got, "ada@example.com")
	}
}
