package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The self-signed certificate and its key, in the data directory.
const (
	selfSignedCert = "tls-self-signed.crt"
	selfSignedKey  = "tls-self-signed.key"
)

// tlsClient speaks https to the portal on 127.0.0.1:port whatever host its
// URLs name (so a test can be a browser on the LAN reaching 192.0.2.2),
// trusting only the certificate in certPEM, and keeps cookies as a
// browser does: Secure ones only over https.
func tlsClient(t *testing.T, port string, certPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatalf("no certificate in %q", certPEM)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Jar:     jar,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
			},
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// readCert reads a PEM certificate file.
func readCert(t *testing.T, path string) ([]byte, *x509.Certificate) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return data, c
}

// signInOverTLS signs in as a browser on the portal's origin would, with
// the client's cookie jar only, and checks the session cookie is Secure
// and comes back: /api/me answers 200 with nothing but the jar.
func signInOverTLS(t *testing.T, p *portal, email string) {
	t.Helper()
	origin := map[string]string{"Origin": p.URL, "Sec-Fetch-Site": "same-origin"}
	res := p.do(request{method: "POST", path: "/api/login", header: origin,
		body: map[string]any{"email": email, "password": testPassword}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in over https on %s = %d %s", p.URL, res.StatusCode, res.Body)
	}
	c := sessionCookie(res.Response)
	if c == nil || !c.Secure {
		t.Fatalf("sign-in over https on %s: session cookie %v; want a Secure one", p.URL, res.Header["Set-Cookie"])
	}
	if got := p.do(request{method: "GET", path: "/api/me"}).StatusCode; got != http.StatusOK {
		t.Errorf("GET /api/me with the browser's cookie jar on %s = %d; want 200", p.URL, got)
	}
	if got := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("over https on %s: Strict-Transport-Security = %q; want it set", p.URL, got)
	}
}

// TestSelfSignedTLS: serve --tls-self-signed makes a certificate for the
// public URL's host (and the listen host), keeps it in the data directory
// with its key readable by the owner only, and serves https with it, so a
// browser that trusts it signs in — on this machine and from the LAN. A
// restart keeps the certificate; another host gets a new one.
func TestSelfSignedTLS(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	tests := []struct {
		name, public string
		ips          []string
		dns          []string
	}{
		{"public_url follows listen", "", []string{"127.0.0.1"}, nil},
		{"localhost", "https://localhost:" + port, []string{"127.0.0.1"}, []string{"localhost"}},
		{"LAN address", "https://192.0.2.2:" + port, []string{"192.0.2.2", "127.0.0.1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--listen", "127.0.0.1:" + port, "--tls-self-signed"}
			want := "https://127.0.0.1:" + port
			if tt.public != "" {
				args, want = append(args, "--public-url", tt.public), tt.public
			}
			p := startServe(t, nil, args...)
			if p.URL != "https://127.0.0.1:"+port {
				t.Errorf("listening on %s; want https://127.0.0.1:%s", p.URL, port)
			}
			if base, _ := printedSetup(t, p.out.String()); base != want {
				t.Errorf("setup link on %s; want %s", base, want)
			}
			certPEM, cert := readCert(t, filepath.Join(p.DataDir, selfSignedCert))
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.ips) || !slices.Equal(cert.DNSNames, tt.dns) {
				t.Errorf("certificate for IPs %q, names %q; want %q, %q", ips, cert.DNSNames, tt.ips, tt.dns)
			}
			if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok {
				t.Errorf("certificate key %T; want ECDSA", cert.PublicKey)
			}
			if fi, err := os.Stat(filepath.Join(p.DataDir, selfSignedKey)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
			}
			p.URL, p.client = want, tlsClient(t, port, certPEM)
			p.addUser("tls@example.com")
			signInOverTLS(t, p, "tls@example.com")
			p.stop()

			again := startServeIn(t, p.DataDir, nil, args...)
			if kept, _ := readCert(t, filepath.Join(p.DataDir, selfSignedCert)); !bytes.Equal(kept, certPEM) {
				t.Errorf("restart on the same host made a new certificate")
			}
			again.stop()
		})
	}

	// Another host: the certificate is made again, for it.
	dir := filepath.Join(t.TempDir(), "data")
	p := startServeIn(t, dir, nil, "--listen", "127.0.0.1:"+port, "--tls-self-signed", "--public-url", "https://192.0.2.2:"+port)
	first, _ := readCert(t, filepath.Join(dir, selfSignedCert))
	p.stop()
	p = startServeIn(t, dir, nil, "--listen", "127.0.0.1:"+port, "--tls-self-signed", "--public-url", "https://192.0.2.3:"+port)
	certPEM, cert := readCert(t, filepath.Join(dir, selfSignedCert))
	if bytes.Equal(certPEM, first) || len(cert.IPAddresses) == 0 || cert.IPAddresses[0].String() != "192.0.2.3" {
		t.Errorf("after the host changed: certificate for %v; want a new one for 192.0.2.3", cert.IPAddresses)
	}
	p.URL, p.client = "https://192.0.2.3:"+port, tlsClient(t, port, certPEM)
	p.addUser("moved@example.com")
	signInOverTLS(t, p, "moved@example.com")
}

