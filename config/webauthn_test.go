package config

import (
	"strings"
	"testing"
)

func TestWebAuthnRPID(t *testing.T) {
	tests := []struct {
		name, public, rpID, cookieDomain string
		wantID                           string // "" = no passkeys
		wantErr                          string // "" = valid
	}{
		{"default is the host", "https://auth.example.com", "", "", "auth.example.com", ""},
		{"parent domain", "https://auth.example.com", "example.com", "", "example.com", ""},
		{"cookie domain", "https://auth.example.com", "example.com", "example.com", "example.com", ""},
		{"localhost", "http://localhost:9540", "", "", "localhost", ""},
		{"ip default: none", "http://127.0.0.1:9540", "", "", "", ""},
		{"another site", "https://auth.example.com", "example.org", "", "", "is not this domain or within it"},
		{"sibling", "https://auth.example.com", "app.example.com", "", "", "is not this domain or within it"},
		{"suffix without dot", "https://auth.myexample.com", "example.com", "", "", "is not this domain or within it"},
		{"ip", "https://10.0.0.1", "10.0.0.1", "", "", "not an IP address"},
		{"upper case", "https://auth.example.com", "Example.com", "", "", "lowercase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.PublicURL, c.WebAuthn.RPID, c.Session.CookieDomain = tt.public, tt.rpID, tt.cookieDomain
			err := c.Validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Validate() = %v; want no error", err)
			}
			var lines []string
			if tt.wantErr != "" {
				lines = errorLines(t, err)
			}
			if tt.wantErr != "" && (len(lines) != 1 || !strings.HasPrefix(lines[0], "webauthn.rp_id: ") || !strings.Contains(lines[0], tt.wantErr)) {
				t.Fatalf("Validate() = %q; want one error on webauthn.rp_id saying %q", lines, tt.wantErr)
			}
			id, ok := c.PasskeyRPID()
			if id != tt.wantID || ok != (tt.wantID != "") {
				t.Errorf("PasskeyRPID() = %q, %v; want %q", id, ok, tt.wantID)
			}
		})
	}
}

func TestWebAuthnOriginAndName(t *testing.T) {
	c := Default()
	c.PublicURL = "https://Auth.Example.com:8443"
	if got, want := c.PasskeyOrigin(), "https://auth.example.com:8443"; got != want {
		t.Errorf("PasskeyOrigin() = %q; want %q", got, want)
	}
	if got, want := c.PasskeyRPName(), "lacop (Auth.Example.com)"; got != want {
		t.Errorf("PasskeyRPName() = %q; want %q", got, want)
	}
	c.WebAuthn.RPName = "Example Inc."
	if got := c.PasskeyRPName(); got != "Example Inc." {
		t.Errorf("PasskeyRPName() with rp_name = %q; want it", got)
	}
}
