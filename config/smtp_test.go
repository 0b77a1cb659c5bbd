package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func smtpConfig(t *testing.T, url, from string, password bool) Config {
	c := Default()
	c.SMTP = SMTP{URL: url, From: from}
	if password {
		c.SMTP.PasswordFile = filepath.Join(t.TempDir(), "smtp-password")
		if err := os.WriteFile(c.SMTP.PasswordFile, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestSMTPRejects(t *testing.T) {
	const from = "lacop <auth@example.com>"
	tests := []struct {
		name, url, from string
		password        bool
		key, says       string
	}{
		{"scheme", "http://mail.example.com", from, false, "smtp.url", "smtp://"},
		{"password in url", "smtp://u:pw@mail.example.com", from, false, "smtp.url", "smtp.password_file"},
		{"no host", "smtp://", from, false, "smtp.url", "no host"},
		{"bad port", "smtp://mail.example.com:0", from, false, "smtp.url", "port"},
		{"path", "smtp://mail.example.com/x", from, false, "smtp.url", "path"},
		{"unknown option", "smtp://mail.example.com?tls=no", from, false, "smtp.url", "unknown option"},
		{"starttls true", "smtp://mail.example.com?starttls=true", from, false, "smtp.url", "only be set to false"},
		{"starttls off remote", "smtp://mail.example.com?starttls=false", from, false, "smtp.url", "loopback"},
		{"starttls off smtps", "smtps://127.0.0.1?starttls=false", from, false, "smtp.url", "smtps"},
		{"user without password file", "smtp://u@mail.example.com", from, false, "smtp.password_file", "names a user"},
		{"password file without user", "smtp://mail.example.com", from, true, "smtp.url", "user"},
		{"login without TLS", "smtp://u@127.0.0.1:25?starttls=false", from, true, "smtp.url", "never sent without TLS"},
		{"no from", "smtp://mail.example.com", "", false, "smtp.from", "must be set"},
		{"bad from", "smtp://mail.example.com", "not an address", false, "smtp.from", "not a mail address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := smtpConfig(t, tt.url, tt.from, tt.password)
			lines := errorLines(t, c.Validate())
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.key+": ") || !strings.Contains(lines[0], tt.says) {
				t.Errorf("Validate() = %q; want one error on %s saying %q", lines, tt.key, tt.says)
			}
			if strings.Contains(strings.Join(lines, "\n"), "pw@") {
				t.Errorf("the message repeats a password from the URL: %q", lines)
			}
		})
	}
	t.Run("password file missing", func(t *testing.T) {
		c := smtpConfig(t, "smtp://u@mail.example.com", from, false)
		c.SMTP.PasswordFile = filepath.Join(t.TempDir(), "nothing")
		if lines := errorLines(t, c.Validate()); len(lines) != 1 || !strings.HasPrefix(lines[0], "smtp.password_file: ") {
			t.Errorf("Validate() = %q; want one error on smtp.password_file", lines)
		}
	})
	t.Run("password file without url", func(t *testing.T) {
		c := Default()
		c.SMTP.PasswordFile = "/run/secrets/smtp"
		if lines := errorLines(t, c.Validate()); len(lines) != 1 || !strings.HasPrefix(lines[0], "smtp.password_file: ") {
			t.Errorf("Validate() = %q; want one error on smtp.password_file", lines)
		}
	})
}

func TestSMTPServer(t *testing.T) {
	tests := []struct {
		url      string
		password bool
		want     SMTPServer
	}{
		{"smtp://mail.example.com", false, SMTPServer{Host: "mail.example.com", Port: 587}},
		{"smtp://lacop@mail.example.com:2525", true, SMTPServer{Host: "mail.example.com", Port: 2525, User: "lacop", Password: "s3cret"}},
		{"smtps://lacop@mail.example.com", true, SMTPServer{Host: "mail.example.com", Port: 465, User: "lacop", Password: "s3cret", ImplicitTLS: true}},
		{"smtp://127.0.0.1:1025?starttls=false", false, SMTPServer{Host: "127.0.0.1", Port: 1025, NoTLS: true}},
		{"smtp://[::1]:1025?starttls=false", false, SMTPServer{Host: "::1", Port: 1025, NoTLS: true}},
		{"smtp://localhost:1025/?starttls=false", false, SMTPServer{Host: "localhost", Port: 1025, NoTLS: true}},
	}
	for _, tt := range tests {
		c := smtpConfig(t, tt.url, "auth@example.com", tt.password)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v; want nil", tt.url, err)
			continue
		}
		got, err := c.SMTP.Server()
		if err != nil || got != tt.want {
			t.Errorf("%s: Server() = %+v, %v; want %+v", tt.url, got, err, tt.want)
		}
	}
	if Default().SMTP.Enabled() {
		t.Error("mail is on by default; it must need smtp.url")
	}
}
