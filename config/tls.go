package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// checkServer checks the connection caps and the TLS settings. The
// certificate files are read here, so that config check finds a missing,
// unreadable or mismatched pair before serve has to.
func (s Server) checkServer(ck *checker) {
	if s.MaxConnections < 0 {
		ck.add("server.max_connections", "\"%d\": must not be negative (0 derives it from the file descriptor limit)", s.MaxConnections)
	}
	if s.MaxConnectionsPerIP < 0 {
		ck.add("server.max_connections_per_ip", "\"%d\": must not be negative (0 derives it from server.max_connections)", s.MaxConnectionsPerIP)
	} else if s.MaxConnections > 0 && s.MaxConnectionsPerIP > s.MaxConnections {
		ck.cross("server.max_connections_per_ip",
			fmt.Sprintf("\"%d\": must not be more than server.max_connections (\"%d\")", s.MaxConnectionsPerIP, s.MaxConnections),
			"server.max_connections",
			fmt.Sprintf("\"%d\": must not be less than server.max_connections_per_ip (\"%d\")", s.MaxConnections, s.MaxConnectionsPerIP))
	}

	switch {
	case s.TLSCert == "" && s.TLSKey == "":
		return
	case s.TLSCert == "":
		ck.cross("server.tls_cert", "must be set with server.tls_key", "server.tls_key", "needs server.tls_cert as well")
		return
	case s.TLSKey == "":
		ck.cross("server.tls_key", "must be set with server.tls_cert", "server.tls_cert", "needs server.tls_key as well")
		return
	}
	if s.TLSSelfSigned {
		ck.cross("server.tls_self_signed", "must not be set with server.tls_cert and server.tls_key: use one or the other",
			"server.tls_cert", "must not be set with server.tls_self_signed: use one or the other")
		return
	}
	certPEM, certOK := readTLSFile(ck, "server.tls_cert", s.TLSCert)
	keyPEM, keyOK := readTLSFile(ck, "server.tls_key", s.TLSKey)
	if !certOK || !keyOK {
		return
	}
	// The parser's message names what is wrong (no PEM data, a key that
	// does not match the certificate) and never the key's bytes.
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		ck.cross("server.tls_key", "\""+s.TLSKey+"\": not a key for server.tls_cert: "+err.Error(),
			"server.tls_cert", "\""+s.TLSCert+"\": not a certificate for server.tls_key: "+err.Error())
	}
}

// readTLSFile reads a certificate or key file, reporting on key why not.
func readTLSFile(ck *checker, key, path string) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		ck.add(key, "%q: cannot read: %v", path, err)
		return nil, false
	}
	return data, true
}
