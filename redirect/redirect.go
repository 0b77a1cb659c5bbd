// Package redirect decides whether a caller-supplied redirect target (the
// rd query parameter, the targetURL JSON field) may be followed after
// sign-in or sign-out, so that lacop never becomes an open redirector.
//
// A target is accepted only if it is
//
//   - a path starting with a single "/", or
//   - an absolute URL starting with "https://" whose host is the portal's
//     own host, an allowed domain, or a subdomain of an allowed domain,
//
// and it holds no raw whitespace, control character, backslash or
// non-ASCII byte, no percent-encoded control character (%00-%1F, %7F) and
// no malformed escape, anywhere. Everything else falls back to a default
// page. Other percent-encodings (%20, %2F, %25, %C3%A9, ...) are ordinary
// deep links and are kept byte for byte:
// "https://app.example.com/search?q=two%20words" comes back exactly so.
//
// The path may not start with a second slash, whether written "//" or
// encoded ("/%2F", "/%5C", any case): browsers read "//host" as another
// host, and an app that decodes the path before redirecting to it turns
// the encoded forms into that. The rule holds for the path of an absolute
// URL too, and for the segment a path starts with once dot segments are
// removed as browsers remove them ("/x/..//evil.com", "/%2e%2e/%2Fevil.com"
// are refused). "/%25" is refused there as well: every double (or deeper)
// encoding of a slash begins with it, and no real deep link does.
//
// The decision is made on exactly the string that would be sent in
// Location. Safe never decodes, cleans or rewrites its input: browsers and
// Go's net/url disagree on many corner cases (backslashes, tabs, encoded
// slashes, numeric hosts), so instead of modelling either we only accept
// strings on which they cannot disagree.
//
// Where the rule is silent we take the stricter reading:
//
//   - The scheme must be exactly the lowercase prefix "https://";
//     "HTTPS://" is rejected. Legitimate callers never need it.
//   - No explicit port, not even the default ":443". Any ':' in the host
//     part is rejected, which also rules out userinfo and IPv6 literals.
//   - Raw non-ASCII bytes are rejected anywhere, which keeps IDN and
//     Unicode lookalike hosts out; percent-encoded UTF-8 such as "%C3%A9"
//     is allowed in the path, query and fragment.
//   - A host may only contain ASCII letters, digits, '-' and '.', with no
//     empty label and no trailing dot. It is compared case-insensitively.
//   - A host that a browser would read as an IPv4 address (its last label
//     is all digits or starts with "0x") is rejected, so only names match.
package redirect

import (
	"fmt"
	"net/url"
	"strings"
)

// Policy decides which redirect targets lacop will follow. It is immutable
// after New and safe for concurrent use. The zero Policy accepts only
// relative paths, which is the safe default when nothing is configured.
type Policy struct {
	self    string   // the portal's own hostname, lowercase; matched exactly
	domains []string // allowed domains, lowercase; subdomains match too
}

// New builds a policy. publicURL is the portal's own public URL (e.g.
// "https://auth.example.com" or "http://127.0.0.1:9440"); its hostname
// (without port) is an allowed host, so the portal may send users to its
// own absolute URLs. allowedDomains are hosts whose subdomains are allowed
// too; an entry may be written "*.example.com" or ".example.com", which
// mean the same as "example.com". New returns an error for an unparsable
// publicURL or a malformed domain entry (empty, or containing "/", ":",
// spaces or anything else that is not an ASCII host name), so that
// configuration mistakes surface at start-up rather than as silently
// rejected redirects.
func New(publicURL string, allowedDomains []string) (*Policy, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, fmt.Errorf("redirect: public url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, fmt.Errorf("redirect: public url %q: want http or https with a host and no userinfo", publicURL)
	}
	p := &Policy{self: strings.ToLower(u.Hostname())}
	for _, d := range allowedDomains {
		n := d
		if strings.HasPrefix(n, "*.") {
			n = n[2:]
		} else if strings.HasPrefix(n, ".") {
			n = n[1:]
		}
		// Validate before lowercasing: strings.ToLower maps some non-ASCII
		// runes (the Kelvin sign) to ASCII letters.
		if !validHost(n) {
			return nil, fmt.Errorf("redirect: allowed domain %q: not an ascii host name", d)
		}
		p.domains = append(p.domains, strings.ToLower(n))
	}
	return p, nil
}

