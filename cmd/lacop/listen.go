package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/config"
	"github.com/lacop/lacop/connlimit"
	"github.com/lacop/lacop/fdlimit"
	"github.com/lacop/lacop/tlscert"
)

// listen binds the configured address, within the connection caps. When
// public_url follows listen, it follows the address bound: port 0 becomes
// the port the system chose.
func (m *Main) listen() (*connlimit.Listener, error) {
	files, err := fdlimit.Raise()
	if err != nil {
		m.Logger.Warn("open file limit not raised", "err", err)
	}
	addr := m.Config.Listen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: address already in use (is another lacop running? choose another address with --listen)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	lim := m.limitConnections(ln, files)
	https := m.Config.TLS()
	if u, wildcard := config.ListenURL(addr, https); m.Config.PublicURL == u {
		host, _, _ := net.SplitHostPort(addr)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		m.Config.PublicURL, _ = config.ListenURL(net.JoinHostPort(host, port), https)
		if wildcard {
			m.Logger.Info("listening on every interface; links use " + m.Config.PublicURL +
				", which works on this machine only: set public_url (--public-url) to the address other machines use")
		}
	}
	return lim, nil
}

// limitConnections caps ln's connections as configured, or as the open
// file limit files (0: unknown) allows. A trusted proxy has no per-address
// cap: all of its clients arrive from its address, and it is the proxy's
// to limit them. Other clients count by auth.AddressKey, an IPv6 one by
// its /64, as the sign-in limits count them.
func (m *Main) limitConnections(ln net.Listener, files uint64) *connlimit.Listener {
	s := m.Config.Server
	total, lowered := connlimit.MaxFor(s.MaxConnections, files)
	if lowered {
		m.Logger.Warn("server.max_connections lowered to what the open file limit leaves for connections",
			"configured", s.MaxConnections, "max_connections", total, "files", files)
	}
	perIP := s.MaxConnectionsPerIP
	if perIP == 0 {
		perIP = connlimit.DefaultPerClient(total)
	}
	perIP = min(perIP, total)
	trusted := s.TrustedProxies
	client := func(addr net.Addr) (string, bool) {
		a, ok := addr.(*net.TCPAddr)
		if !ok {
			return addr.String(), true
		}
		ip := a.AddrPort().Addr().Unmap()
		for _, p := range trusted {
			if p.Contains(ip) {
				return ip.String(), false
			}
		}
		return auth.AddressKey(ip.String()), true
	}
	m.Logger.Info("open file limit", "files", files, "max_connections", total, "max_connections_per_ip", perIP)
	return connlimit.New(ln, connlimit.Config{Max: total, MaxPerClient: perIP, Client: client, Logger: m.Logger})
}

// tlsConfig returns the certificate lacop serves HTTPS with, or nil when it
// serves plain http (behind a proxy that speaks TLS, or on loopback).
func (m *Main) tlsConfig() (*tls.Config, error) {
	s := m.Config.Server
	var cert tls.Certificate
	switch {
	case s.TLSCert != "":
		c, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("server.tls_cert, server.tls_key: %w", err)
		}
		cert = c
	case s.TLSSelfSigned:
		c, err := m.selfSigned()
		if err != nil {
			return nil, err
		}
		cert = c
	default:
		return nil, nil
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// selfSigned returns the self-signed certificate kept in the data
// directory for public_url's host and, when it differs and is not every
// interface, the listen host; made again when those change or it nears
// its end.
func (m *Main) selfSigned() (tls.Certificate, error) {
	u, err := url.Parse(m.Config.PublicURL)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("public_url: %w", err)
	}
	hosts := []string{u.Hostname()}
	if _, wildcard := config.ListenURL(m.Config.Listen, true); !wildcard {
		if h, _, err := net.SplitHostPort(m.Config.Listen); err == nil && h != u.Hostname() {
			hosts = append(hosts, h)
		}
	}
	c, err := tlscert.SelfSigned(m.Config.DataDir, hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	what := "using the self-signed certificate"
	if c.Made {
		what = "made a self-signed certificate"
	}
	m.Logger.Info(what+"; browsers warn about it until it is trusted: check that the fingerprint they show is this one",
		"hosts", hosts, "sha256", c.Fingerprint, "until", c.Leaf.NotAfter.Format(time.DateOnly),
		"file", filepath.Join(m.Config.DataDir, tlscert.CertFile))
	return c.Certificate, nil
}
