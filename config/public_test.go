package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var listenURLTests = []struct {
	listen   string
	tls      bool
	want     string
	wildcard bool
}{
	{"127.0.0.1:9540", false, "http://127.0.0.1:9540", false},
	{"127.0.0.1:9540", true, "https://127.0.0.1:9540", false},
	{"0.0.0.0:9540", false, "http://127.0.0.1:9540", true},
	{":9540", false, "http://127.0.0.1:9540", true},
	{"[::]:9540", false, "http://127.0.0.1:9540", true},
	{"[::]:9443", true, "https://127.0.0.1:9443", true},
	{"[::1]:9540", false, "http://[::1]:9540", false},
	{"Auth.Example.com:8443", true, "https://auth.example.com:8443", false},
	{"localhost:80", false, "http://localhost", false},
	{"192.0.2.2:443", true, "https://192.0.2.2", false},
	{"[2001:db8::1]:443", true, "https://[2001:db8::1]", false},
	{"[2001:db8::1]:80", true, "https://[2001:db8::1]:80", false},
	{"127.0.0.1:0", false, "http://127.0.0.1:0", false},
	{"nope", false, "", false},
}

func TestListenURL(t *testing.T) {
	for _, tt := range listenURLTests {
		got, wildcard := ListenURL(tt.listen, tt.tls)
		if got != tt.want || wildcard != tt.wildcard {
			t.Errorf("ListenURL(%q, %v) = %q, %v; want %q, %v", tt.listen, tt.tls, got, wildcard, tt.want, tt.wildcard)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"192.0.2.2": false, "10.0.0.1": false, "::": false, "0.0.0.0": false, "auth.example.com": false,
		"localhost.example.com": false, "fe80::1": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", host, got, want)
		}
	}
}

// writeKeyPair writes a self-signed certificate and its key into dir and
// returns their paths.
func writeKeyPair(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		DNSNames: []string{"auth.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestSchemeAndTLS: an http public URL off this machine is refused with
// what to do, on the key the user set; TLS files are read and must be a
// matching pair; caps must be sensible.
func TestSchemeAndTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeKeyPair(t, dir)
	otherCert, otherKey := writeKeyPair(t, t.TempDir())
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name  string
		flags map[string]string
		want  []string // substrings of the one error line; nil: valid
	}{
		{"http loopback", map[string]string{"public_url": "http://127.0.0.1:9544"}, nil},
		{"http localhost", map[string]string{"public_url": "http://localhost:9544"}, nil},
		{"http ipv6 loopback", map[string]string{"public_url": "http://[::1]:9544"}, nil},
		{"https LAN", map[string]string{"public_url": "https://192.0.2.2:9544"}, nil},
		{"http LAN", map[string]string{"public_url": "http://192.0.2.2:9544"},
			[]string{`public_url: "http://192.0.2.2:9544": plain http works only on this machine`, "https", "server.tls_cert", "--tls-self-signed", "[flag]"}},
		{"http name", map[string]string{"public_url": "http://auth.example.com"},
			[]string{`public_url: "http://auth.example.com": plain http`}},
		{"listen on LAN without public_url", map[string]string{"listen": "192.0.2.2:9544"},
			[]string{`listen: "192.0.2.2:9544": public_url is not set, so it follows listen: http://192.0.2.2:9544; plain http`, "[flag]"}},
		{"listen on LAN with TLS", map[string]string{"listen": "192.0.2.2:9544", "server.tls_self_signed": "true"}, nil},
		{"wildcard listen", map[string]string{"listen": "0.0.0.0:9544"}, nil},
		{"http with TLS", map[string]string{"public_url": "http://127.0.0.1:9443", "server.tls_self_signed": "true"},
			[]string{`public_url: "http://127.0.0.1:9443": must be https`}},
		{"tls pair", map[string]string{"server.tls_cert": cert, "server.tls_key": key}, nil},
		{"tls cert only", map[string]string{"server.tls_cert": cert}, []string{"server.tls_cert: needs server.tls_key as well [flag]"}},
		{"tls key only", map[string]string{"server.tls_key": key}, []string{"server.tls_key: needs server.tls_cert as well [flag]"}},
		{"tls missing file", map[string]string{"server.tls_cert": missing, "server.tls_key": key},
			[]string{`server.tls_cert: "` + missing + `": cannot read: no such file or directory [flag]`}},
		{"tls mismatched", map[string]string{"server.tls_cert": cert, "server.tls_key": otherKey},
			[]string{"server.tls_key: ", "not a key for server.tls_cert", "does not match"}},
		{"tls cert is a key", map[string]string{"server.tls_cert": otherKey, "server.tls_key": otherKey},
			[]string{"not a key for server.tls_cert"}},
		{"tls and self-signed", map[string]string{"server.tls_cert": otherCert, "server.tls_key": otherKey, "server.tls_self_signed": "true"},
			[]string{"server.tls_self_signed: must not be set with server.tls_cert"}},
		{"caps", map[string]string{"server.max_connections": "100", "server.max_connections_per_ip": "100"}, nil},
		{"negative cap", map[string]string{"server.max_connections": "-1"}, []string{`server.max_connections: "-1": must not be negative`}},
		{"negative per-ip cap", map[string]string{"server.max_connections_per_ip": "-1"}, []string{`server.max_connections_per_ip: "-1": must not be negative`}},
		{"per-ip over total", map[string]string{"server.max_connections": "10", "server.max_connections_per_ip": "11"},
			[]string{`server.max_connections_per_ip: "11": must not be more than server.max_connections ("10")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(Source{Flags: tt.flags})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load(%v) = %v; want no error", tt.flags, err)
				}
				return
			}
			lines := errorLines(t, err)
			if len(lines) != 1 {
				t.Fatalf("Load(%v) = %q; want one error", tt.flags, lines)
			}
			for _, w := range tt.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("Load(%v) = %q; want it to contain %q", tt.flags, lines[0], w)
				}
			}
			if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "PRIVATE KEY") }) {
				t.Errorf("error shows key material: %q", lines)
			}
		})
	}
}