// Safe reports whether target may be sent as a Location header value
// exactly as given. It does not allocate.
func (p *Policy) Safe(target string) bool {
	if !cleanBytes(target) {
		return false
	}
	if target[0] == '/' {
		return safePath(target)
	}
	rest, ok := strings.CutPrefix(target, "https://")
	if !ok {
		return false
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	// validHost admits only letters, digits, '-' and '.', so an authority
	// with userinfo ('@'), a port (':') or an IPv6 literal ('[') fails here.
	return validHost(host) && p.allowed(host) && safePath(tail)
}

// Target returns target if Safe, otherwise fallback. Used as:
//
//	loc := p.Target(rd, "/")
//
// The fallback is not checked: it comes from lacop itself, not the caller.
func (p *Policy) Target(target, fallback string) string {
	if p.Safe(target) {
		return target
	}
	return fallback
}

// allowed reports whether host, already known to be a valid ASCII host,
// is the portal's own host, an allowed domain or a subdomain of one.
func (p *Policy) allowed(host string) bool {
	if p == nil {
		return false
	}
	if p.self != "" && equalFoldASCII(host, p.self) {
		return true
	}
	for _, d := range p.domains {
		if equalFoldASCII(host, d) {
			return true
		}
		// Require the dot so "evil-example.com" does not match "example.com".
		if n := len(host) - len(d); n > 1 && host[n-1] == '.' && equalFoldASCII(host[n:], d) {
			return true
		}
	}
	return false
}

// cleanBytes reports whether s is non-empty and free of bytes that browsers
// or intermediaries might strip, fold or reinterpret: raw whitespace,
// control characters, DEL, backslash and non-ASCII, and percent-encoded
// control characters and DEL. Malformed escapes are rejected too.
func cleanBytes(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
		if c != '%' {
			continue
		}
		b, ok := escaped(s, i)
		if !ok || b < ' ' || b == 0x7f {
			return false
		}
		i += 2
	}
	return true
}

// escaped decodes the escape "%XX" at s[i].
func escaped(s string, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

// safePath reports whether the path at the start of s (up to '?' or '#'; s
// is "" or starts with '/', '?' or '#', and passed cleanBytes) cannot be
// read as leading to another host. It removes dot segments as browsers do
// ("." and ".." in any mix of '.' and "%2e") and checks the segment the
// path then starts with: it may not be empty with more path after it (that
// is "//"), nor start with an encoded slash, backslash or percent sign.
func safePath(s string) bool {
	if s == "" || s[0] != '/' {
		return true
	}
	depth := 0 // segments kept so far
	for i := 1; ; {
		end := i
		for end < len(s) && s[end] != '/' && s[end] != '?' && s[end] != '#' {
			end++
		}
		seg, last := s[i:end], end == len(s) || s[end] != '/'
		switch dots(seg) {
		case 1:
		case 2:
			depth = max(0, depth-1)
		default:
			if depth == 0 && (seg == "" && !last || leadsAway(seg)) {
				return false
			}
			depth++
		}
		if last {
			return true
		}
		i = end + 1
	}
}

// dots is 1 or 2 if seg is a dot segment ".", "..", each dot written '.'
// or "%2e" in any case, as browsers read them; 0 otherwise.
func dots(seg string) int {
	n := 0
	for i := 0; i < len(seg); n++ {
		switch {
		case seg[i] == '.':
			i++
		case len(seg)-i >= 3 && seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return 0
		}
	}
	if n > 2 {
		return 0
	}
	return n
}

// leadsAway reports whether a path's first segment starts with an encoded
// '/', '\' or '%' (the start of any deeper encoding of the first two).
func leadsAway(seg string) bool {
	if seg == "" || seg[0] != '%' {
		return false
	}
	b, _ := escaped(seg, 0)
	return b == '/' || b == '\\' || b == '%'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validHost reports whether h is a DNS name made of ASCII letters, digits
// and hyphens, with no empty label (so no leading or trailing dot) and a
// last label that a browser would not parse as a number, which would turn
// the name into an IPv4 address.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	start := 0 // start of the current label
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == '.' {
			if i == start {
				return false
			}
			start = i + 1
			continue
		}
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return false
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return true
		}
	}
	return false
}

// equalFoldASCII is strings.EqualFold restricted to ASCII, so no Unicode
// case folding can make a foreign host equal an allowed one.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
