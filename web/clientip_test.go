package web

import (
	"net/http"
	"net/netip"
	"testing"
)

var clientIPTests = []struct {
	name    string
	remote  string
	xff     []string
	trusted []string
	want    string
}{
	{"no proxy", "203.0.113.7:5000", nil, nil, "203.0.113.7"},
	{"untrusted peer's header ignored", "203.0.113.7:5000", []string{"198.51.100.1"}, nil, "203.0.113.7"},
	{"untrusted peer cannot frame", "203.0.113.7:5000", []string{"10.0.0.1"}, []string{"10.0.0.0/8"}, "203.0.113.7"},
	{"trusted proxy", "10.0.0.2:1", []string{"198.51.100.1"}, []string{"10.0.0.0/8"}, "198.51.100.1"},
	{"rightmost untrusted wins", "10.0.0.2:1", []string{"1.2.3.4, 198.51.100.1"}, []string{"10.0.0.0/8"}, "198.51.100.1"},
	{"chain of trusted proxies", "10.0.0.2:1", []string{"198.51.100.1, 10.0.0.9"}, []string{"10.0.0.0/8"}, "198.51.100.1"},
	{"several headers", "10.0.0.2:1", []string{"1.2.3.4", "198.51.100.1"}, []string{"10.0.0.0/8"}, "198.51.100.1"},
	{"garbage hop stops the walk", "10.0.0.2:1", []string{"198.51.100.1, nonsense"}, []string{"10.0.0.0/8"}, "10.0.0.2"},
	{"all trusted", "10.0.0.2:1", []string{"10.0.0.3"}, []string{"10.0.0.0/8"}, "10.0.0.3"},
	{"trusted, no header", "10.0.0.2:1", nil, []string{"10.0.0.0/8"}, "10.0.0.2"},
	{"ipv6 peer", "[2001:db8::1]:443", nil, nil, "2001:db8::1"},
	{"mapped ipv4", "[::ffff:203.0.113.7]:1", nil, nil, "203.0.113.7"},
	{"trusted ipv6 proxy", "[::1]:1", []string{"2001:db8::5"}, []string{"::1/128"}, "2001:db8::5"},
}

func TestClientIP(t *testing.T) {
	for _, tt := range clientIPTests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		var trusted []netip.Prefix
		for _, p := range tt.trusted {
			trusted = append(trusted, netip.MustParsePrefix(p))
		}
		if got := clientIP(r, trusted); got != tt.want {
			t.Errorf("%s: clientIP(%q, XFF %q) = %q; want %q", tt.name, tt.remote, tt.xff, got, tt.want)
		}
	}
}
