package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/lacop/lacop"
)

// ErrWrongPassword answers a signed-in person who got their own password
// wrong when confirming a change. It is not a sign-in failure: the session
// is fine, so the web layer answers 403, not 401.
var ErrWrongPassword = &lacop.Error{Code: lacop.EINVALIDCREDENTIALS, Message: "The password is not correct."}

// maxConcernNote bounds the note a person may attach to a security concern.
const maxConcernNote = 2000

// confirmPassword checks the signed-in user's own password before a change
// (action names it for the audit log). Whoever holds a stolen cookie must
// not be able to test passwords with it, so each try counts with the
// account's sign-in failures and its client address's: past the limit it
// is refused, right or wrong, like a sign-in, and each wrong one is
// recorded against the session that sent it.
func (s *Service) confirmPassword(ctx context.Context, id *Identity, pw, action string, c Client) error {
	att, err := s.beginAttempt(ctx, passwordKeys(id.User.Email, c.IP), c)
	if err != nil {
		var t *Throttled
		if errors.As(err, &t) {
			s.recordThrottled(ctx, refusal{userID: id.User.ID, sessionID: id.Session.ID, email: id.User.Email, step: "password_confirm"}, t, c)
		}
		return err
	}
	ok := false
	if pw == "" || len(pw) > maxPasswordLen {
		if err := s.Passwords.VerifyDummy(ctx, pw[:min(len(pw), maxPasswordLen)]); err != nil {
			return hashNotRun(err)
		}
	} else if ok, err = s.Passwords.Verify(ctx, pw, id.User.PasswordHash); err != nil {
		return hashNotRun(err)
	}
	if !ok {
		s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditPasswordConfirmFailed, UserID: id.User.ID, SessionID: id.Session.ID,
			ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"action": action}})
		if err := att.failed(ctx); err != nil {
			return err
		}
		return ErrWrongPassword
	}
	att.succeeded(ctx)
	return nil
}

// ChangePassword sets a new password after checking the current one, ends
// every other session and token, and gives this session a fresh secret.
// A wrong current password or a weak new one ends nothing.
func (s *Service) ChangePassword(ctx context.Context, id *Identity, current, next string, c Client) (*Outcome, error) {
	if err := s.confirmPassword(ctx, id, current, "password_change", c); err != nil {
		return nil, err
	}
	hash, err := s.hashNewPassword(ctx, next, id.User.Email)
	if err != nil {
		return nil, err
	}
	if err := s.Users.SetPasswordHash(ctx, id.User.ID, hash); err != nil {
		return nil, unavailable("set password", err)
	}
	s.voidResetLinks(ctx, id.User.ID)
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditPasswordChanged, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": "self"}}},
		s.letter(id.User, "", "password_changed", map[string]string{"by": "self"}, c)...)...)
	return s.end(ctx, ReasonPasswordChanged, id.User.ID, id.Session, id.User.ID, c)
}

// ChangeEmail moves the account to a new address after checking the
// password, with the same revocation as a password change.
func (s *Service) ChangeEmail(ctx context.Context, id *Identity, pw, newEmail string, c Client) (*Outcome, error) {
	if err := s.confirmPassword(ctx, id, pw, "email_change", c); err != nil {
		return nil, err
	}
	email := lacop.NormalizeEmail(newEmail)
	if email == id.User.Email {
		return nil, lacop.Errorf(lacop.EINVALID, "That is already your email address.")
	}
	if err := s.Users.SetEmail(ctx, id.User.ID, email); err != nil {
		switch lacop.ErrorCode(err) {
		case lacop.EINVALID, lacop.ECONFLICT:
			return nil, err
		}
		return nil, unavailable("set email", err)
	}
	// The old address is told: whoever changed it may have taken the
	// account, and the new one is theirs.
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditEmailChanged, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"from": id.User.Email, "to": email}}},
		s.letter(id.User, id.User.Email, "email_changed", map[string]string{"new": email}, c)...)...)
	return s.end(ctx, ReasonEmailChanged, id.User.ID, id.Session, id.User.ID, c)
}

// ReportConcern is the "this wasn't me" button: it ends every other session
// and token at once, gives this session a fresh secret, and flags the
// report for administrators. No password is asked: someone who fears their
// account is in use by another must be able to act at once.
func (s *Service) ReportConcern(ctx context.Context, id *Identity, note string, c Client) (*Outcome, error) {
	note = strings.TrimSpace(note)
	if len(note) > maxConcernNote {
		return nil, lacop.Errorf(lacop.EINVALID, "The note is too long (at most %d characters).", maxConcernNote)
	} else if !lacop.PlainText(note, true) {
		// The note reaches the admin pages and terminals; checked before
		// anything ends, so a refused report changes nothing.
		return nil, lacop.Errorf(lacop.EINVALID, "The note has control characters (such as escapes or bidi overrides); use plain text.")
	}
	out, err := s.end(ctx, ReasonConcern, id.User.ID, id.Session, id.User.ID, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditConcernReported, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"note": note, "revokedSessions": itoa(out.Revoked())}})
	return out, nil
}

// Activity lists the user's own audit events, newest first, so they can spot
// sign-ins that were not theirs. before pages backwards by event id.
func (s *Service) Activity(ctx context.Context, userID, before string, limit int) ([]*lacop.AuditEvent, error) {
	return s.AuditEvents(ctx, lacop.AuditFilter{UserID: userID, BeforeID: before, Limit: limit})
}

// AuditEvents lists audit events matching f, newest first, at most 200 at
// a time (50 when f.Limit is unset): the activity page and the admins' log.
func (s *Service) AuditEvents(ctx context.Context, f lacop.AuditFilter) ([]*lacop.AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	events, err := s.Audit.Events(ctx, f)
	if lacop.ErrorCode(err) == lacop.EINVALID {
		return nil, err
	} else if err != nil {
		return nil, unavailable("list audit events", err)
	}
	return events, nil
}

// enforceLimit ends the sessions idle the longest once a user has more than
// MaxPerUser, never the one just created.
func (s *Service) enforceLimit(ctx context.Context, userID, newID string, c Client) {
	if s.Config.MaxPerUser <= 0 {
		return
	}
	list, err := s.Sessions.UserSessions(ctx, userID) // most recently active first
	if err != nil {
		s.Logger.Warn("session limit: list sessions", "user", userID, "err", err)
		return
	}
	kept := 1 // the new session
	for _, sess := range list {
		if sess.ID == newID {
			continue
		}
		if kept < s.Config.MaxPerUser {
			kept++
			continue
		}
		if _, err := s.end(ctx, ReasonSessionLimit, userID, sess, "", c); err != nil {
			s.Logger.Warn("session limit: end session", "session", sess.ID, "err", err)
		}
	}
}
