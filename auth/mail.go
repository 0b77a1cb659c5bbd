package auth

import (
	"context"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
	"github.com/lacop/lacop/mail"
)

// Letters turns a letter into the outbox delivery that sends it
// (mail.Queue). The Service has none when lacop sends no mail.
type Letters interface {
	Delivery(l mail.Letter) (*lacop.Delivery, error)
}

// letter returns the audit events that queue a mail to u with template,
// to be recorded with the event it announces (one step: both or neither).
// None when lacop sends no mail or u has no address. to overrides u.Email
// (a change of address is told to the old one). The event's time, address
// and browser are filled in from c and now.
func (s *Service) letter(u *lacop.User, to, template string, data map[string]string, c Client) []*lacop.AuditEvent {
	if s.Letters == nil || u == nil {
		return nil
	}
	if to == "" {
		to = u.Email
	}
	if to == "" {
		return nil
	}
	full := map[string]string{
		"time":    mailTime(s.Now()),
		"ip":      orUnknown(c.IP, "an unknown address"),
		"browser": orUnknown(agent.Describe(c.UserAgent).String(), "Unknown browser"),
	}
	if c.Via == ViaCLI {
		full["ip"], full["browser"] = "the server itself", "lacop command line"
	}
	for k, v := range data {
		full[k] = v
	}
	d, err := s.Letters.Delivery(mail.Letter{To: to, Name: u.Name, Template: template, Data: full})
	if err != nil {
		s.Logger.Error("mail not queued", "template", template, "user", u.ID, "err", err)
		return nil
	}
	return []*lacop.AuditEvent{{Type: lacop.AuditMailQueued, UserID: u.ID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"template": template, "delivery": d.ID}, Outbox: []*lacop.Delivery{d}}}
}

func orUnknown(v, unknown string) string {
	if v == "" {
		return unknown
	}
	return v
}

// mailTime is how mails give a deadline.
func mailTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// reuseLetter tells the person that a session of theirs ended because its
// refresh token was presented twice, naming that session's browser (not
// the one that presented it).
func (s *Service) reuseLetter(ctx context.Context, rt *lacop.RefreshToken, c Client) []*lacop.AuditEvent {
	if s.Letters == nil {
		return nil
	}
	u, err := s.Users.UserByID(ctx, rt.UserID)
	if err != nil {
		return nil
	}
	data := map[string]string{}
	if sess, err := s.Sessions.SessionByID(ctx, rt.SessionID); err == nil {
		data["browser"] = orUnknown(agent.Describe(sess.UserAgent).String(), "Unknown browser")
	}
	return s.letter(u, "", "token_reuse", data, c)
}

// lockedLetter tells the person that sign-ins to their account are paused:
// key is the account's password counter (by email) or its second factor's
// (by id), just banned until until.
func (s *Service) lockedLetter(ctx context.Context, key string, until time.Time, c Client) {
	if s.Letters == nil {
		return
	}
	var u *lacop.User
	var err error
	step := "password"
	switch {
	case strings.HasPrefix(key, keyAccount):
		u, err = s.Users.UserByEmail(ctx, strings.TrimPrefix(key, keyAccount))
	case strings.HasPrefix(key, keyFactor):
		u, err = s.Users.UserByID(ctx, strings.TrimPrefix(key, keyFactor))
		step = "second_factor"
	default:
		return
	}
	if err != nil {
		return // no such account: guesses at an address nobody has
	}
	s.record(ctx, s.letter(u, "", "account_locked", map[string]string{"step": step, "until": mailTime(until)}, c)...)
}
