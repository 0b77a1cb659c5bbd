package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSessionSecret: whatever the Cookie header holds, the scan neither
// panics nor returns more than one cookie's value, and for a well-formed
// header with one session cookie it agrees with net/http.
func FuzzSessionSecret(f *testing.F) {
	const name = "__Host-lacop_session"
	for _, seed := range []string{
		"", name + "=abc", "a=1; " + name + "=abc; b=2", name + `="abc"`, name + "=a;" + name + "=b",
		"x" + name + "=1", name + "=", ";;;", name + "=\x00\xff", strings.Repeat("a=1; ", 100) + name + "=z",
	} {
		f.Add(seed)
	}
	s := &Server{cookieName: name}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		got := s.sessionSecret(r)
		if strings.Contains(got, ";") {
			t.Fatalf("sessionSecret(%q) = %q: spans cookies", header, got)
		}
		if got != "" && !strings.Contains(header, name+"=") {
			t.Fatalf("sessionSecret(%q) = %q without the cookie's name in the header", header, got)
		}
		if strings.Count(header, name) == 1 && canonicalCookies(header) {
			if c, err := r.Cookie(name); err == nil && isBase64URL(c.Value) && got != c.Value {
				t.Fatalf("sessionSecret(%q) = %q; net/http finds %q", header, got, c.Value)
			}
		}
	})
}

// canonicalCookies reports whether a Cookie header is written as browsers
// write it: name=value pairs joined by "; ", with no other whitespace or
// control characters. Only there must the scan agree with net/http, which
// also forgives spaces around "=" and line breaks no HTTP/1 header carries.
func canonicalCookies(h string) bool {
	for _, part := range strings.Split(h, "; ") {
		if !strings.Contains(part, "=") {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] <= ' ' || part[i] == 0x7f {
				return false
			}
		}
	}
	return true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// FuzzForwardedHeaders: an original request accepted from the forwarded
// headers (Traefik, Caddy) or from X-Original-URL (nginx) is always an
// absolute http(s) URL whose host is the one checked, with no user info,
// no whitespace or control characters, and a path from the root: what the
// access rules and the rd redirect see can never differ from what the
// proxy will request.
func FuzzForwardedHeaders(f *testing.F) {
	for _, seed := range [][4]string{
		{"https", "app.example.com", "/inbox?x=1", "https://app.example.com/inbox?x=1"},
		{"HTTP", "app.example.com:8080", "/", "http://app.example.com:8080"},
		{"https", "evil.com@app.example.com", "/", "https://u:p@app.example.com/"},
		{"javascript", "x", "//evil.com", "javascript:alert(1)"},
		{"https", "[::1]:443", "/a b", "https://[::1]/%2e%2e/"},
		{"https", "a.example.com\r\nX: y", "/\x00", "https://a.example.com\t/"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, proto, host, uri, original string) {
		r := &http.Request{Header: http.Header{}}
		r.Header.Set("X-Forwarded-Proto", proto)
		r.Header.Set("X-Forwarded-Host", host)
		r.Header.Set("X-Forwarded-Uri", uri)
		r.Header.Set("X-Original-URL", original)
		if o, _, err := forwarded(r); err == nil {
			checkOriginal(t, "forwarded", &o)
		}
		if o, _, err := originalURL(r); err == nil {
			checkOriginal(t, "X-Original-URL", &o)
		}
	})
}

func checkOriginal(t *testing.T, from string, o *original) {
	t.Helper()
	if o.scheme != "http" && o.scheme != "https" {
		t.Fatalf("%s: accepted scheme %q", from, o.scheme)
	}
	if !strings.HasPrefix(o.uri, "/") {
		t.Fatalf("%s: accepted request target %q", from, o.uri)
	}
	for _, part := range []string{o.host, o.uri} {
		for i := 0; i < len(part); i++ {
			if part[i] <= ' ' || part[i] == 0x7f {
				t.Fatalf("%s: accepted control or space in %q", from, part)
			}
		}
	}
	// What the rules and the login redirect take for the host is what a
	// URL parser takes for it: no user info, no other host. (The path may
	// hold escapes a parser refuses; it is matched as text.)
	u, err := url.Parse(o.scheme + "://" + o.host + "/")
	if err != nil {
		t.Fatalf("%s: accepted host %q, which does not parse: %v", from, o.host, err)
	}
	if u.User != nil || u.Host != o.host {
		t.Fatalf("%s: host %q parses to user %v, host %q", from, o.host, u.User, u.Host)
	}
}
