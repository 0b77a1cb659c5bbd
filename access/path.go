package access

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path is a forwarded request's path as the apps behind the proxy may read
// it. Upstreams disagree: nginx, Caddy and Go keep ";" path parameters as
// part of a segment while Tomcat, Jetty and Spring strip them
// (/public/..;/secret is /secret to them); IIS and the Windows and macOS
// file systems ignore case and trailing dots. Rather than guess one,
// Path keeps every reading and Decide takes the strictest policy among
// them, so a rule cannot be dodged under any reading and a bypass only
// holds where all readings agree. The zero Path, not made by ParsePath,
// is denied.
type Path struct {
	n int       // readings in use
	r [2]string // decoded, dot segments resolved, slashes merged; ";" kept, then stripped
	f [2]string // the same, case-folded and with trailing dots and spaces of segments dropped
	// lower[i]: the folded reading is r[i] in ASCII lower case, compared
	// without making it (f[i] is unset), so a plain path does not allocate.
	lower [2]bool
}

// folded returns the folded reading i, or r[i] and true when it is to be
// compared in ASCII lower case.
func (p *Path) folded(i int) (string, bool) {
	if p.lower[i] {
		return p.r[i], true
	}
	return p.f[i], false
}

// PathError says why a path was refused: upstreams would read it
// differently (or as a way out of the root), so no rule can be applied to
// it with confidence.
type PathError struct {
	Reason string
}

func (e *PathError) Error() string { return "access: ambiguous path: " + e.Reason }

// The reasons a path is refused. They are shown to the proxy's client and
// never hold the path itself.
var (
	errNotFromRoot    = &PathError{"it does not start with /"}
	errFragment       = &PathError{"a raw # (upstreams disagree on whether a fragment follows)"}
	errBackslash      = &PathError{`a \ or %5C (a separator on Windows, not elsewhere)`}
	errEncodedSlash   = &PathError{"an encoded / (%2F), a separator to some upstreams and not to others"}
	errNUL            = &PathError{"an encoded NUL (%00)"}
	errControl        = &PathError{"a control character or space"}
	errBadEscape      = &PathError{"an invalid percent-escape"}
	errDoubleEncoded  = &PathError{"a double-encoded escape (%25 followed by two hex digits), read once more by some chains"}
	errNotUTF8        = &PathError{"bytes that are not UTF-8 once decoded (overlong forms were read as . and /)"}
	errAboveRoot      = &PathError{"a .. segment that climbs above the root"}
	errEmptyParent    = &PathError{"a .. segment after an empty one (// then ..), resolved differently by upstreams that merge slashes"}
	errDotsAndSpaces  = &PathError{"a segment of dots and spaces other than . and .. (Windows reads it as one of them)"}
	errQueryInPrefix  = &PathError{"a ? or # in a resource prefix (they are matched against the path only)"}
	errUnresolvedPath = &PathError{"dot segments or repeated slashes in a resource prefix"}
)

// ParsePath reads a request target (a path from the root, and an optional
// query, which the rules do not look at) as the upstream will serve it:
// percent-escapes decoded, dot segments (encoded ones too) resolved and
// repeated slashes merged. A target that upstreams would read differently
// is refused with a *PathError: an encoded "/", a "\", an encoded control
// character, an invalid or double-encoded escape, bytes that are not UTF-8,
// a raw "#", a ".." above the root or after an empty segment, and segments
// of dots and spaces Windows would take for "." or "..".
func ParsePath(target string) (Path, error) {
	var p Path
	if target == "" || target[0] != '/' {
		return p, errNotFromRoot
	}
	raw, _, _ := strings.Cut(target, "?")
	if strings.IndexByte(target, '#') >= 0 {
		return p, errFragment
	}
	dec, err := decode(raw)
	if err != nil {
		return p, err
	}
	if p.r[0], err = resolve(dec, false); err != nil {
		return p, err
	}
	p.n = 1
	if strings.IndexByte(dec, ';') >= 0 {
		if p.r[1], err = resolve(dec, true); err != nil {
			return p, err
		}
		if p.r[1] != p.r[0] {
			p.n = 2
		}
	}
	for i := range p.n {
		p.f[i], p.lower[i] = fold(p.r[i])
	}
	return p, nil
}

