package mail_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/mail"
	"github.com/lacop/lacop/mail/mailpittest"
	"github.com/lacop/lacop/seal"
)

// everything holds every key any template asks for.
var everything = map[string]string{
	"time": "5 December 2026, 18:40 UTC", "ip": "203.0.113.7", "browser": "Firefox 140 on Linux <b>x</b>",
	"new": "new@example.com", "by": "self", "kept": "true", "count": "3", "step": "password", "until": "19:00 UTC",
	"link": "https://auth.example.com/reset/TOKEN", "expires": "5 December 2026, 19:10 UTC", "name": "Work <i>laptop</i>",
}

func TestRenderEveryTemplate(t *testing.T) {
	names := mail.Templates()
	if len(names) < 7 {
		t.Fatalf("Templates() = %q; want the security alerts at least", names)
	}
	for _, name := range names {
		r, err := mail.Render(mail.Letter{To: "ann@example.com", Name: "Ann <Admin>", Template: name, Data: everything}, "https://auth.example.com/")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.Subject == "" || strings.ContainsAny(r.Subject, "\r\n") {
			t.Errorf("%s: subject %q; want one line", name, r.Subject)
		}
		if !strings.Contains(r.Text, "https://auth.example.com") || strings.Contains(r.Text, "auth.example.com//") {
			t.Errorf("%s: the text does not name the service at its address:\n%s", name, r.Text)
		}
		if strings.Contains(r.HTML, "<b>x</b>") || strings.Contains(r.HTML, "<Admin>") {
			t.Errorf("%s: markup from the data reached the HTML unescaped", name)
		}
		if strings.Contains(r.HTML, "browser") && !strings.Contains(r.HTML, "&lt;b&gt;x&lt;/b&gt;") && strings.Contains(r.Text, "<b>x</b>") {
			t.Errorf("%s: the browser shows in the text but not, escaped, in the HTML", name)
		}
		if !strings.Contains(r.HTML, "Hello Ann &lt;Admin&gt;,") {
			t.Errorf("%s: the HTML greets no one by name", name)
		}
	}
}

func TestRenderRefusesMissingData(t *testing.T) {
	_, err := mail.Render(mail.Letter{To: "ann@example.com", Template: "password_changed", Data: map[string]string{"time": "now"}}, "https://auth.example.com")
	if err == nil {
		t.Error("a letter without the data its template asks for rendered; want an error rather than a gap in a mail")
	}
	if _, err := mail.Render(mail.Letter{To: "ann@example.com", Template: "no_such"}, ""); err == nil {
		t.Error("an unknown template rendered")
	}
}

func newQueue(t *testing.T) *mail.Queue {
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return mail.NewQueue(s, nil)
}

func TestQueueSealsLetters(t *testing.T) {
	q := newQueue(t)
	const link = "https://auth.example.com/reset/SECRET-LINK-TOKEN"
	l := mail.Letter{To: "ann@example.com", Name: "Ann", Template: "password_changed", Data: map[string]string{"link": link}}
	d, err := q.Delivery(l)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != mail.Kind || d.ID == "" || d.NextAttemptAt.IsZero() {
		t.Errorf("delivery %+v; want kind %q, an id, due now", d, mail.Kind)
	}
	if bytes.Contains(d.Payload, []byte("SECRET")) || bytes.Contains(d.Payload, []byte("ann@example.com")) {
		t.Error("the stored payload holds the letter in the clear")
	}
	got, err := q.Open(d)
	if err != nil || got.To != l.To || got.Data["link"] != link {
		t.Errorf("Open = %+v, %v; want the letter back", got, err)
	}
	other, _ := q.Delivery(l)
	other.Payload = d.Payload // a payload moved onto another row
	if _, err := q.Open(other); err == nil {
		t.Error("a payload opened under another delivery's id")
	}
	for _, bad := range []mail.Letter{{To: "not an address", Template: "password_changed"}, {To: "ann@example.com", Template: "nope"}} {
		if _, err := q.Delivery(bad); err == nil {
			t.Errorf("Delivery(%+v) = nil error", bad)
		}
	}
}

func letter(to string) mail.Letter {
	return mail.Letter{To: to, Name: "Ann", Template: "password_changed", Data: everything}
}

