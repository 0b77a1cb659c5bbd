package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/passkey"
)

// Passkey ceremonies: what a browser is asked for (options) and what lacop
// keeps until it answers (the ceremony, in the link store under the hash of
// a random token the browser holds in a cookie). A ceremony is used once,
// lives passkey.Timeout, and is bound to its purpose and, for registration
// and the second factor, to the session that began it.

// Ceremony purposes.
const (
	ceremonyRegister     = "register"
	ceremonyLogin        = "login"
	ceremonySecondFactor = "second_factor"
	// ceremonyConfirm stands in for the password before a change.
	ceremonyConfirm = "confirm"
	// ceremonyReset is the second factor of a password reset.
	ceremonyReset = "reset"
)

// maxPasskeyName bounds a passkey's name (in characters).
const maxPasskeyName = 64

var (
	errPasskeysOff     = &lacop.Error{Code: lacop.EINVALID, Message: "Passkeys are not available on this portal."}
	errPasskeyRefused  = &lacop.Error{Code: lacop.EINVALIDCODE, Message: "The passkey was not accepted. Try again, or use another way to sign in."}
	errCeremonyDead    = &lacop.Error{Code: lacop.EINVALID, Message: "That passkey request has expired or was used already. Please try again."}
	errPasskeyNotFound = &lacop.Error{Code: lacop.ENOTFOUND, Message: "Passkey not found."}
	errLastFactor      = &lacop.Error{Code: lacop.ECONFLICT, Message: "This is your only second factor, and this portal requires one: add another passkey or an authenticator app first."}
)

// PasskeyCeremony is a ceremony begun: the options for the browser, and
// the token that names the ceremony (kept in a cookie, never in a page).
type PasskeyCeremony struct {
	Options passkey.Options
	Token   string
}

// ceremony is what lacop keeps between options and answer.
type ceremony struct {
	Purpose   string `json:"purpose"`
	SessionID string `json:"session,omitempty"`
	State     []byte `json:"state"`
}

// PasskeysOn reports whether passkeys can be used here: the portal has a
// domain browsers accept as an RP ID.
func (s *Service) PasskeysOn() bool { return s.WebAuthn != nil }

// beginCeremony stores a ceremony and returns its token.
func (s *Service) beginCeremony(ctx context.Context, userID string, cer ceremony) (string, error) {
	data, err := json.Marshal(cer)
	if err != nil {
		return "", fmt.Errorf("auth: encode ceremony: %w", err)
	}
	token := s.randomString(secretLen)
	now := s.Now()
	if err := s.Links.PutLink(ctx, &lacop.Link{Hash: HashSecret(token), Kind: lacop.LinkPasskeyCeremony, UserID: userID,
		Data: string(data), CreatedAt: now, ExpiresAt: now.Add(passkey.Timeout)}, false); err != nil {
		return "", unavailable("store passkey ceremony", err)
	}
	return token, nil
}

// takeCeremony uses up the ceremony token names, if it is of purpose and
// (for a session's ceremony) began in sessionID. A ceremony of another
// session is refused, and left for that session.
func (s *Service) takeCeremony(ctx context.Context, token, purpose, sessionID string) (*ceremony, error) {
	if !wellFormed(token) {
		return nil, errCeremonyDead
	}
	hash := HashSecret(token)
	l, err := s.Links.LinkByHash(ctx, hash, s.Now())
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errCeremonyDead
	} else if err != nil {
		return nil, unavailable("read passkey ceremony", err)
	}
	var cer ceremony
	if l.Kind != lacop.LinkPasskeyCeremony || json.Unmarshal([]byte(l.Data), &cer) != nil ||
		cer.Purpose != purpose || cer.SessionID != sessionID {
		return nil, errCeremonyDead
	}
	used, err := s.Links.UseLink(ctx, hash, s.Now())
	if err != nil {
		return nil, unavailable("use passkey ceremony", err)
	} else if !used {
		return nil, errCeremonyDead // replayed: the first answer took it
	}
	return &cer, nil
}

