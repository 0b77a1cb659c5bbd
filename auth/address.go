package auth

import "net/netip"

// AddressKey is the client a per-address limit counts: the address itself
// for IPv4, and its /64 for IPv6, because one host or one home network
// gets a whole /64 and can pick any address in it for each request. A
// value that is not an address is returned as it is.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}
