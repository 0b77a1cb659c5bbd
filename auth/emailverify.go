package auth

import (
	"context"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

// EmailVerifyTTL is how long the link confirming a new address opens.
const EmailVerifyTTL = 24 * time.Hour

var errEmailLinkDead = &lacop.Error{Code: lacop.EINVALID,
	Message: "This confirmation link is no longer valid: it was used, it expired, or a newer change was asked for. Change your address again from your account."}

// RequestEmailChange is a change of address when lacop sends mail: after
// the password, a link goes to the new address and nothing changes until
// it is opened (ConfirmEmailChange), so nobody moves an account to an
// address they do not hold, and a typo locks nobody out. A newer request
// voids the older link.
func (s *Service) RequestEmailChange(ctx context.Context, id *Identity, pw, newEmail string, c Client) error {
	if err := s.confirmPassword(ctx, id, pw, "email_change", c); err != nil {
		return err
	}
	email := lacop.NormalizeEmail(newEmail)
	if email == id.User.Email {
		return lacop.Errorf(lacop.EINVALID, "That is already your email address.")
	}
	if err := (&lacop.User{Email: email}).Validate(); err != nil {
		return err
	}
	switch _, err := s.Users.UserByEmail(ctx, email); lacop.ErrorCode(err) {
	case lacop.ENOTFOUND:
	case "":
		return lacop.Errorf(lacop.ECONFLICT, "Another account uses %s.", email)
	default:
		return unavailable("look up user", err)
	}
	token := s.randomString(secretLen)
	now := s.Now()
	// Data: the new address, and the session that asked (kept, under a
	// fresh secret, when the link is opened in its browser).
	if err := s.Links.PutLink(ctx, &lacop.Link{Hash: HashSecret(token), Kind: lacop.LinkEmailVerify, UserID: id.User.ID,
		Data: email + "\n" + id.Session.ID, CreatedAt: now, ExpiresAt: now.Add(EmailVerifyTTL)}, true); err != nil {
		return unavailable("store link", err)
	}
	to := *id.User
	to.Email = email
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditEmailChangeRequested, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"to": email}}},
		s.letter(&to, email, "verify_email", map[string]string{"link": s.Config.Tokens.URL + "/verify-email/" + token,
			"expires": mailTime(now.Add(EmailVerifyTTL)), "new": email}, c)...)...)
	return nil
}

// EmailChange is what a confirmation link would change.
type EmailChange struct {
	User     *lacop.User
	NewEmail string
	// SessionID is the session that asked for the change.
	SessionID string
}

// EmailChangeTarget reads a confirmation link without using it.
func (s *Service) EmailChangeTarget(ctx context.Context, token string) (*EmailChange, error) {
	u, l, err := s.linkUser(ctx, token, lacop.LinkEmailVerify, errEmailLinkDead)
	if err != nil {
		return nil, err
	}
	email, sessionID, _ := strings.Cut(l.Data, "\n")
	return &EmailChange{User: u, NewEmail: email, SessionID: sessionID}, nil
}

// ConfirmEmailChange makes the change a link confirms: the address
// changes, the old one is told, and the email_changed row ends every
// other session and token. current is this browser's session when it is
// the person's (it stays, under a fresh secret); otherwise every session
// ends.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string, current *Identity, c Client) (*Outcome, error) {
	ch, err := s.EmailChangeTarget(ctx, token)
	if err != nil {
		return nil, err
	}
	used, err := s.Links.UseLink(ctx, HashSecret(token), s.Now())
	if err != nil {
		return nil, unavailable("use link", err)
	} else if !used {
		return nil, errEmailLinkDead
	}
	u := ch.User
	if err := s.Users.SetEmail(ctx, u.ID, ch.NewEmail); err != nil {
		switch lacop.ErrorCode(err) {
		case lacop.EINVALID, lacop.ECONFLICT:
			return nil, err
		}
		return nil, unavailable("set email", err)
	}
	var sess *lacop.Session
	if current != nil && current.User.ID == u.ID {
		sess = current.Session
	}
	e := &lacop.AuditEvent{Type: lacop.AuditEmailChanged, UserID: u.ID, ActorID: u.ID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"from": u.Email, "to": ch.NewEmail, "verified": "true"}}
	if sess != nil {
		e.SessionID = sess.ID
	}
	s.record(ctx, append([]*lacop.AuditEvent{e}, s.letter(u, u.Email, "email_changed", map[string]string{"new": ch.NewEmail}, c)...)...)
	return s.end(ctx, ReasonEmailChanged, u.ID, sess, u.ID, c)
}