func TestSendThroughMailpit(t *testing.T) {
	t.Parallel()
	users := map[string]string{"lacop": "s3cret-password"}
	for _, tt := range []struct {
		name string
		opts mailpittest.Options
		srv  func(port int) mail.Server
	}{
		{"plain on loopback", mailpittest.Options{}, func(p int) mail.Server {
			return mail.Server{Host: "127.0.0.1", Port: p, NoTLS: true}
		}},
		{"STARTTLS with a login", mailpittest.Options{STARTTLS: true, Users: users}, func(p int) mail.Server {
			return mail.Server{Host: "127.0.0.1", Port: p, User: "lacop", Password: users["lacop"]}
		}},
		{"smtps with a login", mailpittest.Options{ImplicitTLS: true, Users: users}, func(p int) mail.Server {
			return mail.Server{Host: "127.0.0.1", Port: p, User: "lacop", Password: users["lacop"], ImplicitTLS: true}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mp := mailpittest.Start(t, tt.opts)
			m, err := mail.NewMailer(tt.srv(mp.SMTPPort), "lacop <auth@example.com>", "https://auth.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts.STARTTLS || tt.opts.ImplicitTLS {
				m.TLSConfig = mp.TLSConfig()
			}
			if err := m.Send(t.Context(), letter("ann@example.com")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := mp.Wait(t, "ann@example.com", 1, 5*time.Second)
			msg := got[0]
			if msg.Subject != "Your password was changed" || msg.From.Address != "auth@example.com" || msg.From.Name != "lacop" {
				t.Errorf("received %q from %+v", msg.Subject, msg.From)
			}
			if !strings.Contains(msg.Text, "203.0.113.7") || !strings.Contains(msg.HTML, "203.0.113.7") {
				t.Errorf("the message lacks its text or HTML part:\ntext %q\nhtml %q", msg.Text, msg.HTML)
			}
			if h := msg.Headers["Auto-Submitted"]; len(h) != 1 || h[0] != "auto-generated" {
				t.Errorf("Auto-Submitted = %q; want auto-generated (so no autoresponder answers it)", h)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	mp := mailpittest.Start(t, mailpittest.Options{Recipients: `@example\.com$`})
	srv := mail.Server{Host: "127.0.0.1", Port: mp.SMTPPort, NoTLS: true}
	m, err := mail.NewMailer(srv, "auth@example.com", "https://auth.example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := m.Send(ctx, letter("bob@elsewhere.test")); !errors.Is(err, mail.ErrPermanent) {
		t.Errorf("a recipient the server refuses: %v; want a permanent failure", err)
	}
	mp.Down()
	m.Timeout = 2 * time.Second
	if err := m.Send(ctx, letter("ann@example.com")); err == nil || errors.Is(err, mail.ErrPermanent) {
		t.Errorf("the server down: %v; want a failure worth retrying", err)
	}
	mp.Up()
	if err := m.Send(ctx, letter("ann@example.com")); err != nil {
		t.Errorf("the server back: %v", err)
	}
	// STARTTLS required by lacop, not offered by the server: nothing is
	// sent in the clear.
	tlsOnly, _ := mail.NewMailer(mail.Server{Host: "127.0.0.1", Port: mp.SMTPPort}, "auth@example.com", "")
	if err := tlsOnly.Send(ctx, letter("carl@example.com")); err == nil {
		t.Error("a letter went out in the clear to a server without STARTTLS")
	}
	// A login is never sent in the clear, even to a loopback relay.
	login, _ := mail.NewMailer(mail.Server{Host: "127.0.0.1", Port: mp.SMTPPort, NoTLS: true, User: "lacop", Password: "pw"}, "auth@example.com", "")
	if err := login.Send(ctx, letter("erin@example.com")); err == nil {
		t.Error("a login went out in the clear")
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Send(ctx2, letter("dora@example.com")); err == nil {
		t.Error("a send with a cancelled context succeeded")
	}
	if got := mp.To(t, "carl@example.com"); len(got) != 0 {
		t.Errorf("carl received %d message(s) over a connection without TLS", len(got))
	}
}