// account is u as a ceremony sees it, with the records of passkeys.
func account(u *lacop.User, passkeys []*lacop.Passkey) passkey.Account {
	a := passkey.Account{Handle: []byte(u.ID), Name: u.Email, DisplayName: u.Name}
	if a.DisplayName == "" {
		a.DisplayName = u.Email
	}
	for _, p := range passkeys {
		a.Records = append(a.Records, p.Record)
	}
	return a
}

// ListPasskeys lists userID's passkeys.
func (s *Service) ListPasskeys(ctx context.Context, userID string) ([]*lacop.Passkey, error) {
	list, err := s.Passkeys.UserPasskeys(ctx, userID)
	if err != nil {
		return nil, unavailable("list passkeys", err)
	}
	return list, nil
}

// BeginPasskeyRegistration starts adding a passkey after the person
// confirmed it is them, like every change of a factor.
//
// Confirm is the password, or (with confirmToken and confirmAnswer) the
// answer to a BeginPasskeyConfirm ceremony: one of the person's passkeys,
// verifying them, stands in for the password.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, id *Identity, pw string, confirmToken string, confirmAnswer []byte, c Client) (*PasskeyCeremony, error) {
	if !s.PasskeysOn() {
		return nil, errPasskeysOff
	}
	if len(confirmAnswer) > 0 {
		if _, err := s.checkOwnPasskey(ctx, id, ceremonyConfirm, confirmToken, confirmAnswer, c); err != nil {
			return nil, err
		}
	} else if err := s.confirmPassword(ctx, id, pw, "passkey_add", c); err != nil {
		return nil, err
	}
	existing, err := s.ListPasskeys(ctx, id.User.ID)
	if err != nil {
		return nil, err
	}
	opts, state, err := s.WebAuthn.BeginRegistration(account(id.User, existing))
	if err != nil {
		return nil, unavailable("begin passkey registration", err)
	}
	token, err := s.beginCeremony(ctx, id.User.ID, ceremony{Purpose: ceremonyRegister, SessionID: id.Session.ID, State: state})
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: opts, Token: token}, nil
}

// PasskeyAdded is a registration finished.
type PasskeyAdded struct {
	Passkey *lacop.Passkey
	// NewSecret is set when the session rose to level 2 with it (it was
	// at one factor): the cookie changes.
	NewSecret string
}

// FinishPasskeyRegistration stores the passkey the browser made, named
// name, and tells the person by mail.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, id *Identity, token, name string, answer []byte, c Client) (*PasskeyAdded, error) {
	if !s.PasskeysOn() {
		return nil, errPasskeysOff
	}
	cer, err := s.takeCeremony(ctx, token, ceremonyRegister, id.Session.ID)
	if err != nil {
		return nil, err
	}
	existing, err := s.ListPasskeys(ctx, id.User.ID)
	if err != nil {
		return nil, err
	}
	reg, err := s.WebAuthn.FinishRegistration(account(id.User, existing), cer.State, answer)
	if errors.Is(err, passkey.ErrRefused) {
		s.passkeyFailed(ctx, id.User.ID, id.Session.ID, "", "register", err, c)
		return nil, errPasskeyRefused
	} else if err != nil {
		return nil, unavailable("finish passkey registration", err)
	}
	name, err = passkeyName(name, len(existing))
	if err != nil {
		return nil, err
	}
	p := &lacop.Passkey{ID: s.publicID(12), UserID: id.User.ID, CredentialID: reg.CredentialID, Name: name,
		Record: reg.Record, SignCount: reg.SignCount, UserVerified: reg.UserVerified, CreatedAt: s.Now().UTC().Truncate(time.Millisecond)}
	if err := s.Passkeys.AddPasskey(ctx, p); lacop.ErrorCode(err) == lacop.ECONFLICT {
		return nil, lacop.Errorf(lacop.ECONFLICT, "That passkey is registered already.")
	} else if err != nil {
		return nil, unavailable("add passkey", err)
	}
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditPasskeyRegistered, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"passkey": p.ID, "name": p.Name}}},
		s.letter(id.User, "", "passkey_added", map[string]string{"name": p.Name}, c)...)...)
	out := &PasskeyAdded{Passkey: p}
	if id.Session.AuthLevel < lacop.AuthLevelTwoFactor {
		// Like a confirmed TOTP: the session that set the factor up rises
		// (under a fresh secret) rather than owing it at once.
		if out.NewSecret, err = s.raise(ctx, id.Session); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// passkeyName is name cleaned up, or "Passkey N" when empty.
func passkeyName(name string, existing int) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return fmt.Sprintf("Passkey %d", existing+1), nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxPasskeyName {
		return "", lacop.Errorf(lacop.EINVALID, "A passkey's name must be at most %d characters.", maxPasskeyName)
	}
	return name, nil
}

