package web

import (
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/sessioncache"
)

// FuzzAccessPath: whatever the forwarded request target, forward-auth and
// auth-request never answer 200 for a path some upstream would serve
// outside docs.example.com/public/ to an anonymous visitor, nor for one
// some upstream would serve under app.example.com/admin (a deny rule) to
// a signed-in one. The upstreams are modelled by upstreamPaths, apart from
// access.ParsePath.
func FuzzAccessPath(f *testing.F) {
	for _, tt := range hostilePaths {
		f.Add(tt.uri)
	}
	for _, seed := range []string{"/public/%2e%2e%2f%2e%2e/secret", "/public/..%c0%af../secret", "/public/%%32%65%%32%65/secret",
		"/public/x/..%5c..%5csecret", "/public/\u212a/../../secret", "/public/..%3f/../secret", "/ADMIN;/x", "/ad%4Din"} {
		f.Add(seed)
	}
	s, a := pathServer(f)
	cache := sessioncache.New(&sessioncache.LocalEpoch{}, sessioncache.DefaultSize)
	a.Sessions, a.Users, a.SecondFactors = cache.Sessions(a.Sessions), cache.Users(a.Users), cache.SecondFactors(a.SecondFactors)
	if _, err := a.CreateUser(f.Context(), auth.NewUser{Email: "fuzz@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		f.Fatal(err)
	}
	in, err := a.Login(f.Context(), auth.LoginRequest{Email: "fuzz@example.com", Password: "a-long-enough-passphrase"})
	if err != nil {
		f.Fatal(err)
	}
	ask := func(via, host, uri, cookie string) int {
		r := httptest.NewRequest("GET", "/api/authz/"+via, nil)
		r.Header.Set("Accept", "text/html")
		if cookie != "" {
			r.Header.Set("Cookie", "__Host-lacop_session="+cookie)
		}
		if via == "forward-auth" {
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("X-Forwarded-Host", host)
			r.Header.Set("X-Forwarded-Uri", uri)
		} else {
			r.Header.Set("X-Original-URL", "https://"+host+uri)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if strings.ContainsAny(uri, "\r\n\x00") {
			return // no header can carry it
		}
		if !strings.HasPrefix(uri, "/") {
			// Not a request target: in X-Original-URL it would run on
			// from the host and name another one.
			if code := ask("forward-auth", "app.example.com", uri, in.Secret); code != http.StatusBadRequest {
				t.Fatalf("forward-auth with X-Forwarded-Uri %q = %d; want 400", uri, code)
			}
			return
		}
		ups := upstreamPaths(uri)
		public, admin := true, false
		for _, u := range ups {
			public = public && strings.HasPrefix(u, "/public/")
			admin = admin || strings.HasPrefix(u, "/admin")
		}
		for _, via := range []string{"forward-auth", "auth-request"} {
			if code := ask(via, "docs.example.com", uri, ""); code == http.StatusOK && !public {
				t.Fatalf("%s docs.example.com%s anonymous = 200; upstreams may serve %q", via, uri, ups)
			}
			if code := ask(via, "app.example.com", uri, in.Secret); code == http.StatusOK && admin {
				t.Fatalf("%s app.example.com%s signed in = 200 past a deny rule; upstreams may serve %q", via, uri, ups)
			}
		}
	})
}

// upstreamPaths models the paths upstreams may serve for a request
// target: the path before "?" (and before "#", or with it), decoded once
// or twice, ";" parameters kept or stripped, "\" a separator or not, old
// decoders' overlong UTF-8 for "." and "/", cleaned as a file server does
// (a trailing slash kept), and each also as a case-insensitive Windows
// upstream reads it (lower case, trailing dots and spaces dropped).
func upstreamPaths(uri string) []string {
	p, _, _ := strings.Cut(uri, "?")
	raws := []string{p}
	if before, _, ok := strings.Cut(p, "#"); ok {
		raws = append(raws, before)
	}
	var decoded []string
	for _, raw := range raws {
		for _, strip := range []bool{false, true} {
			r := raw
			if strip {
				segs := strings.Split(r, "/")
				for i, s := range segs {
					segs[i], _, _ = strings.Cut(s, ";")
				}
				r = strings.Join(segs, "/")
			}
			once := lenientUnescape(r)
			decoded = append(decoded, once, lenientUnescape(once))
		}
	}
	var out []string
	for _, d := range decoded {
		for _, v := range []string{d, strings.ReplaceAll(d, `\`, "/"),
			strings.NewReplacer("\xc0\xae", ".", "\xc0\xaf", "/", "\xe0\x80\xae", ".").Replace(d)} {
			out = append(out, cleanServed(v))
			segs := strings.Split(strings.ToLower(strings.ToUpper(v)), "/")
			for i, s := range segs {
				// "..␠" is "..", "a." is "a"; "." and ".." stay.
				if t := strings.TrimRight(s, " "); t == "." || t == ".." {
					segs[i] = t
				} else {
					segs[i] = strings.TrimRight(t, ". ")
				}
			}
			out = append(out, cleanServed(strings.ToLower(strings.Join(segs, "/"))))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lenientUnescape decodes every valid %XX and keeps anything else as is.
func lenientUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishexDigit(s[i+1]) && ishexDigit(s[i+2]) {
			b.WriteByte(hexValue(s[i+1])<<4 | hexValue(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ishexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// cleanServed is the path a file server serves: path.Clean from the root,
// a trailing slash (or a final "." or "..") kept as a directory.
func cleanServed(p string) string {
	c := path.Clean("/" + p)
	if c != "/" && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
		c += "/"
	}
	return c
}
