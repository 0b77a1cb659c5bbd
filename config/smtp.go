package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// SMTP says how lacop sends mail (password resets, security alerts).
// Without URL nothing is sent and self-service reset is off.
type SMTP struct {
	// URL is smtp://[user@]host[:587] (STARTTLS, required) or
	// smtps://[user@]host[:465] (TLS from the start). STARTTLS may be
	// turned off with ?starttls=false for a relay on the loopback only.
	// The password never goes in the URL: see PasswordFile.
	URL string `yaml:"url"`
	// PasswordFile holds the SMTP password (its first line), read at start.
	PasswordFile string `yaml:"password_file"`
	// From is the sender: "lacop <auth@example.com>" or a bare address.
	From string `yaml:"from"`
}

// SMTPServer is smtp.url taken apart, for the mail package.
type SMTPServer struct {
	Host     string
	Port     int
	User     string
	Password string
	// ImplicitTLS is smtps: TLS from the first byte. Otherwise STARTTLS is
	// required unless NoTLS (loopback only).
	ImplicitTLS, NoTLS bool
}

// Enabled reports whether lacop sends mail.
func (s SMTP) Enabled() bool { return s.URL != "" }

// Server parses URL and reads the password file. Call it on a validated
// configuration; the error then only reports a file that changed since.
func (s SMTP) Server() (SMTPServer, error) {
	srv, msg := parseSMTPURL(s.URL)
	if msg != "" {
		return srv, fmt.Errorf("smtp.url: %s", msg)
	}
	if s.PasswordFile != "" {
		pw, msg := readPasswordFile(s.PasswordFile)
		if msg != "" {
			return srv, fmt.Errorf("smtp.password_file: %s", msg)
		}
		srv.Password = pw
	}
	return srv, nil
}

func (s SMTP) check(ck *checker) {
	if s.URL == "" {
		if s.PasswordFile != "" {
			ck.cross("smtp.password_file", "is set but smtp.url is not: nothing would be sent",
				"smtp.url", "must be set when smtp.password_file is")
		}
		return
	}
	srv, msg := parseSMTPURL(s.URL)
	if msg != "" {
		ck.add("smtp.url", "%s", msg)
		return
	}
	switch {
	case srv.User != "" && srv.NoTLS:
		ck.add("smtp.url", "names a user with starttls=false: a login is never sent without TLS")
	case srv.User != "" && s.PasswordFile == "":
		ck.cross("smtp.password_file", "must be set when smtp.url names a user",
			"smtp.url", "names a user: set its password in smtp.password_file")
	case srv.User == "" && s.PasswordFile != "":
		ck.cross("smtp.url", "must name the user (smtp://user@host) when smtp.password_file is set",
			"smtp.password_file", "is set but smtp.url names no user")
	case s.PasswordFile != "":
		if _, msg := readPasswordFile(s.PasswordFile); msg != "" {
			ck.add("smtp.password_file", "%s", msg)
		}
	}
	if strings.TrimSpace(s.From) == "" {
		ck.cross("smtp.from", "must be set when smtp.url is", "smtp.url", "needs smtp.from as well")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		ck.add("smtp.from", "%q: not a mail address (\"lacop <auth@example.com>\" or auth@example.com)", s.From)
	}
}

// parseSMTPURL takes smtp.url apart. Its messages never repeat the URL,
// which might hold a password someone put there against the advice.
func parseSMTPURL(raw string) (SMTPServer, string) {
	var srv SMTPServer
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return srv, "must be smtp://[user@]host[:port] or smtps://[user@]host[:port]"
	}
	switch u.Scheme {
	case "smtp":
		srv.Port = 587
	case "smtps":
		srv.Port, srv.ImplicitTLS = 465, true
	default:
		return srv, "must start with smtp:// (STARTTLS) or smtps:// (TLS)"
	}
	if _, set := u.User.Password(); set {
		return srv, "must not hold a password: put it in smtp.password_file"
	}
	srv.User = u.User.Username()
	srv.Host = u.Hostname()
	if srv.Host == "" {
		return srv, "names no host"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return srv, "has a port that is not 1–65535"
		}
		srv.Port = n
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return srv, "must not have a path or fragment"
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" {
			return srv, fmt.Sprintf("has an unknown option %q (only starttls=false is known)", k)
		}
	}
	if v, ok := q["starttls"]; ok {
		if len(v) != 1 || v[0] != "false" {
			return srv, "starttls may only be set to false"
		}
		if srv.ImplicitTLS {
			return srv, "starttls=false means nothing with smtps://, which is TLS from the start"
		}
		if !loopbackHost(srv.Host) {
			return srv, "starttls=false is allowed only for a relay on the loopback (127.0.0.1, ::1, localhost): mail holds sign-in links"
		}
		srv.NoTLS = true
	}
	return srv, ""
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// readPasswordFile returns the first line of path, or why it cannot.
func readPasswordFile(path string) (string, string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Sprintf("%q: cannot be read: %s", path, strings.TrimPrefix(err.Error(), "open "+path+": "))
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", fmt.Sprintf("%q: is empty", path)
	}
	return line, ""
}
