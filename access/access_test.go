package access_test

import (
	"testing"

	"github.com/lacop/lacop/access"
)

func TestDecide(t *testing.T) {
	rules, err := access.New("one_factor", []access.Rule{
		{Domain: "public.example.com", Policy: "bypass"},
		{Domain: "admin.example.com", Policy: "two_factor", Groups: []string{"admins"}},
		{Domain: "admin.example.com", Policy: "one_factor", Resources: []string{"/public"}},
		{Domain: "ops.example.com", Policy: "one_factor", Groups: []string{"ops"}},
		{Domain: "ops.example.com", Policy: "two_factor", Groups: []string{"admins"}},
		{Domain: "*.example.com", Policy: "two_factor", Resources: []string{"/private", "/secret/"}},
		{Domain: "*.internal.example.net", Policy: "deny"},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := &access.Subject{Groups: []string{"dev", "admins"}}
	dev := &access.Subject{Groups: []string{"dev"}}
	tests := []struct {
		host, path string
		subject    *access.Subject
		want       access.Policy
	}{
		{"public.example.com", "/", nil, access.Bypass},
		{"PUBLIC.Example.COM", "/x", dev, access.Bypass},
		{"public.example.com:8443", "/", nil, access.Bypass},
		{"admin.example.com", "/", admin, access.TwoFactor},
		{"admin.example.com", "/", dev, access.Deny},                // not in the group: the next rule
		{"admin.example.com.", "/", dev, access.Deny},               // the same host with DNS's trailing dot
		{"ADMIN.example.com.:443", "/", dev, access.Deny},           // and with case and a port
		{"admin.example.com", "/", nil, access.TwoFactor},           // anonymous: sign in first
		{"app.example.com", "/private/x", dev, access.TwoFactor},    // subdomain and resource prefix
		{"app.example.com", "/privateer", dev, access.TwoFactor},    // a prefix, not a path segment
		{"app.example.com", "/secret", dev, access.TwoFactor},       // "/secret/" also covers /secret, served as /secret/
		{"app.example.com", "/secretary", dev, access.OneFactor},    // but not a longer name
		{"app.example.com", "/", dev, access.OneFactor},             // resource not matched: default
		{"example.com", "/private", dev, access.OneFactor},          // *.example.com is not example.com
		{"evilexample.com", "/private", dev, access.OneFactor},      // nor a host that merely ends the same
		{"a.b.internal.example.net", "/", nil, access.Deny},         // deep subdomain
		{"internal.example.net", "/", nil, access.OneFactor},        // the apex is not a subdomain
		{"public.example.com.evil.net", "/", nil, access.OneFactor}, // exact host only
		{"[2001:db8::1]:443", "/", nil, access.OneFactor},           // IPv6 literal with port
		{"admin.example.com..", "/", admin, access.Deny},            // not a host: never the default policy
		{"public.example.com..", "/", nil, access.Deny},
		{".public.example.com", "/", nil, access.Deny},
	}
	for _, tt := range tests {
		path, err := access.ParsePath(tt.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.path, err)
		}
		if got := rules.Decide(tt.host, &path, tt.subject); got != tt.want {
			t.Errorf("Decide(%q, %q, %v) = %v; want %v", tt.host, tt.path, tt.subject, got, tt.want)
		}
	}
}

func TestNewRefusesUnknownPolicy(t *testing.T) {
	if _, err := access.New("maybe", nil); err == nil {
		t.Error("New with default policy \"maybe\": no error")
	}
	if _, err := access.New("deny", []access.Rule{{Domain: "a.example.com", Policy: "allow"}}); err == nil {
		t.Error("New with rule policy \"allow\": no error")
	}
	for _, name := range []string{"bypass", "one_factor", "two_factor", "deny"} {
		if _, err := access.ParsePolicy(name); err != nil {
			t.Errorf("ParsePolicy(%q): %v", name, err)
		}
	}
}
