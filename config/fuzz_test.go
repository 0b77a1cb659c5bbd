package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any file, environment value or flag either loads into a
// configuration that passes Validate, or is refused with a non-empty list
// of errors that never echoes the password of a storage URL. Nothing
// panics.
func FuzzLoad(f *testing.F) {
	for _, seed := range []struct {
		file, key, value string
	}{
		{fullFile, "session.lifetime", "1h"},
		{"storage: {driver: postgres}", "storage.postgres_url", "postgres://u:hunter2@db/x"},
		{"listen: [", "storage.redis_url", "redis://:hunter2@cache:6379/0?x"},
		{"session:\n  lifetime: -1h\n", "regulation.window", "0"},
		{"access_control:\n  rules: [{domain: '*', policy: deny}]\n", "access_control.rules", "[{}]"},
		{"\x00\xff", "server.trusted_proxies", "10.0.0.0/33"},
		{"a: &a [*a, *a]\nb: *a\n", "log.level", "loud"},
		{"oidc:\n  clients: [{id: a, public: true, redirect_uris: ['http://localhost/cb']}]\n", "oidc.clients", "[{id: b, secret: $plaintext$x}]"},
	} {
		f.Add(seed.file, seed.key, seed.value)
	}
	keys := Keys()
	f.Fuzz(func(t *testing.T, file, key, value string) {
		path := filepath.Join(t.TempDir(), "lacop.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		src := Source{File: path, Environ: []string{"LACOP_X=" + value}, Flags: map[string]string{}}
		for _, k := range keys {
			if k == key {
				src.Environ = append(src.Environ, EnvName(k)+"="+value)
				src.Flags[k] = value
			}
		}
		cfg, _, err := Load(src)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Load accepted a configuration that Validate refuses: %v", verr)
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) == 0 {
			t.Fatalf("Load error %T %v; want a non-empty Errors", err, err)
		}
		// A password of a storage URL never shows; other keys may echo
		// their (wrong) value, whatever it is.
		urlKey := key == "storage.postgres_url" || key == "storage.redis_url"
		if urlKey && strings.Contains(value, "hunter2") && !strings.Contains(file, "hunter2") &&
			strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error shows a password: %v", err)
		}
	})
}