// RenamePasskey renames one of the caller's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, id *Identity, passkeyID, name string) error {
	name, err := passkeyName(name, 0)
	if err != nil {
		return err
	}
	if err := s.Passkeys.RenamePasskey(ctx, id.User.ID, passkeyID, name); lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return errPasskeyNotFound
	} else if err != nil {
		return unavailable("rename passkey", err)
	}
	return nil
}

// BeginPasskeyLogin starts a sign-in without a password: any discoverable
// passkey of this portal, with user verification. conditional asks for
// the autofill form.
func (s *Service) BeginPasskeyLogin(ctx context.Context, conditional bool) (*PasskeyCeremony, error) {
	if !s.PasskeysOn() {
		return nil, errPasskeysOff
	}
	opts, state, err := s.WebAuthn.BeginLogin(nil, conditional, true)
	if err != nil {
		return nil, unavailable("begin passkey login", err)
	}
	token, err := s.beginCeremony(ctx, "", ceremony{Purpose: ceremonyLogin, State: state})
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: opts, Token: token}, nil
}

// FinishPasskeyLogin signs in with a passkey: one step to the second-factor
// level. Failures count against the account's second factor (when the
// passkey names one) and the client address, like wrong codes.
func (s *Service) FinishPasskeyLogin(ctx context.Context, token string, answer []byte, rememberMe bool, device string, c Client) (*SignIn, error) {
	if !s.PasskeysOn() {
		return nil, errPasskeysOff
	}
	credID, handle, perr := passkey.CredentialID(answer)
	var p *lacop.Passkey
	if perr == nil {
		var err error
		p, err = s.Passkeys.PasskeyByCredentialID(ctx, credID)
		if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
			return nil, unavailable("look up passkey", err)
		}
	}
	keys := attemptKeys{others: addressKeys(c.IP)}
	userID := ""
	if p != nil {
		userID = p.UserID
		keys = factorKeys(p.UserID, c.IP)
	}
	att, err := s.beginAttempt(ctx, keys, c)
	if err != nil {
		if t, ok := errors.AsType[*Throttled](err); ok {
			s.recordThrottled(ctx, refusal{userID: userID, step: "passkey"}, t, c)
		}
		return nil, err
	}
	fail := func(why string, cause error) (*SignIn, error) {
		s.passkeyFailed(ctx, userID, "", passkeyIDOf(p), why, cause, c)
		if err := att.failed(ctx); err != nil {
			return nil, err
		}
		return nil, errPasskeyRefused
	}
	cer, err := s.takeCeremony(ctx, token, ceremonyLogin, "")
	if err != nil {
		if lacop.ErrorCode(err) == lacop.EINVALID {
			s.passkeyFailed(ctx, userID, "", passkeyIDOf(p), "ceremony", nil, c)
			_ = att.failed(ctx)
		}
		return nil, err
	}
	switch {
	case perr != nil:
		return fail("malformed", perr)
	case p == nil:
		return fail("unknown_passkey", nil)
	case string(handle) != p.UserID:
		return fail("wrong_user", nil)
	}
	user, err := s.Users.UserByID(ctx, p.UserID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return fail("unknown_user", nil)
	} else if err != nil {
		return nil, unavailable("look up user", err)
	}
	got, err := s.WebAuthn.FinishLogin(account(user, []*lacop.Passkey{p}), cer.State, answer)
	if errors.Is(err, passkey.ErrRefused) {
		return fail("refused", err)
	} else if err != nil {
		return nil, unavailable("finish passkey login", err)
	}
	if !got.UserVerified {
		return fail("not_verified", nil) // the library checks it too; this says so in the audit
	}
	if user.Disabled {
		return fail("disabled", nil)
	}
	if err := s.usePasskey(ctx, user, p, got.SignCount, c); err != nil {
		if errors.Is(err, errPasskeyRefused) {
			_ = att.failed(ctx)
		}
		return nil, err
	}
	att.succeeded(ctx)

	in, err := s.startSession(ctx, user, lacop.AuthLevelTwoFactor, rememberMe, c)
	if err != nil {
		return nil, err
	}
	if err := s.bindPasskey(ctx, p.ID, in.Session.ID, true); err != nil {
		if _, derr := s.Sessions.DeleteSession(context.WithoutCancel(ctx), in.Session.ID); derr != nil {
			return nil, unavailable("withdraw session", derr)
		}
		if errors.Is(err, errPasskeyNotFound) {
			return nil, errPasskeyRefused // removed while this sign-in ran
		}
		return nil, err
	}
	if err := s.confirmUnchanged(ctx, user, in.Session); err != nil {
		return nil, err
	}
	s.enforceLimit(ctx, user.ID, in.Session.ID, c)
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, UserID: user.ID, SessionID: in.Session.ID,
		ActorID: user.ID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"rememberMe": fmt.Sprint(rememberMe), "method": "passkey", "passkey": p.ID}})
	in.Device = s.noteDevice(ctx, user, in.Session, device, c)
	return in, nil
}

