package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lacop/lacop/password"
)

// hashSecret runs lacop oidc hash-secret with stdin, keeping stdout (what
// a script captures) apart from stderr.
func hashSecret(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	err = m.Execute(context.Background(), append([]string{"oidc", "hash-secret"}, args...))
	if cerr := m.Close(); cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	return out.String(), errOut.String(), err
}

// verifies reports whether the server's hasher takes secret for hash.
func verifies(t *testing.T, secret, hash string) bool {
	t.Helper()
	ok, err := passwordHasher().Verify(t.Context(), secret, hash)
	if err != nil {
		t.Fatalf("Verify(%q): %v", hash, err)
	}
	return ok
}

// TestOIDCHashSecret: the one line printed is a hash the server verifies
// the secret against, and the secret itself is printed nowhere.
func TestOIDCHashSecret(t *testing.T) {
	const secret = "grafana-client-secret"
	// Without a final newline (printf, a file without one); and only the
	// first line, without its CRLF.
	for _, stdin := range []string{secret, secret + "\r\nsecond line\n"} {
		stdout, stderr, err := hashSecret(t, stdin)
		if err != nil {
			t.Fatalf("hash-secret with stdin %q: %v\n%s", stdin, err, stderr)
		}
		hash, ok := strings.CutSuffix(stdout, "\n")
		if !ok || strings.Contains(hash, "\n") || !strings.HasPrefix(hash, "$argon2id$") {
			t.Fatalf("hash-secret printed %q; want one line with a PHC hash", stdout)
		}
		if err := password.CheckHash(hash); err != nil {
			t.Errorf("CheckHash(%q) = %v", hash, err)
		}
		if !verifies(t, secret, hash) {
			t.Errorf("hash-secret with stdin %q: %q does not verify %q", stdin, hash, secret)
		}
		if passwordHasher().NeedsRehash(hash) {
			t.Errorf("%q is not made with the server's parameters", hash)
		}
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("hash-secret showed the secret: %q %q", stdout, stderr)
		}
	}
}

// TestOIDCHashSecretGenerate: --generate prints a fresh 32-byte secret
// (base64url, no padding) on the first line and its hash on the second,
// and reads nothing.
func TestOIDCHashSecretGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := range 2 {
		stdout, stderr, err := hashSecret(t, "not read\n", "--generate")
		if err != nil {
			t.Fatalf("hash-secret --generate: %v\n%s", err, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("hash-secret --generate printed %q; want two lines", stdout)
		}
		secret, ok1 := strings.CutPrefix(lines[0], "secret: ")
		hash, ok2 := strings.CutPrefix(lines[1], "hash:   ")
		if !ok1 || !ok2 {
			t.Fatalf("hash-secret --generate printed %q; want \"secret: …\" then \"hash:   …\"", stdout)
		}
		if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != 32 {
			t.Errorf("secret %q: %d bytes, %v; want 32 bytes of unpadded base64url", secret, len(b), err)
		}
		// Argon2id is slow (more so under -race): the second run is only
		// for a second secret.
		if i == 0 && !verifies(t, secret, hash) {
			t.Errorf("hash %q does not verify the secret %q printed with it", hash, secret)
		}
		if i == 0 && verifies(t, "not read", hash) {
			t.Errorf("--generate hashed stdin")
		}
		if seen[secret] {
			t.Errorf("--generate made %q twice", secret)
		}
		seen[secret] = true
	}
}

func TestOIDCHashSecretEmpty(t *testing.T) {
	for _, stdin := range []string{"", "\n", "\r\n", "  \t\n", "\nsecret on the second line\n"} {
		stdout, _, err := hashSecret(t, stdin)
		if err == nil || !strings.Contains(err.Error(), "no secret on stdin") {
			t.Errorf("hash-secret with stdin %q = %v; want the error: no secret on stdin", stdin, err)
		}
		if stdout != "" {
			t.Errorf("hash-secret with stdin %q printed %q; want nothing", stdin, stdout)
		}
	}
	if _, _, err := hashSecret(t, "s3cret\n", "s3cret"); err == nil {
		t.Errorf("hash-secret took the secret as an argument")
	}
}

// TestConfigCheckClients: config check refuses an app's plain-http
// redirect URI off loopback, naming the key and the URI; takes the hash
// hash-secret printed; and warns about a secret in plain text.
func TestConfigCheckClients(t *testing.T) {
	dir := t.TempDir()
	stdout, _, err := hashSecret(t, "grafana-client-secret\n")
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSpace(stdout)
	config := func(secret, redirect string) string {
		path := filepath.Join(t.TempDir(), "lacop.yaml")
		yaml := "oidc:\n  clients:\n    - id: grafana\n      secret: \"" + secret + "\"\n      redirect_uris: [\"" + redirect + "\"]\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	const uri = "http://grafana.example.com/login/generic_oauth"
	out, err := run(t, dir, "", "--config", config(hash, uri), "config", "check")
	if err == nil || !strings.Contains(err.Error(), "oidc.clients[0].redirect_uris[0]") ||
		!strings.Contains(err.Error(), `"`+uri+`": must be https`) {
		t.Errorf("config check with redirect URI %s = %v\n%s; want an error naming the key and the URI", uri, err, out)
	}

	out, err = run(t, dir, "", "--config", config(hash, "https://grafana.example.com/login/generic_oauth"), "config", "check")
	if err != nil || strings.Contains(out, "warning") {
		t.Errorf("config check with the hash hash-secret printed = %v\n%s; want valid, no warning", err, out)
	}

	out, err = run(t, dir, "", "--config", config("$plaintext$grafana-client-secret", "http://localhost:3000/cb"), "config", "check")
	if err != nil || !strings.Contains(out, "warning: oidc.clients[0].secret:") || !strings.Contains(out, "lacop oidc hash-secret") ||
		strings.Contains(out, "grafana-client-secret") {
		t.Errorf("config check with a plaintext secret = %v\n%s; want valid, a warning naming the key and hash-secret, not the secret", err, out)
	}
}
