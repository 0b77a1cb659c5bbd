package config

import (
	"strings"
	"testing"
)

func TestCORSOrigins(t *testing.T) {
	for _, tt := range []struct {
		origin, want string // want: part of the problem, "" for none
	}{
		{"https://app.example.com", ""},
		{"https://app.example.com:8443", ""},
		{"http://localhost:5173", ""},
		{"http://127.0.0.1:3000", ""},
		{"http://app.example.com", "must be https"},
		{"*", "wildcards"},
		{"https://*.example.com", "wildcards"},
		{"https://app.example.com/", "trailing slash"},
		{"https://app.example.com/path", "without a path"},
		{"https://user@app.example.com", "without a path"},
		{"app.example.com", "must be an origin"},
		{"ftp://app.example.com", "must be an origin"},
		{"https://App.example.com", "lowercase"},
	} {
		c := Default()
		c.CORS.AllowedOrigins = []string{tt.origin}
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v; want accepted", tt.origin, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "cors.allowed_origins") || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v; want a cors.allowed_origins problem saying %q", tt.origin, err, tt.want)
		}
	}
}
