// Package tlscert makes and keeps the self-signed certificate lacop serves
// HTTPS with when asked to (serve --tls-self-signed). Its session cookie is
// Secure, so a portal reached from another machine must be https; on a home
// network nobody has a certificate for 192.168.1.20, and one made here,
// trusted once in the browser, lets a trial over the LAN work in one
// command.
package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files the certificate and its key are kept in, in the data directory.
const (
	CertFile = "tls-self-signed.crt"
	KeyFile  = "tls-self-signed.key"
)

// Validity is how long a new certificate is valid. A year: a browser asks
// again to trust it when it is made again, so not often; and not much
// longer, which browsers frown on even for certificates they are told to
// trust.
const Validity = 365 * 24 * time.Hour

// renewBefore makes a certificate again at start when it would expire
// within this, so that a server started near the end of the year does not
// stop working while it runs.
const renewBefore = 30 * 24 * time.Hour

// Cert is a certificate kept in a data directory.
type Cert struct {
	tls.Certificate
	// Made is true when it was made by this call, false when the kept one
	// still fitted.
	Made bool
	// Fingerprint is the certificate's SHA-256, as browsers show it, so a
	// person can check the one a warning is about.
	Fingerprint string
}

// SelfSigned returns the certificate kept in dir for hosts (IP addresses
// or DNS names), making a new one — ECDSA P-256, valid for Validity from
// now — when none is kept, when the kept one cannot be read or its key
// does not match, when it names other hosts than hosts, or when it expires
// within 30 days. The key file is readable by its owner only. Both files
// are written whole (a temporary file renamed) so that a crash leaves the
// old pair or a pair that is made again at the next start.
func SelfSigned(dir string, hosts []string, now time.Time) (*Cert, error) {
	if len(hosts) == 0 {
		return nil, errors.New("tlscert: no host to make a certificate for")
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && fits(c.Leaf, hosts, now) {
		return &Cert{Certificate: c, Fingerprint: fingerprint(c.Leaf.Raw)}, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) && !isPairError(err) {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	certPEM, keyPEM, err := create(hosts, now)
	if err != nil {
		return nil, err
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	return &Cert{Certificate: c, Made: true, Fingerprint: fingerprint(c.Leaf.Raw)}, nil
}

// isPairError reports whether err says the files hold no usable pair (not
// PEM, not a certificate, a key for another certificate), rather than that
// they could not be read: such files are made again, unreadable ones are
// reported.
func isPairError(err error) bool {
	var pe *fs.PathError
	return !errors.As(err, &pe)
}

// fits reports whether c names exactly hosts and stays valid long enough.
func fits(c *x509.Certificate, hosts []string, now time.Time) bool {
	if c == nil || now.Before(c.NotBefore) || now.Add(renewBefore).After(c.NotAfter) {
		return false
	}
	var have []string
	for _, ip := range c.IPAddresses {
		have = append(have, ip.String())
	}
	have = append(have, c.DNSNames...)
	want := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		want = append(want, strings.ToLower(h))
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(slices.Compact(have), slices.Compact(want))
}

// create makes a new key and a certificate signed by it for hosts.
func create(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"lacop self-signed"}, CommonName: hosts[0]},
		// An hour back, so a client whose clock is a little behind accepts it.
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h = strings.ToLower(h); !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFile replaces path with data: written to a temporary file with mode
// perm in the same directory, synced, then renamed over path.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tlscert: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename, there is nothing left to remove
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("tlscert: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// fingerprint is a certificate's SHA-256 in the AB:CD:… form browsers show.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b bytes.Buffer
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}
