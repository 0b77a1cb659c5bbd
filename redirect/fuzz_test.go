package redirect

import (
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafe checks the properties of every accepted target: it comes back
// unchanged, holds no forbidden byte or escape, lands on an allowed host,
// and its path never starts, however often it is decoded, with a second
// slash.
func FuzzSafe(f *testing.F) {
	for _, s := range safeTargets {
		f.Add(s)
	}
	for _, s := range unsafeTargets {
		f.Add(s)
	}
	p := testPolicy(f)
	base, err := url.Parse(testPublicURL + "/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !p.Safe(s) {
			return
		}
		if p.Target(s, "/fallback") != s {
			t.Fatalf("Target(%q) did not return its input", s)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x21 || c == 0x7f || c >= 0x80 || c == '\\' {
				t.Fatalf("Safe(%q) = true; byte %#x at %d is forbidden", s, c, i)
			}
		}
		checkEscapes(t, s)
		checkHost(t, base, s)
		checkPathStart(t, s)
	})
}

// checkHost fails unless s, as a browser would resolve it against base,
// lands on one of testHosts or their subdomains.
func checkHost(t *testing.T, base *url.URL, s string) {
	t.Helper()
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
			t.Fatalf("Safe(%q) = true; want a single leading slash", s)
		}
		u, err := base.Parse(s)
		if err != nil {
			t.Fatalf("Safe(%q) = true; resolve: %v", s, err)
		}
		if u.Host != base.Host {
			t.Fatalf("Safe(%q) = true; resolves to host %q", s, u.Host)
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("Safe(%q) = true; parse: %v", s, err)
	}
	if u.Scheme != "https" || u.User != nil || u.Port() != "" || u.Opaque != "" {
		t.Fatalf("Safe(%q) = true; scheme %q, user %v, port %q, opaque %q", s, u.Scheme, u.User, u.Port(), u.Opaque)
	}
	h := strings.ToLower(u.Hostname())
	for _, a := range testHosts {
		if h == a || strings.HasSuffix(h, "."+a) {
			return
		}
	}
	t.Fatalf("Safe(%q) = true; host %q is not allowed", s, h)
}

// checkEscapes fails unless every '%' in s starts an escape of two hex
// digits that is not a control character.
func checkEscapes(t *testing.T, s string) {
	t.Helper()
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		b, err := hex.DecodeString(s[i+1 : min(i+3, len(s))])
		if err != nil || len(b) != 1 || b[0] < 0x20 || b[0] == 0x7f {
			t.Fatalf("Safe(%q) = true; holds %q", s, s[i:min(i+3, len(s))])
		}
		s = s[i+3:]
	}
}

// checkPathStart fails if the path of s, with its dot segments removed as
// a browser removes them, starts with two slashes, or with a segment that
// percent-decoding (once or any number of times) turns into a slash or a
// backslash.
func checkPathStart(t *testing.T, s string) {
	t.Helper()
	path := s
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		i := strings.IndexByte(rest, '/')
		if i < 0 || strings.IndexAny(rest[:i], "?#") >= 0 {
			return // no path
		}
		path = rest[i:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var kept []string
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch strings.ToLower(seg) {
		case ".", "%2e":
			if last {
				kept = append(kept, "")
			}
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(kept) > 0 {
				kept = kept[:len(kept)-1]
			}
			if last {
				kept = append(kept, "")
			}
		default:
			kept = append(kept, seg)
		}
	}
	resolved := "/" + strings.Join(kept, "/")
	if strings.HasPrefix(resolved, "//") {
		t.Fatalf("Safe(%q) = true; its path resolves to %q", s, resolved)
	}
	first := kept[0]
	for range 8 {
		if strings.HasPrefix(first, "/") || strings.HasPrefix(first, "\\") {
			t.Fatalf("Safe(%q) = true; its path %q starts with %q once decoded", s, resolved, first)
		}
		d, err := url.PathUnescape(first)
		if err != nil || d == first {
			break
		}
		first = d
	}
}
