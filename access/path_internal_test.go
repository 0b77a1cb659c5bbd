package access

import (
	"errors"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
)

// readings lists p's readings: ";" kept, ";" stripped (when different),
// then their folded forms.
func (p *Path) readings() []string {
	out := slices.Clone(p.r[:p.n])
	for i := range p.n {
		if f, lower := p.folded(i); lower {
			out = append(out, strings.ToLower(f))
		} else {
			out = append(out, f)
		}
	}
	return out
}

var parsePathTests = []struct {
	in   string
	want []string // kept, [stripped], folded kept, [folded stripped]
}{
	{"/", []string{"/", "/"}},
	{"/x", []string{"/x", "/x"}},
	{"/x?y=/../z", []string{"/x", "/x"}},
	{"/public/ok.txt", []string{"/public/ok.txt", "/public/ok.txt"}},
	{"/%61dmin", []string{"/admin", "/admin"}},
	{"/%41dmin/", []string{"/Admin/", "/admin/"}},
	{"/caf%C3%A9", []string{"/café", "/café"}},
	{"/caf%c3%a9", []string{"/café", "/café"}},
	{"/CAF%C3%89", []string{"/CAFÉ", "/café"}},
	{"/a%20b", []string{"/a b", "/a b"}},
	{"/a%3Fb", []string{"/a?b", "/a?b"}},
	{"/100%25", []string{"/100%", "/100%"}},
	{"//admin", []string{"/admin", "/admin"}},
	{"///a//b//", []string{"/a/b/", "/a/b/"}},
	{"/./admin", []string{"/admin", "/admin"}},
	{"/%2e/admin", []string{"/admin", "/admin"}},
	{"/x/../admin", []string{"/admin", "/admin"}},
	{"/x/%2E%2e/admin", []string{"/admin", "/admin"}},
	{"/public/..", []string{"/", "/"}},
	{"/public/.", []string{"/public/", "/public/"}},
	{"/public/x/..", []string{"/public/", "/public/"}},
	{"/.well-known/x", []string{"/.well-known/x", "/.well-known/x"}},
	{"/public/..;/secret", []string{"/public/..;/secret", "/secret", "/public/..;/secret", "/secret"}},
	{"/;/admin", []string{"/;/admin", "/admin", "/;/admin", "/admin"}},
	{"/admin;jsessionid=X", []string{"/admin;jsessionid=X", "/admin", "/admin;jsessionid=x", "/admin"}},
	{"/a;b", []string{"/a;b", "/a", "/a;b", "/a"}},
	{"/Admin", []string{"/Admin", "/admin"}},
	{"/admin.", []string{"/admin.", "/admin"}},
	{"/admin%20/x", []string{"/admin /x", "/admin/x"}},
	{"/\u017Fecret", []string{"/\u017Fecret", "/secret"}}, // long s folds with s
	{"/\u212Aey", []string{"/\u212Aey", "/key"}},          // Kelvin sign folds with k
}

