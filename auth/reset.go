package auth

import (
	"context"
	"errors"
	"time"

	"github.com/lacop/lacop"
)

// ResetTTL is how long a password-reset link opens: long enough to find
// the mail, short enough that an old mailbox copy is useless.
const ResetTTL = 30 * time.Minute

// Reset-request counters: how many links may be asked for per account
// (by the address typed, whether or not an account has it: 3) and per
// client address (regulation.max_failures_per_ip) within the regulation
// window, so nobody can flood a mailbox or use lacop to mail strangers.
const (
	keyResetAccount = "reset-account:"
	keyResetAddress = "reset-ip:"
	resetPerAccount = 3
)

// ErrResetOff is the answer to a reset request when lacop sends no mail:
// an administrator must make the link.
var ErrResetOff = &lacop.Error{Code: lacop.EFORBIDDEN,
	Message: "Password reset by mail is not set up here. Ask an administrator for a reset link."}

var errResetLinkDead = &lacop.Error{Code: lacop.EINVALID,
	Message: "This reset link is no longer valid: it was used, it expired, or a newer one was made. Ask for a new one."}

// RequestReset mails a password-reset link to the account with email, if
// there is one that may sign in. It answers the same way, in the same
// time, whether or not there is: the link is made and queued after the
// answer, so the answer costs one lookup either way. Requests are
// throttled per typed address and per client address, for existing and
// unknown addresses alike.
func (s *Service) RequestReset(ctx context.Context, email string, c Client) error {
	if s.Letters == nil {
		return ErrResetOff
	}
	email = lacop.NormalizeEmail(email)
	if !isEmail(email) {
		return lacop.Errorf(lacop.EINVALID, "Enter the email address of your account.")
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.throttleReset(ctx, email, c); err != nil {
		return err
	}
	u, err := s.Users.UserByEmail(ctx, email)
	switch lacop.ErrorCode(err) {
	case "":
	case lacop.ENOTFOUND:
		return nil
	default:
		return unavailable("look up user", err)
	}
	if u.Disabled {
		return nil
	}
	go func() {
		if _, err := s.resetLink(ctx, u, "", c, true); err != nil {
			s.Logger.Warn("password reset link not made", "user", u.ID, "err", err)
		}
	}()
	return nil
}

// throttleReset counts a reset request and refuses past the limits.
func (s *Service) throttleReset(ctx context.Context, email string, c Client) error {
	now := s.Now()
	keys := []string{keyResetAccount + email}
	limits := []int{resetPerAccount}
	if c.IP != "" {
		keys, limits = append(keys, keyResetAddress+AddressKey(c.IP)), append(limits, max(1, s.Config.Regulation.MaxFailuresPerIP))
	}
	if err := s.Regulation.RecordFailure(ctx, now, keys...); err != nil {
		return unavailable("count reset request", err)
	}
	window := s.Config.Regulation.Window
	if window <= 0 {
		window = 10 * time.Minute
	}
	for i, key := range keys {
		n, err := s.Regulation.CountFailures(ctx, key, now.Add(-window))
		if err != nil {
			return unavailable("count reset requests", err)
		}
		if n > limits[i] {
			return NewThrottled(now.Add(window))
		}
	}
	return nil
}

// MakeResetLink makes a reset link for u on an administrator's or the
// operator's say and returns it, for them to hand over; nothing is mailed
// and the link is in no log. It voids any earlier link.
func (s *Service) MakeResetLink(ctx context.Context, userID, actorID string, c Client) (string, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", lacop.Errorf(lacop.EINVALID, "%s is disabled: enable the account first.", u.Email)
	}
	return s.resetLink(ctx, u, actorID, c, false)
}

