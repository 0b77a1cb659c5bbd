// Package mailpittest gives tests a real SMTP server: a mailpit process of
// their own (github.com/axllent/mailpit), on free ports, read back through
// its HTTP API. Without mailpit the test skips, except in CI, which
// installs it (.ci/run).
package mailpittest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop/tlscert"
	"github.com/lacop/lacop/tooltest"
)

// Install is the command that installs mailpit.
const Install = "go install github.com/axllent/mailpit@v1.33.1"

// Options choose how the server speaks SMTP.
type Options struct {
	// STARTTLS offers and requires STARTTLS with a certificate for
	// 127.0.0.1 and localhost (CertPool trusts it).
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (smtps).
	ImplicitTLS bool
	// Users, when set, are the only logins accepted; otherwise any login,
	// or none, is.
	Users map[string]string
	// Recipients, when set, is a regular expression: other recipients are
	// refused for good (550).
	Recipients string
}

// Server is one mailpit.
type Server struct {
	t          testing.TB
	bin, dir   string
	args       []string
	SMTPPort   int
	HTTPPort   int
	certPEM    []byte
	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	out        bytes.Buffer
	httpClient *http.Client
}

// Start runs a mailpit for the test; it is killed when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, bin: tooltest.GoInstalled(t, "mailpit", Install), dir: t.TempDir(),
		SMTPPort: freePort(t), HTTPPort: freePort(t), httpClient: &http.Client{Timeout: 10 * time.Second}}
	s.args = []string{"--smtp", "127.0.0.1:" + strconv.Itoa(s.SMTPPort), "--listen", "127.0.0.1:" + strconv.Itoa(s.HTTPPort),
		"--database", filepath.Join(s.dir, "mailpit.db"), "--smtp-disable-rdns", "--disable-version-check", "--quiet"}
	if o.STARTTLS || o.ImplicitTLS {
		if _, err := tlscert.SelfSigned(s.dir, []string{"127.0.0.1", "localhost"}, time.Now()); err != nil {
			t.Fatalf("mailpittest: certificate: %v", err)
		}
		certFile, keyFile := filepath.Join(s.dir, tlscert.CertFile), filepath.Join(s.dir, tlscert.KeyFile)
		var err error
		if s.certPEM, err = os.ReadFile(certFile); err != nil {
			t.Fatal(err)
		}
		s.args = append(s.args, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile)
		if o.ImplicitTLS {
			s.args = append(s.args, "--smtp-require-tls")
		} else {
			s.args = append(s.args, "--smtp-require-starttls")
		}
	}
	if len(o.Users) > 0 {
		var lines bytes.Buffer
		for u, p := range o.Users {
			fmt.Fprintf(&lines, "%s:%s\n", u, p)
		}
		file := filepath.Join(s.dir, "smtp-users")
		if err := os.WriteFile(file, lines.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		s.args = append(s.args, "--smtp-auth-file", file)
		if !o.STARTTLS && !o.ImplicitTLS {
			s.args = append(s.args, "--smtp-auth-allow-insecure")
		}
	} else {
		s.args = append(s.args, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	}
	if o.Recipients != "" {
		s.args = append(s.args, "--smtp-allowed-recipients", o.Recipients)
	}
	s.Up()
	t.Cleanup(s.Down)
	return s
}

// SMTPAddr is host:port of the SMTP side.
func (s *Server) SMTPAddr() string { return "127.0.0.1:" + strconv.Itoa(s.SMTPPort) }

// CertPool trusts the server's certificate (with STARTTLS or ImplicitTLS).
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.certPEM)
	return pool
}

// TLSConfig trusts the server's certificate, for a client of it.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Up starts the server (again, on the same ports and mailbox) and returns
// once it answers; it fails the test if it does not.
func (s *Server) Up() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.out.Reset()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("mailpittest: start mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if s.answers() {
			s.cmd, s.exited = cmd, exited
			return
		}
		select {
		case <-exited:
			s.t.Fatalf("mailpittest: mailpit exited at start:\n%s", s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			s.t.Fatalf("mailpittest: mailpit did not answer within 20s:\n%s", s.out.String())
		}
	}
}

// Down kills the server: the SMTP port then refuses connections.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

func (s *Server) answers() bool {
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	res, err := s.httpClient.Get(s.api("/api/v1/info"))
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func (s *Server) api(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.HTTPPort) + path
}

// Address is a mail address as mailpit reports it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Message is one message received, read back in full.
type Message struct {
	ID      string              `json:"ID"`
	From    Address             `json:"From"`
	To      []Address           `json:"To"`
	Subject string              `json:"Subject"`
	Text    string              `json:"Text"`
	HTML    string              `json:"HTML"`
	Date    time.Time           `json:"Date"`
	Headers map[string][]string `json:"-"`
}

// Messages returns every message received so far, oldest first, in full.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	s.get(t, "/api/v1/messages?limit=1000", &list)
	out := make([]Message, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists newest first
		var m Message
		s.get(t, "/api/v1/message/"+list.Messages[i].ID, &m)
		s.get(t, "/api/v1/message/"+list.Messages[i].ID+"/headers", &m.Headers)
		out = append(out, m)
	}
	return out
}

// To returns the messages received for addr, oldest first.
func (s *Server) To(t testing.TB, addr string) []Message {
	t.Helper()
	var out []Message
	for _, m := range s.Messages(t) {
		for _, a := range m.To {
			if a.Address == addr {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait waits up to timeout until addr has received at least n messages,
// and returns them; it fails the test if they do not come.
func (s *Server) Wait(t testing.TB, addr string, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.To(t, addr)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpittest: %d message(s) for %s after %v; want %d", len(got), addr, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) get(t testing.TB, path string, v any) {
	t.Helper()
	res, err := s.httpClient.Get(s.api(path))
	if err != nil {
		t.Fatalf("mailpittest: GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mailpittest: GET %s = %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("mailpittest: GET %s: %v", path, err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