// BeginPasskeySecondFactor starts the second step of a half sign-in with
// one of the person's passkeys.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, id *Identity) (*PasskeyCeremony, error) {
	if s.Pending(id) != StepSecondFactor {
		return nil, lacop.Errorf(lacop.EINVALID, "This session does not need a second factor.")
	}
	return s.beginOwnPasskey(ctx, id, ceremonySecondFactor)
}

// BeginPasskeyConfirm starts confirming a change (adding a passkey) with
// one of the person's passkeys instead of the password.
func (s *Service) BeginPasskeyConfirm(ctx context.Context, id *Identity) (*PasskeyCeremony, error) {
	return s.beginOwnPasskey(ctx, id, ceremonyConfirm)
}

// beginOwnPasskey asks for one of the signed-in person's own passkeys, for
// purpose, bound to this session.
func (s *Service) beginOwnPasskey(ctx context.Context, id *Identity, purpose string) (*PasskeyCeremony, error) {
	if !s.PasskeysOn() || id.User.Passkeys == 0 {
		return nil, lacop.Errorf(lacop.EINVALID, "You have no passkey to use here.")
	}
	list, err := s.ListPasskeys(ctx, id.User.ID)
	if err != nil {
		return nil, err
	}
	a := account(id.User, list)
	opts, state, err := s.WebAuthn.BeginLogin(&a, false, purpose == ceremonyConfirm)
	if err != nil {
		return nil, unavailable("begin passkey ceremony", err)
	}
	token, err := s.beginCeremony(ctx, id.User.ID, ceremony{Purpose: purpose, SessionID: id.Session.ID, State: state})
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: opts, Token: token}, nil
}

