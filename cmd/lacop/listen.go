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

	"github.com/lacop/lacop/config"
	"github.com/lacop/lacop/tlscert"
)

// listen binds the configured address. When public_url follows listen, it
// follows the address bound: port 0 becomes the port the system chose.
func (m *Main) listen() (net.Listener, error) {
	addr := m.Config.Listen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: address already in use (is another lacop running? choose another address with --listen)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	tls := m.Config.TLS()
	if u, wildcard := config.ListenURL(addr, tls); m.Config.PublicURL == u {
		host, _, _ := net.SplitHostPort(addr)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		m.Config.PublicURL, _ = config.ListenURL(net.JoinHostPort(host, port), tls)
		if wildcard {
			m.Logger.Info("listening on every interface; links use " + m.Config.PublicURL +
				", which works on this machine only: set public_url (--public-url) to the address other machines use")
		}
	}
	return ln, nil
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
