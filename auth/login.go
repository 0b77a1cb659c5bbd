package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/password"
)

// maxPasswordLen bounds what a sign-in will hash, so a huge body cannot be
// used to burn CPU; no real password is longer.
const maxPasswordLen = 1024

// errBadCredentials is the one answer for every failed sign-in, so nobody
// can tell an unknown email from a wrong password.
var errBadCredentials = &lacop.Error{Code: lacop.EINVALIDCREDENTIALS, Message: "Wrong email or password."}

// LoginRequest is what a person submits to sign in.
type LoginRequest struct {
	Email      string
	Password   string
	RememberMe bool
	Client     Client
	// Device is the browser's device cookie, "" when it has none.
	Device string
}

// SignIn is a new session and the secret for its cookie. The secret exists
// only here and in the cookie; the store has its hash.
type SignIn struct {
	User    *lacop.User
	Session *lacop.Session
	Secret  string
	// SecondFactorRequired says the session is only half signed in: it may
	// do nothing but pass the second factor or sign out.
	SecondFactorRequired bool
	// Device is the id the browser's device cookie must hold from now on
	// ("" when lacop remembers no devices).
	Device string
}

// hashNotRun is the answer when a password check did not run: every slot
// busy and the queue full (503, "try again in a moment"), or the request
// gone. It is the same whether or not the account exists.
func hashNotRun(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return lacop.Errorf(lacop.EUNAVAILABLE, "Too many sign-ins at once. Please try again in a moment.")
	}
	return unavailable("check password", err)
}

// Login checks an email and password and, when they match, starts a new
// session with a fresh secret. A secret the client already had is never
// reused. Unknown emails, disabled users and wrong passwords all cost one
// argon2id verification and give the same error.
func (s *Service) Login(ctx context.Context, req LoginRequest) (*SignIn, error) {
	email := lacop.NormalizeEmail(req.Email)
	// A banned account or address is refused before any password is
	// checked, right or wrong.
	att, err := s.beginAttempt(ctx, passwordKeys(email, req.Client.IP), req.Client)
	if err != nil {
		var t *Throttled
		if errors.As(err, &t) {
			s.recordThrottled(ctx, refusal{userID: s.accountID(ctx, email), email: email, step: "password"}, t, req.Client)
		}
		return nil, err
	}
	user, err := s.Users.UserByEmail(ctx, email)
	if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
		return nil, unavailable("look up user", err)
	}

	reason := ""
	switch {
	case len(req.Password) > maxPasswordLen || req.Password == "":
		if err := s.Passwords.VerifyDummy(ctx, req.Password[:min(len(req.Password), maxPasswordLen)]); err != nil {
			return nil, hashNotRun(err)
		}
		reason = "bad_password"
	case user == nil:
		if err := s.Passwords.VerifyDummy(ctx, req.Password); err != nil {
			return nil, hashNotRun(err)
		}
		reason = "unknown_user"
	default:
		ok, err := s.Passwords.Verify(ctx, req.Password, user.PasswordHash)
		if errors.Is(err, password.ErrMalformed) {
			return nil, fmt.Errorf("auth: verify password: %w", err)
		} else if err != nil {
			return nil, hashNotRun(err)
		} else if !ok {
			reason = "bad_password"
		} else if user.Disabled {
			reason = "disabled"
		}
	}
	if reason != "" {
		e := &lacop.AuditEvent{Type: lacop.AuditLoginFailed, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
			Detail: identifierDetail(map[string]string{"reason": reason}, email)}
		if user != nil {
			e.UserID = user.ID
		}
		s.record(ctx, e)
		if err := att.failed(ctx); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	att.succeeded(ctx)
	if user.HasSecondFactor() {
		// The password was right, but the session would owe a second
		// factor that is banned: refuse now, for any address. Only someone
		// with the password gets here, so the ban tells nobody else a thing.
		if err := s.bannedFactor(ctx, user.ID); err != nil {
			var t *Throttled
			if errors.As(err, &t) {
				s.recordThrottled(ctx, refusal{userID: user.ID, email: email, step: "password"}, t, req.Client)
			}
			return nil, err
		}
	}

	in, err := s.startSession(ctx, user, lacop.AuthLevelOneFactor, req.RememberMe, req.Client)
	if err == nil {
		in.SecondFactorRequired = user.HasSecondFactor()
	}
	if err != nil {
		return nil, err
	}
	if err := s.confirmUnchanged(ctx, user, in.Session); err != nil {
		return nil, err
	}
	s.enforceLimit(ctx, user.ID, in.Session.ID, req.Client)
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, UserID: user.ID, SessionID: in.Session.ID,
		ActorID: user.ID, IP: req.Client.IP, UserAgent: req.Client.UserAgent,
		Detail: map[string]string{"rememberMe": fmt.Sprint(req.RememberMe)}})
	in.Device = s.noteDevice(ctx, user, in.Session, req.Device, req.Client)
	return in, nil
}

// accountID is the id of the account with email, "" when there is none or
// it cannot be read now: it only names the account in an audit event.
func (s *Service) accountID(ctx context.Context, email string) string {
	if !isEmail(email) {
		return ""
	}
	u, err := s.Users.UserByEmail(ctx, email)
	if err != nil {
		return ""
	}
	return u.ID
}

// confirmUnchanged closes the window between checking a password and
// creating the session: if the password was reset, the user disabled or the
// token version bumped meanwhile, the event's delete may have run before the
// session existed, so the new session is withdrawn. Events write the user
// before deleting sessions, so one of the two always sees the other.
func (s *Service) confirmUnchanged(ctx context.Context, before *lacop.User, sess *lacop.Session) error {
	now, err := s.Users.UserByID(ctx, before.ID)
	if err == nil && now.PasswordHash == before.PasswordHash && now.TokenVersion == before.TokenVersion && !now.Disabled {
		return nil
	}
	if _, derr := s.Sessions.DeleteSession(context.WithoutCancel(ctx), sess.ID); derr != nil {
		return unavailable("withdraw session", derr)
	}
	if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
		return unavailable("look up user", err)
	}
	return errBadCredentials
}

// startSession creates a session with a new secret and public id.
func (s *Service) startSession(ctx context.Context, user *lacop.User, level int, rememberMe bool, c Client) (*SignIn, error) {
	now := s.Now().UTC().Truncate(time.Millisecond) // stores keep milliseconds
	lifetime := s.Config.Lifetime
	if rememberMe {
		lifetime = s.Config.RememberMeLifetime
	}
	secret, hash := s.newSecret()
	sess := &lacop.Session{
		ID:           s.publicID(16),
		SecretHash:   hash,
		UserID:       user.ID,
		AuthLevel:    level,
		RememberMe:   rememberMe,
		CreatedAt:    now,
		LastActiveAt: now,
		ExpiresAt:    now.Add(lifetime),
		IP:           c.IP,
		UserAgent:    truncate(c.UserAgent, 512),
	}
	if err := s.Sessions.CreateSession(ctx, sess); err != nil {
		return nil, unavailable("create session", err)
	}
	return &SignIn{User: user, Session: sess, Secret: secret}, nil
}

// truncate cuts s to at most n bytes so that client-supplied strings stay
// bounded in the store.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