// FinishPasskeySecondFactor completes a half sign-in with a passkey. The
// session rises to level 2 under a fresh secret, bound to the passkey.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, id *Identity, token string, answer []byte, c Client) (string, error) {
	if s.Pending(id) != StepSecondFactor {
		return "", lacop.Errorf(lacop.EINVALID, "This session does not need a second factor.")
	}
	p, err := s.checkOwnPasskey(ctx, id, ceremonySecondFactor, token, answer, c)
	if err != nil {
		return "", err
	}
	if err := s.bindPasskey(ctx, p.ID, id.Session.ID, false); err != nil {
		if errors.Is(err, errPasskeyNotFound) {
			return "", errPasskeyRefused
		}
		return "", err
	}
	secret, err := s.raise(ctx, id.Session)
	if err != nil {
		return "", err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditSecondFactorSucceeded, UserID: id.User.ID, SessionID: id.Session.ID,
		ActorID: id.User.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"method": "passkey", "passkey": p.ID}})
	return secret, nil
}

// checkOwnPasskey checks an answer to a ceremony of purpose begun by this
// session: one of the person's own passkeys, its counter moved forward.
func (s *Service) checkOwnPasskey(ctx context.Context, id *Identity, purpose, token string, answer []byte, c Client) (*lacop.Passkey, error) {
	return s.checkPasskeyOf(ctx, id.User, id.Session.ID, id.Session.ID, purpose, token, answer, c)
}

// checkPasskeyOf checks an answer to a ceremony of purpose bound to
// binding (a session id, or a reset link's): one of u's own passkeys, its
// counter moved forward. Failures count against the account's second
// factor and the address, like wrong codes; sessionID names the session
// in the audit ("" for none).
func (s *Service) checkPasskeyOf(ctx context.Context, u *lacop.User, binding, sessionID, purpose, token string, answer []byte, c Client) (*lacop.Passkey, error) {
	att, err := s.beginAttempt(ctx, factorKeys(u.ID, c.IP), c)
	if err != nil {
		if t, ok := errors.AsType[*Throttled](err); ok {
			s.recordThrottled(ctx, refusal{userID: u.ID, sessionID: sessionID, email: u.Email, step: "second_factor"}, t, c)
		}
		return nil, err
	}
	fail := func(passkeyID, why string, cause error) (*lacop.Passkey, error) {
		s.passkeyFailed(ctx, u.ID, sessionID, passkeyID, why, cause, c)
		if err := att.failed(ctx); err != nil {
			return nil, err
		}
		return nil, errPasskeyRefused
	}
	cer, err := s.takeCeremony(ctx, token, purpose, binding)
	if err != nil {
		if lacop.ErrorCode(err) == lacop.EINVALID {
			s.passkeyFailed(ctx, u.ID, sessionID, "", "ceremony", nil, c)
			_ = att.failed(ctx)
		}
		return nil, err
	}
	credID, _, err := passkey.CredentialID(answer)
	if err != nil {
		return fail("", "malformed", err)
	}
	p, err := s.Passkeys.PasskeyByCredentialID(ctx, credID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND || (err == nil && p.UserID != u.ID) {
		return fail("", "unknown_passkey", nil)
	} else if err != nil {
		return nil, unavailable("look up passkey", err)
	}
	list, err := s.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	got, err := s.WebAuthn.FinishLogin(account(u, list), cer.State, answer)
	if errors.Is(err, passkey.ErrRefused) {
		return fail(p.ID, "refused", err)
	} else if err != nil {
		return nil, unavailable("finish passkey ceremony", err)
	}
	if err := s.usePasskey(ctx, u, p, got.SignCount, c); err != nil {
		if errors.Is(err, errPasskeyRefused) {
			_ = att.failed(ctx)
		}
		return nil, err
	}
	att.succeeded(ctx)
	return p, nil
}

// usePasskey moves p's counter forward to count. A counter that does not
// move (a copy of the key signing in parallel with the original) refuses
// the use, records passkey.clone_suspected and ends every session that
// signed in with the passkey.
func (s *Service) usePasskey(ctx context.Context, u *lacop.User, p *lacop.Passkey, count uint32, c Client) error {
	ok, err := s.Passkeys.UsePasskey(ctx, p.ID, count, s.Now())
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return errPasskeyRefused
	} else if err != nil {
		return unavailable("use passkey", err)
	}
	if ok {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditPasskeyCloneSuspected, UserID: u.ID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"passkey": p.ID, "name": p.Name, "stored": fmt.Sprint(p.SignCount), "presented": fmt.Sprint(count)}})
	sessions, err := s.Passkeys.PasskeySessions(ctx, p.ID)
	if err != nil {
		return unavailable("passkey sessions", err)
	}
	if _, err := s.endWith(ctx, ReasonPasskeyCloned, u.ID, nil, sessions, "", c); err != nil {
		return err
	}
	return errPasskeyRefused
}