func TestParsePathReadings(t *testing.T) {
	for _, tt := range parsePathTests {
		p, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if got := p.readings(); !slices.Equal(got, tt.want) {
			t.Errorf("ParsePath(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

var parsePathRefusals = []struct {
	in   string
	want error
}{
	{"", errNotFromRoot},
	{"x", errNotFromRoot},
	{"/a#b", errFragment},
	{"/a?b#c", errFragment},
	{`/a\b`, errBackslash},
	{"/a%5Cb", errBackslash},
	{"/a%5cb", errBackslash},
	{"/a%2Fb", errEncodedSlash},
	{"/a%2fb", errEncodedSlash},
	{"/a%00", errNUL},
	{"/a%0A", errControl},
	{"/a%7F", errControl},
	{"/a\x01", errControl},
	{"/a b", errControl},
	{"/a%", errBadEscape},
	{"/a%4", errBadEscape},
	{"/a%zz", errBadEscape},
	{"/a%u002e", errBadEscape},
	{"/a%252e", errDoubleEncoded},
	{"/a%25%32%65", errDoubleEncoded},
	{"/a%c0%ae", errNotUTF8},
	{"/a%ff", errNotUTF8},
	{"/a\xff", errNotUTF8},
	{"/..", errAboveRoot},
	{"/%2e%2e/x", errAboveRoot},
	{"/x/../../y", errAboveRoot},
	{"/..;/x", errAboveRoot}, // only when ";" is stripped
	{"/a//../b", errEmptyParent},
	{"//..", errEmptyParent},
	{"/a/.//../b", errEmptyParent},
	{"/a/...", errDotsAndSpaces},
	{"/a/..%20/b", errDotsAndSpaces},
	{"/a/%20/b", errDotsAndSpaces},
	{"/a/.%20", errDotsAndSpaces},
}

func TestParsePathRefuses(t *testing.T) {
	for _, tt := range parsePathRefusals {
		p, err := ParsePath(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParsePath(%q) = %q, %v; want error %v", tt.in, p.readings(), err, tt.want)
		}
	}
}

// TestDecideStrictestReading: whatever an upstream makes of a path, the
// policy Decide gives is at least the one the rules give the path that
// upstream serves. The upstreams are modelled here independently of
// ParsePath: decode with net/url, then clean as Go's file server does
// (keeping a trailing slash), with ";" parameters kept (nginx, Caddy, Go)
// or stripped from each raw segment first (Tomcat, Jetty, Spring), and a
// case-insensitive Windows reading of each (lower case, trailing dots and
// spaces of segments dropped, "\" a separator); and each also as the
// directory of that name, as upstreams that ignore a trailing slash serve
// it (Spring before 6, Rails, Laravel).
func TestDecideStrictestReading(t *testing.T) {
	rules, err := New("one_factor", []Rule{
		{Domain: "app.example.com", Policy: "bypass", Resources: []string{"/public/", "/assets"}},
		{Domain: "app.example.com", Policy: "deny", Resources: []string{"/admin", "/internal/"}},
		{Domain: "app.example.com", Policy: "two_factor", Resources: []string{"/Billing/"}},
		{Domain: "app.example.com", Policy: "one_factor", Groups: []string{"ops"}, Resources: []string{"/ops/"}},
		{Domain: "app.example.com", Policy: "bypass"},
	})
	if err != nil {
		t.Fatal(err)
	}
	segs := []string{"public", "Public", "PUBLIC", "assets", "assets.js", "admin", "Admin", "admin.", "internal", "INTERNAL",
		"billing", "Billing", "ops", "x", "", ".", "..", "%2e", "%2E%2e", ".%2e", "..;", ";", ";x=1", "%61dmin", "%3b", "..;x",
		"ok.txt", "a%20", "caf%C3%A9", "%C5%BFecret"}
	subjects := []*Subject{nil, {Groups: []string{"dev"}}, {Groups: []string{"ops"}}}
	checked, readingsDiffer := 0, 0
	for _, a := range segs {
		for _, b := range segs {
			for _, c := range segs {
				for _, end := range []string{"", "/"} {
					raw := "/" + a + "/" + b + "/" + c + end
					p, err := ParsePath(raw)
					if err != nil {
						continue // refused: 400, never a policy
					}
					ups := upstreamReadings(raw)
					if len(slices.Compact(slices.Sorted(slices.Values(ups)))) > 1 {
						readingsDiffer++
					}
					for _, subject := range subjects {
						got := rules.Decide("app.example.com", &p, subject)
						for _, u := range ups {
							s, folded := u, false
							if strings.HasPrefix(u, "ci:") {
								s, folded = u[3:], true
							}
							if want := rules.decide("app.example.com", s, match{folded: folded}, subject); got < want {
								t.Errorf("Decide(%q, %v) = %v; an upstream serves %q, which the rules give %v", raw, subject, got, u, want)
							}
						}
						checked++
					}
				}
			}
		}
	}
	if checked < 10000 || readingsDiffer < 1000 {
		t.Fatalf("checked %d decisions, %d paths with differing readings: the test covers too little", checked, readingsDiffer)
	}
}

// upstreamReadings models the paths upstreams serve for a raw path. A
// case-insensitive reading starts with "ci:".
func upstreamReadings(raw string) []string {
	var out []string
	for _, stripped := range []bool{false, true} {
		p := raw
		if stripped {
			segs := strings.Split(p, "/")
			for i, s := range segs {
				segs[i], _, _ = strings.Cut(s, ";")
			}
			p = strings.Join(segs, "/")
		}
		dec, err := url.PathUnescape(p)
		if err != nil {
			continue
		}
		out = append(out, cleanKeepSlash(dec))
		win := strings.ToLower(strings.ReplaceAll(dec, `\`, "/"))
		segs := strings.Split(win, "/")
		for i, s := range segs {
			if s != "." && s != ".." {
				segs[i] = strings.TrimRight(s, ". ")
			}
		}
		out = append(out, "ci:"+cleanKeepSlash(strings.Join(segs, "/")))
	}
	for _, u := range out {
		if !strings.HasSuffix(u, "/") {
			out = append(out, u+"/")
		}
	}
	return out
}

// cleanKeepSlash is path.Clean, keeping a trailing slash (or the one a
// final "." or ".." stands for), as a file server serves a directory.
func cleanKeepSlash(p string) string {
	c := path.Clean(p)
	if c != "/" && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
		c += "/"
	}
	return c
}
