package auth

import "testing"

var addressKeyTests = []struct{ in, want string }{
	{"192.0.2.7", "192.0.2.7"},
	{"::ffff:192.0.2.7", "192.0.2.7"},
	{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
	{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
	{"fe80::1%eth0", "fe80::/64"},
	{"::1", "::/64"},
	{"not-an-address", "not-an-address"},
	{"", ""},
}

func TestAddressKey(t *testing.T) {
	for _, tt := range addressKeyTests {
		if got := AddressKey(tt.in); got != tt.want {
			t.Errorf("AddressKey(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