// TestTLSCertFiles: server.tls_cert and server.tls_key serve https with the
// operator's certificate; public_url then follows listen with https.
func TestTLSCertFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "operator's"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, certPEM, 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)

	port := freePort(t)
	p := startServe(t, []string{"LACOP_SERVER_TLS_CERT=" + cert, "LACOP_SERVER_TLS_KEY=" + key}, "--listen", "127.0.0.1:"+port)
	if want := "https://127.0.0.1:" + port; p.URL != want {
		t.Errorf("listening on %s; want %s", p.URL, want)
	}
	if _, err := os.Stat(filepath.Join(p.DataDir, selfSignedCert)); err == nil {
		t.Errorf("a self-signed certificate was made beside the operator's")
	}
	p.client = tlsClient(t, port, certPEM)
	p.addUser("files@example.com")
	signInOverTLS(t, p, "files@example.com")
}

// TestPlainHTTPOffLoopbackRefused: an http public URL whose host is not
// this machine cannot sign anyone in (no Secure cookie over http); serve
// and config check refuse it, saying why and what to do, and serve writes
// nothing.
func TestPlainHTTPOffLoopbackRefused(t *testing.T) {
	port := freePort(t)
	public := "http://192.0.2.2:" + port
	data := filepath.Join(t.TempDir(), "data")
	for _, tt := range []struct {
		name string
		args []string
		key  string
	}{
		{"serve", []string{"serve", "--listen", "127.0.0.1:" + port, "--public-url", public, "--data", data}, "public_url"},
		{"config check", []string{"config", "check", "--public-url", public}, "public_url"},
		{"config check of a LAN listen", []string{"config", "check", "--listen", "192.0.2.2:" + port}, "listen"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		cmd := exec.CommandContext(ctx, binary, tt.args...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if _, ok := err.(*exec.ExitError); !ok || timedOut {
			t.Errorf("%s: %v; want a non-zero exit\n%s", tt.name, err, out)
			continue
		}
		for _, want := range []string{tt.key + ": ", "plain http works only on this machine", "Secure session cookie",
			"reverse proxy with TLS", "server.tls_cert", "--tls-self-signed"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s said %q; want it to contain %q", tt.name, out, want)
			}
		}
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("refused serve created its data directory")
	}
	// An http URL on this machine is fine: browsers keep Secure cookies on
	// loopback.
	for _, public := range []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://[::1]:" + port} {
		check := exec.Command(binary, "config", "check", "--public-url", public)
		check.Env = cleanEnv()
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("config check --public-url %s: %v %s; want valid", public, err, out)
		}
	}
}
