package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var start = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

func TestSelfSignedMakesFor(t *testing.T) {
	tests := []struct {
		hosts []string
		ips   []string
		dns   []string
	}{
		{[]string{"192.168.1.20"}, []string{"192.168.1.20"}, nil},
		{[]string{"192.168.1.20", "0:0:0:0:0:0:0:1"}, []string{"192.168.1.20", "::1"}, nil},
		{[]string{"Home.Lan", "192.168.1.20"}, []string{"192.168.1.20"}, []string{"home.lan"}},
		{[]string{"localhost", "127.0.0.1", "localhost"}, []string{"127.0.0.1"}, []string{"localhost"}},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		c, err := SelfSigned(dir, tt.hosts, start)
		if err != nil {
			t.Fatalf("SelfSigned(%q): %v", tt.hosts, err)
		}
		var ips []string
		for _, ip := range c.Leaf.IPAddresses {
			ips = append(ips, ip.String())
		}
		if !c.Made || !slices.Equal(ips, tt.ips) || !slices.Equal(c.Leaf.DNSNames, tt.dns) {
			t.Errorf("SelfSigned(%q) = made %v, IPs %q, names %q; want made, %q, %q", tt.hosts, c.Made, ips, c.Leaf.DNSNames, tt.ips, tt.dns)
		}
		if k, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("SelfSigned(%q): key %T; want ECDSA P-256", tt.hosts, c.Leaf.PublicKey)
		}
		if got := c.Leaf.NotAfter.Sub(start); got != Validity {
			t.Errorf("SelfSigned(%q): valid for %v; want %v", tt.hosts, got, Validity)
		}
		if c.Leaf.IsCA || !slices.Contains(c.Leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			t.Errorf("SelfSigned(%q): IsCA %v, ExtKeyUsage %v; want a server certificate, not a CA", tt.hosts, c.Leaf.IsCA, c.Leaf.ExtKeyUsage)
		}
		// It verifies for each host with itself as the only root.
		roots := x509.NewCertPool()
		roots.AddCert(c.Leaf)
		for _, h := range tt.hosts {
			if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: start}); err != nil {
				t.Errorf("SelfSigned(%q): does not verify for %s: %v", tt.hosts, h, err)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, KeyFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("SelfSigned(%q): key file %v, mode %v; want 0600", tt.hosts, err, fi.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
			t.Errorf("SelfSigned(%q) left %q", tt.hosts, left)
		}
	}
}

// TestSelfSignedKeeps: the kept certificate is used while it fits, and
// made again when the hosts change, when it nears its end, when it is past
// it, and when its files are damaged.
func TestSelfSignedKeeps(t *testing.T) {
	hosts := []string{"192.168.1.20", "home.lan"}
	tests := []struct {
		name  string
		hosts []string
		now   time.Time
		spoil func(dir string)
		made  bool
	}{
		{"same hosts", hosts, start.Add(time.Hour), nil, false},
		{"same hosts in another order and case", []string{"HOME.lan", "192.168.1.20"}, start, nil, false},
		{"eleven months later", hosts, start.Add(Validity - renewBefore - time.Hour), nil, false},
		{"within 30 days of the end", hosts, start.Add(Validity - renewBefore + time.Hour), nil, true},
		{"expired", hosts, start.Add(Validity + time.Hour), nil, true},
		{"clock before it", hosts, start.Add(-2 * time.Hour), nil, true},
		{"host changed", []string{"192.168.1.21", "home.lan"}, start, nil, true},
		{"host added", append([]string{"10.0.0.1"}, hosts...), start, nil, true},
		{"host dropped", hosts[:1], start, nil, true},
		{"certificate damaged", hosts, start, func(dir string) { os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644) }, true},
		{"key gone", hosts, start, func(dir string) { os.Remove(filepath.Join(dir, KeyFile)) }, true},
		{"key of another pair", hosts, start, func(dir string) {
			other := t.TempDir()
			if _, err := SelfSigned(other, hosts, start); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(other, KeyFile))
			os.WriteFile(filepath.Join(dir, KeyFile), data, 0o600)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := SelfSigned(dir, hosts, start)
			if err != nil {
				t.Fatal(err)
			}
			if tt.spoil != nil {
				tt.spoil(dir)
			}
			c, err := SelfSigned(dir, tt.hosts, tt.now)
			if err != nil {
				t.Fatalf("SelfSigned: %v", err)
			}
			same := bytes.Equal(c.Leaf.Raw, first.Leaf.Raw)
			if c.Made != tt.made || same == tt.made {
				t.Errorf("SelfSigned(%q, %v) = made %v, same certificate %v; want made %v", tt.hosts, tt.now, c.Made, same, tt.made)
			}
			if c.Fingerprint == first.Fingerprint && tt.made {
				t.Errorf("fingerprint unchanged for a new certificate")
			}
			onDisk, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
			if err != nil || !bytes.Equal(onDisk.Leaf.Raw, c.Leaf.Raw) {
				t.Errorf("kept files: %v, same as returned %v; want the returned pair", err, err == nil && bytes.Equal(onDisk.Leaf.Raw, c.Leaf.Raw))
			}
		})
	}
}

func TestSelfSignedErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := SelfSigned(dir, nil, start); err == nil {
		t.Errorf("SelfSigned with no host: nil error")
	}
	// A directory where the certificate should be cannot be read: it is
	// reported, not replaced.
	if err := os.Mkdir(filepath.Join(dir, CertFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := SelfSigned(dir, []string{"127.0.0.1"}, start); err == nil {
		t.Errorf("SelfSigned with a directory as its certificate file: nil error")
	}
	if _, err := SelfSigned(filepath.Join(dir, "missing"), []string{"127.0.0.1"}, start); err == nil {
		t.Errorf("SelfSigned in a missing directory: nil error")
	}
}

func TestFingerprint(t *testing.T) {
	if got, want := fingerprint([]byte("x")), "2D:71:16:42:B7:26:B0:44:01:62:7C:A9:FB:AC:32:F5:C8:53:0F:B1:90:3C:C4:DB:02:25:87:17:92:1A:48:81"; got != want {
		t.Errorf("fingerprint(%q) = %q; want %q", "x", got, want)
	}
}
