package access

import (
	"net/netip"
	"strings"
)

// HostError says why a forwarded host was refused.
type HostError struct {
	Reason string
}

func (e *HostError) Error() string { return "access: malformed host: " + e.Reason }

var (
	errHostEmpty  = &HostError{"empty"}
	errHostLong   = &HostError{"longer than 253 characters"}
	errHostIPv6   = &HostError{"not a bracketed IPv6 address without a zone"}
	errHostPort   = &HostError{"the port is not a number from 0 to 65535"}
	errHostLabel  = &HostError{"an empty label (a leading dot, \"..\", or more than one trailing dot)"}
	errHostLabel1 = &HostError{"a label longer than 63 characters"}
	errHostChar   = &HostError{"a character other than a letter, digit, '-', '_' or '.'"}
)

// ParseHost reads a forwarded host[:port] as the rules compare it: lower
// case, without the port, and without DNS's one trailing dot
// ("admin.example.com." is the same host, and proxies route it as such).
// A name with an empty label (".a", "a..b", "a.."), a label over 63
// characters, any character but letters, digits, '-', '_' and '.', or a
// port that is not a number is refused: it is no host a rule can be
// written for, and guessing would fall back to the default policy. A
// bracketed IPv6 address is kept with its brackets.
func ParseHost(h string) (string, error) {
	if h == "" {
		return "", errHostEmpty
	}
	name := h
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", errHostIPv6
		}
		if ip, err := netip.ParseAddr(h[1:end]); err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", errHostIPv6
		}
		switch rest := h[end+1:]; {
		case rest == "":
		case rest[0] != ':' || !validPort(rest[1:]):
			return "", errHostPort
		}
		return strings.ToLower(h[:end+1]), nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return "", errHostPort
		}
		name = h[:i]
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", errHostEmpty
	}
	if len(name) > 253 {
		return "", errHostLong
	}
	label := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return "", errHostLabel
			}
			label = 0
			continue
		case !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'):
			return "", errHostChar
		}
		if label++; label > 63 {
			return "", errHostLabel1
		}
	}
	if label == 0 {
		return "", errHostLabel
	}
	return strings.ToLower(name), nil
}

// validPort accepts a decimal port number up to 65535, in at most 5 digits.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}