// bindPasskey records that sessionID signed in with passkey id, or
// errPasskeyNotFound when the passkey was removed meanwhile.
func (s *Service) bindPasskey(ctx context.Context, id, sessionID string, passwordless bool) error {
	err := s.Passkeys.BindPasskeySession(context.WithoutCancel(ctx), id, sessionID, passwordless)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return errPasskeyNotFound
	} else if err != nil {
		return unavailable("bind passkey session", err)
	}
	return nil
}

// passkeyFailed records a refused passkey; the library's reason goes in
// the detail (it names no secret: challenges are public, keys are too).
func (s *Service) passkeyFailed(ctx context.Context, userID, sessionID, passkeyID, why string, cause error, c Client) {
	d := map[string]string{"reason": why}
	if passkeyID != "" {
		d["passkey"] = passkeyID
	}
	if cause != nil {
		d["error"] = truncate(cause.Error(), 200)
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditPasskeyFailed, UserID: userID, SessionID: sessionID, ActorID: userID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: d})
}

func passkeyIDOf(p *lacop.Passkey) string {
	if p == nil {
		return ""
	}
	return p.ID
}

// PasskeySessions lists the caller's live sessions that signed in (or
// passed their second factor) with passkey id: what removing it ends.
func (s *Service) PasskeySessions(ctx context.Context, userID, passkeyID string) ([]*lacop.Session, error) {
	list, err := s.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	found := false
	for _, p := range list {
		found = found || p.ID == passkeyID
	}
	if !found {
		return nil, errPasskeyNotFound
	}
	ids, err := s.Passkeys.PasskeySessions(ctx, passkeyID)
	if err != nil {
		return nil, unavailable("passkey sessions", err)
	}
	var out []*lacop.Session
	for _, id := range ids {
		sess, err := s.Sessions.SessionByID(ctx, id)
		if lacop.ErrorCode(err) == lacop.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, unavailable("read session", err)
		}
		if sess.UserID == userID {
			out = append(out, sess)
		}
	}
	return out, nil
}

// RemovePasskey removes one of the caller's passkeys after checking the
// password, and ends every session that signed in with it (the current
// one too, if it did). The last second factor stays while the portal
// requires one.
func (s *Service) RemovePasskey(ctx context.Context, id *Identity, passkeyID, pw string, c Client) (*Outcome, error) {
	if err := s.confirmPassword(ctx, id, pw, "passkey_remove", c); err != nil {
		return nil, err
	}
	if s.Config.RequireSecondFactor && !id.User.HasTOTP() && id.User.Passkeys <= 1 {
		return nil, errLastFactor
	}
	return s.removePasskey(ctx, id.User, passkeyID, id.Session, id.User.ID, c)
}

// AdminRemovePasskey removes a person's passkey on an admin's or the
// operator's say, ending the sessions that signed in with it.
func (s *Service) AdminRemovePasskey(ctx context.Context, userID, passkeyID, actorID string, c Client) (*Outcome, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.removePasskey(ctx, u, passkeyID, nil, actorID, c)
}

