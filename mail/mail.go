// Package mail sends lacop's mail — security alerts, password resets —
// through the operator's SMTP server, rendered from embedded templates in
// plain text and HTML.
//
// What to send is a Letter. It travels as an outbox delivery (kind Kind),
// written in the same step as the event it announces and sealed with the
// data directory's key, because a letter may hold a one-time link that is
// as good as a password for half an hour; the outbox's sender opens it and
// hands it to Mailer.Send, which reports whether a failure is worth trying
// again.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/seal"
)

// Kind is the outbox delivery kind of a letter.
const Kind = "mail"

// key groups every letter under one receiver, the SMTP server, so the
// outbox bounds the connections lacop opens to it.
const key = "smtp"

// Letter is one mail to one person.
type Letter struct {
	To string `json:"to"`
	// Name greets the person; empty, the greeting has no name.
	Name string `json:"name"`
	// Template names the letter: one of Templates().
	Template string `json:"template"`
	// Data fills the template: times, addresses, browsers, links.
	Data map[string]string `json:"data,omitempty"`
}

// Queue turns letters into outbox deliveries and back. Payloads are sealed
// and bound to their delivery's id, so a copy of the database alone does
// not hand out the links in them, nor can a payload be moved to another row.
type Queue struct {
	sealer *seal.Sealer
	now    func() time.Time
}

// NewQueue returns a Queue sealing with sealer; now stamps deliveries.
func NewQueue(sealer *seal.Sealer, now func() time.Time) *Queue {
	if now == nil {
		now = time.Now
	}
	return &Queue{sealer: sealer, now: now}
}

// Delivery seals l into a delivery due at once.
func (q *Queue) Delivery(l Letter) (*lacop.Delivery, error) {
	if _, err := mail.ParseAddress(l.To); err != nil {
		return nil, fmt.Errorf("mail: %q is not an address", l.To)
	}
	if !known(l.Template) {
		return nil, fmt.Errorf("mail: no template %q", l.Template)
	}
	plain, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	id := "m" + rand.Text()
	now := q.now()
	return &lacop.Delivery{ID: id, Kind: Kind, Key: key, Payload: q.sealer.Seal(plain, []byte(Kind+":"+id)),
		CreatedAt: now, NextAttemptAt: now}, nil
}

// Open reads the letter sealed in d.
func (q *Queue) Open(d *lacop.Delivery) (Letter, error) {
	var l Letter
	plain, err := q.sealer.Open(d.Payload, []byte(Kind+":"+d.ID))
	if err != nil {
		return l, fmt.Errorf("mail: delivery %s: %w", d.ID, err)
	}
	if err := json.Unmarshal(plain, &l); err != nil {
		return l, fmt.Errorf("mail: delivery %s: %w", d.ID, err)
	}
	return l, nil
}

// Server is the SMTP server to send through.
type Server struct {
	Host     string
	Port     int
	User     string
	Password string
	// ImplicitTLS is smtps (TLS from the first byte); otherwise STARTTLS
	// is required, unless NoTLS (a relay on the loopback).
	ImplicitTLS, NoTLS bool
}

// Mailer sends letters through one SMTP server.
type Mailer struct {
	server Server
	from   string
	// PublicURL is lacop's address, for links and the footer.
	PublicURL string
	// Timeout bounds one connection, from dial to the last reply.
	Timeout time.Duration
	// TLSConfig, when set, replaces the system's roots and server name
	// checks (tests); nil verifies the server as usual.
	TLSConfig *tls.Config
}

// NewMailer returns a Mailer sending from from (an address, with or
// without a display name) through srv.
func NewMailer(srv Server, from, publicURL string) (*Mailer, error) {
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", from, err)
	}
	return &Mailer{server: srv, from: from, PublicURL: publicURL, Timeout: 15 * time.Second}, nil
}

// ErrPermanent marks a failure that trying again will not mend: the server
// refused the letter or its address for good (5xx), or it cannot be
// rendered.
var ErrPermanent = errors.New("mail: refused for good")

// Send renders l and hands it to the server. A failure wrapping
// ErrPermanent is final; any other may pass if tried again (the server is
// down, busy, or refused for now).
func (m *Mailer) Send(ctx context.Context, l Letter) error {
	r, err := Render(l, m.PublicURL)
	if err != nil {
		return errors.Join(ErrPermanent, err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return errors.Join(ErrPermanent, err)
	}
	if err := msg.To(l.To); err != nil {
		return errors.Join(ErrPermanent, err)
	}
	msg.Subject(r.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)

	opts := []gomail.Option{gomail.WithPort(m.server.Port), gomail.WithTimeout(m.Timeout)}
	switch {
	case m.server.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case m.server.NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(m.TLSConfig))
	}
	if m.server.User != "" {
		// The strongest mechanism the server offers; PLAIN and LOGIN only
		// over TLS (go-mail refuses them in the clear).
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.server.User), gomail.WithPassword(m.server.Password))
	}
	c, err := gomail.NewClient(m.server.Host, opts...)
	if err != nil {
		return errors.Join(ErrPermanent, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if se, ok := errors.AsType[*gomail.SendError](err); ok && !se.IsTemp() && se.ErrorCode() >= 500 {
			return errors.Join(ErrPermanent, err)
		}
		return err
	}
	return nil
}
