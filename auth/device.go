package auth

import (
	"context"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
)

// NotMeTTL is how long the "This wasn't me" button of a new-sign-in mail
// works.
const NotMeTTL = 7 * 24 * time.Hour

// DeviceMaxAge is how long a browser's device cookie, and lacop's memory of
// it, last without a sign-in: the most browsers keep a cookie.
const DeviceMaxAge = 400 * 24 * time.Hour

var errNotMeLinkDead = &lacop.Error{Code: lacop.EINVALID,
	Message: "This link is no longer valid: it was used or it expired. If someone else is using your account, sign out everywhere from your account's Sessions page and change your password."}

// noteDevice remembers that u signed in into sess from the browser whose
// device cookie holds device ("" or malformed: a browser without one) and
// returns the id the browser should keep. A sign-in from a device u has
// not used before, other than the very first, mails u with a "This wasn't
// me" link, unless u turned those mails off.
func (s *Service) noteDevice(ctx context.Context, u *lacop.User, sess *lacop.Session, device string, c Client) string {
	if s.Devices == nil {
		return ""
	}
	if !wellFormed(device) {
		device = s.randomString(secretLen)
	}
	ctx = context.WithoutCancel(ctx)
	known, first, err := s.Devices.SeenDevice(ctx, u.ID, HashSecret(device), s.Now())
	if err != nil {
		s.Logger.Warn("device not recorded", "user", u.ID, "err", err)
		return device
	}
	if known || first || s.Letters == nil {
		return device
	}
	if on, err := s.Devices.NewSignInAlerts(ctx, u.ID); err != nil || !on {
		return device
	}
	token := s.randomString(secretLen)
	now := s.Now()
	if err := s.Links.PutLink(ctx, &lacop.Link{Hash: HashSecret(token), Kind: lacop.LinkNotMe, UserID: u.ID, Data: sess.ID,
		CreatedAt: now, ExpiresAt: now.Add(NotMeTTL)}, false); err != nil {
		s.Logger.Warn("new sign-in link not stored", "user", u.ID, "err", err)
		return device
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditLoginNewDevice, UserID: u.ID, SessionID: sess.ID,
		IP: c.IP, UserAgent: c.UserAgent}},
		s.letter(u, "", "new_sign_in", map[string]string{"link": s.Config.Tokens.URL + "/not-me/" + token,
			"expires": mailTime(now.Add(NotMeTTL))}, c)...)...)
	return device
}

// NotMe is what a "This wasn't me" link is about.
type NotMe struct {
	User *lacop.User
	// Browser names the sign-in the mail was about, when its session
	// still exists.
	Browser string
}

// NotMeTarget reads a "This wasn't me" link without using it.
func (s *Service) NotMeTarget(ctx context.Context, token string) (*NotMe, error) {
	u, l, err := s.linkUser(ctx, token, lacop.LinkNotMe, errNotMeLinkDead)
	if err != nil {
		return nil, err
	}
	n := &NotMe{User: u}
	if sess, err := s.Sessions.SessionByID(ctx, l.Data); err == nil && sess.UserID == u.ID {
		n.Browser = agent.Describe(sess.UserAgent).String()
	}
	return n, nil
}

// ConfirmNotMe is the button of a "This wasn't me" link: every session and
// token of the account ends — the one the mail was about and the others —
// and a security concern is recorded (the concern_reported row), for the
// person to change their password next.
func (s *Service) ConfirmNotMe(ctx context.Context, token string, c Client) (*Outcome, *lacop.User, error) {
	u, l, err := s.linkUser(ctx, token, lacop.LinkNotMe, errNotMeLinkDead)
	if err != nil {
		return nil, nil, err
	}
	used, err := s.Links.UseLink(ctx, HashSecret(token), s.Now())
	if err != nil {
		return nil, nil, unavailable("use link", err)
	} else if !used {
		return nil, nil, errNotMeLinkDead
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditConcernReported, UserID: u.ID, SessionID: l.Data, ActorID: u.ID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"via": "new_sign_in_mail"}})
	out, err := s.end(ctx, ReasonConcern, u.ID, nil, u.ID, c)
	return out, u, err
}

// linkUser reads a live link of kind and its user (enabled), or dead.
func (s *Service) linkUser(ctx context.Context, token, kind string, dead error) (*lacop.User, *lacop.Link, error) {
	if !wellFormed(token) {
		return nil, nil, dead
	}
	l, err := s.Links.LinkByHash(ctx, HashSecret(token), s.Now())
	switch lacop.ErrorCode(err) {
	case "":
	case lacop.ENOTFOUND:
		return nil, nil, dead
	default:
		return nil, nil, unavailable("look up link", err)
	}
	if l.Kind != kind {
		return nil, nil, dead
	}
	u, err := s.Users.UserByID(ctx, l.UserID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND || err == nil && u.Disabled {
		return nil, nil, dead
	} else if err != nil {
		return nil, nil, unavailable("look up user", err)
	}
	return u, l, nil
}

// NewSignInAlerts reports whether u gets mail about sign-ins from new
// devices, and SetNewSignInAlerts changes it (the person's own choice, on
// /security; the other security alerts cannot be turned off).
func (s *Service) NewSignInAlerts(ctx context.Context, userID string) (bool, error) {
	if s.Devices == nil {
		return false, nil
	}
	on, err := s.Devices.NewSignInAlerts(ctx, userID)
	if err != nil {
		return false, unavailable("read alert choice", err)
	}
	return on, nil
}

// SetNewSignInAlerts turns new-sign-in mails on or off for id's person.
func (s *Service) SetNewSignInAlerts(ctx context.Context, id *Identity, on bool, c Client) error {
	if err := s.Devices.SetNewSignInAlerts(ctx, id.User.ID, on); err != nil {
		return unavailable("set alert choice", err)
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditAlertsChanged, UserID: id.User.ID, SessionID: id.Session.ID, ActorID: id.User.ID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"new_sign_in": boolString(on)}})
	return nil
}
