package auth

import (
	"maps"
	"strings"
	"testing"
)

var identifierTests = []struct {
	in   string // as normalised
	want map[string]string
}{
	{"alice@example.com", map[string]string{"email": "alice@example.com"}},
	{"admin@localhost", map[string]string{"email": "admin@localhost"}}, // an account may have it
	{"", map[string]string{"identifier": "not_an_email"}},
	{"mistyped-passphrase-7391", map[string]string{"identifier": "not_an_email"}},
	{"p@ss word", map[string]string{"identifier": "not_an_email"}},
	{"a@b@example.com", map[string]string{"identifier": "not_an_email"}},
	{`"quoted secret"@example.com`, map[string]string{"identifier": "not_an_email"}},
	{"alice <alice@example.com>", map[string]string{"identifier": "not_an_email"}},
	{"<alice@example.com>", map[string]string{"identifier": "not_an_email"}},
	{"Alice@Example.com", map[string]string{"identifier": "not_an_email"}}, // not normalised
	{"alice@example.com\n", map[string]string{"identifier": "not_an_email"}},
	{"alice@", map[string]string{"identifier": "not_an_email"}},
	{strings.Repeat("a", 250) + "@example.com", map[string]string{"identifier": "not_an_email"}},
}

func TestIdentifierDetail(t *testing.T) {
	for _, tt := range identifierTests {
		if got := identifierDetail(map[string]string{}, tt.in); !maps.Equal(got, tt.want) {
			t.Errorf("identifierDetail(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

var passwordKeysTests = []struct {
	email, ip string
	want      []string
}{
	{"alice@example.com", "203.0.113.7", []string{"account:alice@example.com", "ip:203.0.113.7"}},
	{"alice@example.com", "2001:db8:1:2:3:4:5:6", []string{"account:alice@example.com", "ip:2001:db8:1:2::/64"}},
	{"alice@example.com", "::ffff:203.0.113.7", []string{"account:alice@example.com", "ip:203.0.113.7"}},
	{"alice@example.com", "", []string{"account:alice@example.com"}},
	{"mistyped-passphrase-7391", "203.0.113.7", []string{"ip:203.0.113.7"}},
	{"", "", nil},
}

func TestPasswordKeys(t *testing.T) {
	for _, tt := range passwordKeysTests {
		if got := passwordKeys(tt.email, tt.ip).all(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("passwordKeys(%q, %q) = %q; want %q", tt.email, tt.ip, got, tt.want)
		}
	}
}