// resetLink stores a new reset link for u (voiding older ones), records
// it, and with mail queues the letter in the same step as the record.
func (s *Service) resetLink(ctx context.Context, u *lacop.User, actorID string, c Client, mail bool) (string, error) {
	token := s.randomString(secretLen)
	now := s.Now()
	if err := s.Links.PutLink(ctx, &lacop.Link{Hash: HashSecret(token), Kind: lacop.LinkPasswordReset, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}, true); err != nil {
		return "", unavailable("store reset link", err)
	}
	link := s.Config.Tokens.URL + "/reset/" + token
	by := "self"
	if actorID != "" || c.Via == ViaCLI {
		by = actorKind(actorID, u.ID, c)
	}
	events := []*lacop.AuditEvent{{Type: lacop.AuditPasswordResetRequested, UserID: u.ID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": by, "mailed": boolString(mail)}}}
	if mail {
		events = append(events, s.letter(u, "", "password_reset", map[string]string{"link": link, "expires": mailTime(now.Add(ResetTTL))}, c)...)
	}
	s.record(ctx, events...)
	return link, nil
}

// ResetTarget is what a reset link's page shows: whose account, and
// whether the second factor is asked.
type ResetTarget struct {
	Email     string
	NeedsCode bool
	// NeedsPasskey says the account has passkeys: one of them may stand in
	// for the code (and must, when there is no code).
	NeedsPasskey bool
}

// PasskeyProof is a passkey answer given as a reset's second factor: the
// ceremony (BeginResetPasskey) and the browser's answer.
type PasskeyProof struct {
	Token  string
	Answer []byte
}

// ResetLinkTarget tells whose password the token resets, without using it.
func (s *Service) ResetLinkTarget(ctx context.Context, token string) (*ResetTarget, error) {
	u, _, err := s.resetLinkUser(ctx, token)
	if err != nil {
		return nil, err
	}
	return &ResetTarget{Email: u.Email, NeedsCode: u.HasTOTP(), NeedsPasskey: u.Passkeys > 0 && s.PasskeysOn()}, nil
}

func (s *Service) resetLinkUser(ctx context.Context, token string) (*lacop.User, *lacop.Link, error) {
	return s.linkUser(ctx, token, lacop.LinkPasswordReset, errResetLinkDead)
}

// CompleteReset sets a new password through a reset link. A person with a
// second factor must pass it too (a code, a recovery code, or one of their
// passkeys through BeginResetPasskey; counted like any code): a mailbox
// alone never takes over a protected account. The link is used up, and every
// session and token of the account ends (the password_reset row).
func (s *Service) CompleteReset(ctx context.Context, token, next, code, recoveryCode string, pk PasskeyProof, c Client) (*Outcome, error) {
	u, _, err := s.resetLinkUser(ctx, token)
	if err != nil {
		return nil, err
	}
	hash, err := s.hashNewPassword(ctx, next, u.Email)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pk.Answer) > 0 && u.Passkeys > 0 && s.PasskeysOn():
		if _, err := s.checkPasskeyOf(ctx, u, resetBinding(token), "", ceremonyReset, pk.Token, pk.Answer, c); err != nil {
			return nil, err
		}
	case u.Passkeys > 0 && !u.HasTOTP():
		return nil, lacop.Errorf(lacop.EINVALID, "Confirm with one of your passkeys: this account signs in with one after the password.")
	case u.HasTOTP():
		if code == "" && recoveryCode == "" {
			return nil, lacop.Errorf(lacop.EINVALID, "Enter the code from your authenticator app, or a recovery code.")
		}
		att, err := s.beginAttempt(ctx, factorKeys(u.ID, c.IP), c)
		if err != nil {
			if t, ok := errors.AsType[*Throttled](err); ok {
				s.recordThrottled(ctx, refusal{userID: u.ID, email: u.Email, step: "second_factor"}, t, c)
			}
			return nil, err
		}
		method, ok, err := s.checkSecondFactor(ctx, u, code, recoveryCode)
		if err != nil {
			return nil, err
		}
		if !ok {
			s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditSecondFactorFailed, UserID: u.ID, IP: c.IP, UserAgent: c.UserAgent,
				Detail: map[string]string{"method": method, "step": "password_reset"}})
			if err := att.failed(ctx); err != nil {
				return nil, err
			}
			return nil, errInvalidCode
		}
		att.succeeded(ctx)
	}
	used, err := s.Links.UseLink(ctx, HashSecret(token), s.Now())
	if err != nil {
		return nil, unavailable("use link", err)
	} else if !used {
		return nil, errResetLinkDead // used by a request that got there first
	}
	if err := s.Users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return nil, unavailable("set password", err)
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditPasswordChanged, UserID: u.ID, ActorID: u.ID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": "reset"}}},
		s.letter(u, "", "password_changed", map[string]string{"by": "reset"}, c)...)...)
	return s.end(ctx, ReasonPasswordReset, u.ID, nil, u.ID, c)
}

// voidResetLinks voids u's reset links once the password changed another
// way: a link made for the old password must not undo the new one.
func (s *Service) voidResetLinks(ctx context.Context, userID string) {
	if s.Links == nil {
		return
	}
	if err := s.Links.DeleteUserLinks(context.WithoutCancel(ctx), userID, lacop.LinkPasswordReset); err != nil {
		s.Logger.Warn("reset links not voided", "user", userID, "err", err)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