// AdminRemovePasskeys removes every passkey of a person, one by one, each
// ending the sessions it signed in (other sessions stay, unlike reset-2fa).
func (s *Service) AdminRemovePasskeys(ctx context.Context, userID, actorID string, c Client) error {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	list, err := s.ListPasskeys(ctx, userID)
	if err != nil {
		return err
	}
	for _, p := range list {
		if _, err := s.removePasskey(ctx, u, p.ID, nil, actorID, c); err != nil && !errors.Is(err, errPasskeyNotFound) {
			return err
		}
	}
	return nil
}

func (s *Service) removePasskey(ctx context.Context, u *lacop.User, passkeyID string, current *lacop.Session, actorID string, c Client) (*Outcome, error) {
	ctx = context.WithoutCancel(ctx)
	p, sessions, err := s.Passkeys.DeletePasskey(ctx, u.ID, passkeyID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, errPasskeyNotFound
	} else if err != nil {
		return nil, unavailable("remove passkey", err)
	}
	by := actorKind(actorID, u.ID, c)
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditPasskeyRemoved, UserID: u.ID, SessionID: sessionIDOf(current),
		ActorID: actorID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"passkey": p.ID, "name": p.Name, "by": by}}},
		s.letter(u, "", "passkey_removed", map[string]string{"name": p.Name, "by": by}, c)...)...)
	return s.endWith(ctx, ReasonPasskeyRemoved, u.ID, current, sessions, actorID, c)
}

func sessionIDOf(sess *lacop.Session) string {
	if sess == nil {
		return ""
	}
	return sess.ID
}

// SignInMethods are the methods of RFC 8176 sess's sign-in used, for the
// apps' ID tokens (amr): a password; then a code ("otp") or a passkey
// ("hwk" for a key that stays on its device, "swk" for one that can be
// synced); "mfa" when two factors were shown (a passkey that verified the
// person counts as two: the device and the PIN or finger).
func (s *Service) SignInMethods(ctx context.Context, sess *lacop.Session) []string {
	if sess.AuthLevel < lacop.AuthLevelTwoFactor {
		return []string{"pwd"}
	}
	if s.Passkeys != nil {
		p, passwordless, err := s.Passkeys.SessionPasskey(ctx, sess.ID)
		if err == nil {
			key := "hwk"
			if passkey.Synced(p.Record) {
				key = "swk"
			}
			if passwordless {
				return []string{key, "user", "mfa"}
			}
			return []string{"pwd", key, "mfa"}
		} else if lacop.ErrorCode(err) != lacop.ENOTFOUND {
			s.Logger.Warn("read the passkey of a session", "session", sess.ID, "err", err)
		}
	}
	return []string{"pwd", "otp", "mfa"}
}

// resetBinding ties a reset's passkey ceremony to its link (there is no
// session): the hash of the link's token, never the token.
func resetBinding(token string) string {
	return "reset:" + hex.EncodeToString(HashSecret(token))
}

// BeginResetPasskey starts the passkey step of a password reset: one of
// the account's passkeys, as its second factor, bound to the link.
func (s *Service) BeginResetPasskey(ctx context.Context, token string) (*PasskeyCeremony, error) {
	u, _, err := s.resetLinkUser(ctx, token)
	if err != nil {
		return nil, err
	}
	if !s.PasskeysOn() || u.Passkeys == 0 {
		return nil, lacop.Errorf(lacop.EINVALID, "This account has no passkey to use here.")
	}
	list, err := s.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	a := account(u, list)
	opts, state, err := s.WebAuthn.BeginLogin(&a, false, false)
	if err != nil {
		return nil, unavailable("begin passkey ceremony", err)
	}
	ct, err := s.beginCeremony(ctx, u.ID, ceremony{Purpose: ceremonyReset, SessionID: resetBinding(token), State: state})
	if err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Options: opts, Token: ct}, nil
}
