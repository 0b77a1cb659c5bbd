package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/totp"
)

// Step is what a signed-in identity must do before anything else.
type Step int

const (
	// StepNone: fully signed in.
	StepNone Step = iota
	// StepSecondFactor: the password was right, the second factor is owed.
	StepSecondFactor
	// StepEnrol: a second factor is required and the user has none yet.
	StepEnrol
)

// recoveryCodeCount is how many one-time recovery codes enrolment gives.
const recoveryCodeCount = 10

var (
	errInvalidCode     = &lacop.Error{Code: lacop.EINVALIDCODE, Message: "The code is not correct."}
	errNoPending       = &lacop.Error{Code: lacop.EINVALID, Message: "Start the set-up again: no second factor is waiting for confirmation."}
	errAlreadyEnrolled = &lacop.Error{Code: lacop.ECONFLICT, Message: "A second factor is already set up. Turn it off first to set up a new one."}
	errNotEnrolled     = &lacop.Error{Code: lacop.EINVALID, Message: "No second factor is set up."}
)

// Pending says what id must do before it may use anything else.
func (s *Service) Pending(id *Identity) Step {
	switch {
	case id.User.HasSecondFactor() && id.Session.AuthLevel < lacop.AuthLevelTwoFactor:
		return StepSecondFactor
	case s.Config.RequireSecondFactor && !id.User.HasSecondFactor():
		return StepEnrol
	}
	return StepNone
}

// secret opens the user's sealed TOTP secret.
func (s *Service) secret(userID string, sealed []byte) (string, error) {
	plain, err := s.Sealer.Open(sealed, []byte(userID))
	if err != nil {
		return "", unavailable("open totp secret", err)
	}
	return string(plain), nil
}

// VerifySecondFactor completes a half sign-in with a TOTP code or a recovery
// code. On success the session reaches level 2 under a fresh secret, which
// is returned for the cookie. Failures count against the account's second
// factor and the client address; a right password clears none of them, a
// right code clears the second factor's.
func (s *Service) VerifySecondFactor(ctx context.Context, id *Identity, code, recoveryCode string, c Client) (string, error) {
	if s.Pending(id) != StepSecondFactor {
		return "", lacop.Errorf(lacop.EINVALID, "This session does not need a second factor.")
	}
	att, err := s.beginAttempt(ctx, factorKeys(id.User.ID, c.IP), c)
	if err != nil {
		var t *Throttled
		if errors.As(err, &t) {
			s.recordThrottled(ctx, refusal{userID: id.User.ID, sessionID: id.Session.ID, email: id.User.Email, step: "second_factor"}, t, c)
		}
		return "", err
	}
	method, ok, err := s.checkSecondFactor(ctx, id.User, code, recoveryCode)
	if err != nil {
		return "", err
	}
	if !ok {
		s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditSecondFactorFailed, UserID: id.User.ID, SessionID: id.Session.ID,
			ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"method": method}})
		if err := att.failed(ctx); err != nil {
			return "", err
		}
		return "", errInvalidCode
	}
	att.succeeded(ctx)
	secret, err := s.raise(ctx, id.Session)
	if err != nil {
		return "", err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditSecondFactorSucceeded, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"method": method}})
	return secret, nil
}

// checkSecondFactor checks a TOTP code (each accepted once) or a recovery
// code (each usable once).
func (s *Service) checkSecondFactor(ctx context.Context, u *lacop.User, code, recoveryCode string) (string, bool, error) {
	if !u.HasTOTP() {
		// Passkeys only: no code can be right (and there is no secret to open).
		if recoveryCode != "" {
			return "recovery_code", false, nil
		}
		return "totp", false, nil
	}
	if recoveryCode != "" {
		used, err := s.SecondFactors.UseRecoveryCode(ctx, u.ID, totp.HashRecoveryCode(recoveryCode))
		if err != nil {
			return "recovery_code", false, unavailable("use recovery code", err)
		}
		return "recovery_code", used, nil
	}
	secret, err := s.secret(u.ID, u.TOTPSecret)
	if err != nil {
		return "totp", false, err
	}
	step, ok, err := totp.Validate(secret, code, s.Now(), 1)
	if err != nil {
		return "totp", false, unavailable("validate code", err)
	} else if !ok {
		return "totp", false, nil
	}
	fresh, err := s.SecondFactors.UseTOTPStep(ctx, u.ID, step)
	if err != nil {
		return "totp", false, unavailable("use totp step", err)
	}
	return "totp", fresh, nil // a replayed code is just a wrong code
}

// raise lifts a session to level 2 under a fresh secret: whoever held the
// half-signed-in cookie does not get the full session.
func (s *Service) raise(ctx context.Context, sess *lacop.Session) (string, error) {
	secret, hash := s.newSecret()
	if err := s.Sessions.RaiseSession(context.WithoutCancel(ctx), sess.ID, lacop.AuthLevelTwoFactor, hash); lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return "", errUnauthenticated
	} else if err != nil {
		return "", unavailable("raise session", err)
	}
	sess.AuthLevel, sess.SecretHash = lacop.AuthLevelTwoFactor, hash
	// Completing the step is the session's first activity since sign-in
	// (requests while it was owed did not count).
	now := s.Now()
	if err := s.Sessions.TouchSession(context.WithoutCancel(ctx), sess.ID, now); err != nil {
		s.Logger.Warn("touch session", "session", sess.ID, "err", err)
	}
	sess.LastActiveAt = now
	return secret, nil
}

