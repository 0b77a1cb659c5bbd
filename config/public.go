package config

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ListenURL is the URL that reaches lacop through the listen address
// listen, over https when tls is set: what public_url follows when it is
// not set, so that `--listen 127.0.0.1:9540` alone prints links to 9540.
// A wildcard host (":9540", "0.0.0.0", "[::]": every interface) has no
// one name that reaches it from everywhere; it gives the loopback address,
// which works on this machine, and wildcard is true so the caller can say
// that other machines need public_url. The scheme's default port is left
// out, as browsers write origins. listen must be a valid host:port.
func ListenURL(listen string, tls bool) (u string, wildcard bool) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", false
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host, wildcard = "127.0.0.1", true
	}
	scheme, defaultPort := "http", "80"
	if tls {
		scheme, defaultPort = "https", "443"
	}
	hostport := net.JoinHostPort(strings.ToLower(host), port)
	if port == defaultPort {
		hostport = strings.ToLower(host)
		if strings.Contains(hostport, ":") {
			hostport = "[" + hostport + "]"
		}
	}
	return scheme + "://" + hostport, wildcard
}

// IsLoopback reports whether host (a URL's Hostname: no brackets, no port)
// names this machine only: localhost, 127.0.0.0/8 or ::1. Browsers treat
// these as secure contexts and keep Secure cookies over plain http there;
// anywhere else a sign-in over http cannot work.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// followListen makes an unset public_url follow listen (and TLS). A listen
// address that is not valid leaves it alone: that is reported on listen.
func (c *Config) followListen() {
	if listenProblem(c.Listen) != "" {
		return
	}
	c.PublicURL, _ = ListenURL(c.Listen, c.TLS())
}

// plainHTTPMsg says why an http public URL off this machine cannot work and
// what to do instead.
const plainHTTPMsg = "plain http works only on this machine (localhost, 127.0.0.1, ::1): browsers keep lacop's " +
	"Secure session cookie only over https, and sign-in from another address is refused. Serve it over https: " +
	"behind a reverse proxy with TLS (docs/deploy.md), with server.tls_cert and server.tls_key, or with " +
	"serve --tls-self-signed; and set an https public_url"

// checkScheme refuses a public URL that cannot work: plain http to a host
// other than this machine, or http while lacop itself serves https.
func (c *Config) checkScheme(ck *checker, public *url.URL) {
	if public == nil || public.Scheme != "http" {
		return
	}
	if c.TLS() {
		ck.add("public_url", "%q: must be https, since lacop serves https itself (server.tls_cert or server.tls_self_signed)", c.PublicURL)
		return
	}
	if IsLoopback(public.Hostname()) {
		return
	}
	ck.cross("public_url", "\""+c.PublicURL+"\": "+plainHTTPMsg,
		"listen", "\""+c.Listen+"\": public_url is not set, so it follows listen: "+c.PublicURL+"; "+plainHTTPMsg)
}
