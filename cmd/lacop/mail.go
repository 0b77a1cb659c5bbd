package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/mail"
	"github.com/lacop/lacop/outbox"
	"github.com/lacop/lacop/seal"
)

// openMail sets up mail when smtp.url is set: letters are sealed with the
// data directory's key by every process (the CLI's changes send mail too),
// and sent by serve's outbox sender.
func (m *Main) openMail(sealer *seal.Sealer) error {
	if !m.Config.SMTP.Enabled() {
		return nil
	}
	srv, err := m.Config.SMTP.Server()
	if err != nil {
		return err
	}
	m.Mailer, err = mail.NewMailer(mail.Server{Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password,
		ImplicitTLS: srv.ImplicitTLS, NoTLS: srv.NoTLS}, m.Config.SMTP.From, m.Config.PublicURL)
	if err != nil {
		return err
	}
	m.Letters = mail.NewQueue(sealer, nil)
	m.Auth.Letters = m.Letters
	return nil
}

// sendMail is the outbox handler of letters.
func (m *Main) sendMail(ctx context.Context, d *lacop.Delivery) error {
	l, err := m.Letters.Open(d)
	if err != nil {
		return outbox.Permanent(err) // sealed with another key: it will never open
	}
	if err := m.Mailer.Send(ctx, l); err != nil {
		if errors.Is(err, mail.ErrPermanent) {
			return outbox.Permanent(err)
		}
		return err
	}
	return nil
}

// mailFailed records a letter given up: which one, for whom, and why (the
// server's answer, never the letter's content).
func (m *Main) mailFailed(ctx context.Context, d *lacop.Delivery, lastErr string) {
	detail := map[string]string{"delivery": d.ID, "error": lastErr, "attempts": fmt.Sprint(d.Attempts)}
	e := &lacop.AuditEvent{Type: lacop.AuditMailFailed, Detail: detail}
	if l, err := m.Letters.Open(d); err == nil {
		detail["template"] = l.Template
		if u, err := m.Auth.Users.UserByEmail(ctx, l.To); err == nil {
			e.UserID = u.ID
		}
	}
	m.Auth.Record(ctx, e)
}