// decode percent-decodes p, refusing what is read differently downstream.
// A path without escapes is returned as is, without allocating.
func decode(p string) (string, error) {
	escapes, nonASCII := false, false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%':
			escapes = true
		case c == '\\':
			return "", errBackslash
		case c <= ' ' || c == 0x7f:
			return "", errControl
		case c >= 0x80:
			nonASCII = true
		}
	}
	if !escapes {
		if nonASCII && !utf8.ValidString(p) {
			return "", errNotUTF8
		}
		return p, nil
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(p) || !ishex(p[i+1]) || !ishex(p[i+2]) {
			return "", errBadEscape
		}
		c = unhex(p[i+1])<<4 | unhex(p[i+2])
		switch {
		case c == '/':
			return "", errEncodedSlash
		case c == '\\':
			return "", errBackslash
		case c == 0:
			return "", errNUL
		case c < ' ' || c == 0x7f:
			return "", errControl
		}
		b = append(b, c)
		i += 2
	}
	// A raw "%" is always an escape, so a "%" here was sent as %25.
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && ishex(b[i+1]) && ishex(b[i+2]) {
			return "", errDoubleEncoded
		}
	}
	if !utf8.Valid(b) {
		return "", errNotUTF8
	}
	return string(b), nil
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// resolve removes dot segments and merges repeated slashes in a decoded
// path, with ";" parameters stripped from each segment if strip. A final
// "." or ".." leaves a trailing slash, as RFC 3986 resolves it. A path
// needing none of this is returned as is, without allocating.
func resolve(p string, strip bool) (string, error) {
	if !strip && !strings.Contains(p, "//") && !strings.Contains(p, "/.") && !strings.Contains(p, "/ ") {
		return p, nil
	}
	var buf [16]string
	stack := buf[:0] // segments kept, "" for an empty one
	rest, trailing := p[1:], false
	for {
		seg, more, found := strings.Cut(rest, "/")
		rest = more
		if strip {
			seg, _, _ = strings.Cut(seg, ";")
		}
		trailing = false
		switch {
		case seg == "":
			stack = append(stack, "")
			trailing = true
		case seg == ".":
			trailing = true
		case seg == "..":
			// Where slashes are merged the ".." takes the segment
			// before the empty one; where they are not, the empty one.
			switch {
			case len(stack) == 0:
				return "", errAboveRoot
			case stack[len(stack)-1] == "":
				return "", errEmptyParent
			}
			stack = stack[:len(stack)-1]
			trailing = true
		case strings.Trim(seg, ". ") == "":
			return "", errDotsAndSpaces
		default:
			stack = append(stack, seg)
		}
		if !found {
			break
		}
	}
	var b strings.Builder
	b.Grow(len(p))
	for _, seg := range stack {
		if seg != "" {
			b.WriteByte('/')
			b.WriteString(seg)
		}
	}
	if b.Len() == 0 || trailing {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// fold is the reading of a case-insensitive upstream on Windows: letters
// compare without case (by their whole Unicode folding orbit, so "ſ" is
// "s" and "K" is "k"), and each segment loses its trailing dots and
// spaces ("admin." and "admin " are "admin"). A path already in that form
// is returned as is, and an ASCII path that only needs lower case is
// returned with lower set, to be compared with hasPrefixLower; neither
// allocates.
func fold(p string) (folded string, lower bool) {
	upper := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'A' <= c && c <= 'Z':
			upper = true
		case c >= utf8.RuneSelf || (c == '.' || c == ' ') && (i+1 == len(p) || p[i+1] == '/'):
			return foldSlow(p), false
		}
	}
	if upper {
		return "", true
	}
	return p, false
}

// foldSlow is fold for a path that needs more than ASCII lower case.
func foldSlow(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for seg := range strings.SplitSeq(p[1:], "/") {
		b.WriteByte('/')
		for _, r := range strings.TrimRight(seg, ". ") {
			b.WriteRune(foldRune(r))
		}
	}
	return b.String()
}

// foldRune maps every rune of a case-folding orbit to the same one.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return unicode.ToLower(m)
}

// ParseResource checks a configured resource prefix and returns it in the
// form request paths are compared in: decoded, so "/caf%C3%A9/" is
// "/café/". A prefix with dot segments, repeated slashes, a query or
// anything ParsePath refuses is an error rather than a rule that could
// never match.
func ParseResource(prefix string) (string, error) {
	if prefix == "" || prefix[0] != '/' {
		return "", errNotFromRoot
	}
	if strings.ContainsAny(prefix, "?#") {
		return "", errQueryInPrefix
	}
	dec, err := decode(prefix)
	if err != nil {
		return "", err
	}
	if r, err := resolve(dec, false); err != nil {
		return "", err
	} else if r != dec {
		return "", errUnresolvedPath
	}
	return dec, nil
}

// lowerOrFold is fold's reading of p, made.
func lowerOrFold(p string) string {
	f, lower := fold(p)
	if lower {
		return strings.ToLower(p)
	}
	return f
}

// hasPrefixLower reports whether s in ASCII lower case starts with
// prefix, which is in lower case already.
func hasPrefixLower(s, prefix string) bool {
	return len(s) >= len(prefix) && equalLower(s[:len(prefix)], prefix)
}

// equalLower reports whether s in ASCII lower case is t.
func equalLower(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != t[i] {
			return false
		}
	}
	return true
}