// Enrolment is a TOTP secret waiting for its first code.
type Enrolment struct {
	Secret string
	URL    string
	QRPNG  []byte
}

// StartTOTP begins enrolment after checking the password. Nothing is active
// until ConfirmTOTP.
func (s *Service) StartTOTP(ctx context.Context, id *Identity, pw string, c Client) (*Enrolment, error) {
	if id.User.HasTOTP() {
		return nil, errAlreadyEnrolled
	}
	if err := s.confirmPassword(ctx, id, pw, "totp_start", c); err != nil {
		return nil, err
	}
	key, err := totp.Generate(s.Config.Issuer, id.User.Email)
	if err != nil {
		return nil, unavailable("generate totp", err)
	}
	png, err := totp.QRCode(key.URL, 240)
	if err != nil {
		return nil, unavailable("render qr code", err)
	}
	if err := s.SecondFactors.SetPendingTOTP(ctx, id.User.ID, s.Sealer.Seal([]byte(key.Secret), []byte(id.User.ID)), s.Now()); err != nil {
		return nil, unavailable("store pending totp", err)
	}
	return &Enrolment{Secret: key.Secret, URL: key.URL, QRPNG: png}, nil
}

// Confirmed is the result of a finished enrolment.
type Confirmed struct {
	// RecoveryCodes are shown once; only their hashes are kept.
	RecoveryCodes []string
	// NewSecret is the session's fresh secret: having shown the second
	// factor, the session is now at level 2.
	NewSecret string
}

// ConfirmTOTP activates the pending secret once a live code from it is
// given. A wrong code leaves the account as it was.
func (s *Service) ConfirmTOTP(ctx context.Context, id *Identity, code string, c Client) (*Confirmed, error) {
	if id.User.HasTOTP() {
		return nil, errAlreadyEnrolled
	}
	sealed, _, err := s.SecondFactors.PendingTOTP(ctx, id.User.ID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errNoPending
	} else if err != nil {
		return nil, unavailable("pending totp", err)
	}
	secret, err := s.secret(id.User.ID, sealed)
	if err != nil {
		return nil, err
	}
	step, ok, err := totp.Validate(secret, code, s.Now(), 1)
	if err != nil {
		return nil, unavailable("validate code", err)
	} else if !ok {
		return nil, errInvalidCode
	}
	codes, err := totp.RecoveryCodes(recoveryCodeCount)
	if err != nil {
		return nil, unavailable("recovery codes", err)
	}
	hashes := make([][]byte, len(codes))
	for i, rc := range codes {
		hashes[i] = totp.HashRecoveryCode(rc)
	}
	// The confirming code's step counts as used: it cannot sign in again.
	if err := s.SecondFactors.EnableTOTP(ctx, id.User.ID, sealed, step, hashes); err != nil {
		return nil, unavailable("enable totp", err)
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditSecondFactorEnabled, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"method": "totp"}}},
		s.letter(id.User, "", "second_factor_added", nil, c)...)...)
	newSecret, err := s.raise(ctx, id.Session)
	if err != nil {
		return nil, err
	}
	return &Confirmed{RecoveryCodes: codes, NewSecret: newSecret}, nil
}

// DisableTOTP turns the second factor off after checking the password and,
// like a password change, ends every other session and token.
func (s *Service) DisableTOTP(ctx context.Context, id *Identity, pw string, c Client) (*Outcome, error) {
	if !id.User.HasTOTP() {
		return nil, errNotEnrolled
	}
	if err := s.confirmPassword(ctx, id, pw, "totp_disable", c); err != nil {
		return nil, err
	}
	if _, err := s.SecondFactors.DisableTOTP(ctx, id.User.ID); err != nil {
		return nil, unavailable("disable totp", err)
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditSecondFactorDisabled, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": "self"}}},
		s.letter(id.User, "", "second_factor_removed", map[string]string{"by": "self"}, c)...)...)
	return s.end(ctx, ReasonTOTPDisabled, id.User.ID, id.Session, id.User.ID, c)
}

// ResetTOTP removes a user's second factors (TOTP and every passkey) on
// an admin's or the operator's say, and ends every session of that user:
// whoever holds them signed in with a factor that no longer exists.
func (s *Service) ResetTOTP(ctx context.Context, userID, actorID string, c Client) error {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.SecondFactors.DisableTOTP(ctx, userID); err != nil {
		return unavailable("reset totp", err)
	}
	removed, err := s.Passkeys.DeleteUserPasskeys(context.WithoutCancel(ctx), userID)
	if err != nil {
		return unavailable("reset passkeys", err)
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditSecondFactorDisabled, UserID: userID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": actorKind(actorID, userID, c), "passkeys": fmt.Sprint(removed)}}},
		s.letter(u, "", "second_factor_removed", map[string]string{"by": "admin"}, c)...)...)
	_, err = s.end(ctx, ReasonTOTPReset, userID, nil, actorID, c)
	return err
}

// RecoveryCodesLeft counts the caller's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	n, err := s.SecondFactors.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return 0, unavailable("count recovery codes", err)
	}
	return n, nil
}
