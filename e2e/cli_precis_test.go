package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestEmailPRECIS: an address is compared in its PRECIS form (width
// folded, lower case, NFC), so the spellings of one address a keyboard or an
// IME can produce make one account, and each of them signs in.
func TestEmailPRECIS(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const nfc = "Zo\u00eb@Ex\u00e4mple.com" // precomposed ë and ä
	out, err := p.cli(testPassword+"\n", "user", "add", nfc, "--password-stdin")
	if err != nil || !strings.Contains(out, "created user zo\u00eb@ex\u00e4mple.com ") {
		t.Fatalf("user add %q: %v %q; want zo\u00eb@ex\u00e4mple.com created", nfc, err, out)
	}
	for _, other := range []string{
		"zoe\u0308@exa\u0308mple.com",                   // decomposed: e + combining diaeresis
		"ZOE\u0308@EXA\u0308MPLE.COM",                   // decomposed, upper case
		"\uff3a\uff4f\u00eb@\uff25\uff58\u00e4mple.com", // fullwidth Z, o, E, x
		"  zo\u00eb@ex\u00e4mple.com\t",                 // spaces around
	} {
		out, err := p.cli(testPassword+"\n", "user", "add", other, "--password-stdin")
		if err == nil || !strings.Contains(out, "already exists") {
			t.Errorf("user add %q: %v %q; want it to be the existing user", other, err, out)
		}
		if res := p.loginAs(other, testPassword, nil, false); res.StatusCode != http.StatusOK {
			t.Errorf("login as %q = %d %s; want 200", other, res.StatusCode, res.Body)
		}
	}
	// What PRECIS refuses is an invalid address, not a crash.
	for _, bad := range []string{"a\u202eb@example.com", "a\u00a0b@example.com", "\u2603@example.com"} {
		out, err := p.cli(testPassword+"\n", "user", "add", bad, "--password-stdin")
		if err == nil || !strings.Contains(out, "not a valid address") {
			t.Errorf("user add %q: %v %q; want it refused as not a valid address", bad, err, out)
		}
	}
}
