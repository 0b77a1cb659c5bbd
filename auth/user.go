package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/password"
)

// NewUser is what it takes to create an account.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Admin    bool
	Groups   []string
}

// setupLinkLifetime bounds how long the first-admin link printed at start
// stays usable.
const setupLinkLifetime = 24 * time.Hour

// hashNewPassword checks strength and hashes, mapping a weak password to
// EWEAKPASSWORD with the reason a person can act on.
func (s *Service) hashNewPassword(ctx context.Context, pw, email string) (string, error) {
	if err := password.Check(pw, email); err != nil {
		if errors.Is(err, password.ErrWeak) {
			return "", lacop.Errorf(lacop.EWEAKPASSWORD, "Password is too weak: %s.", strings.TrimPrefix(err.Error(), password.ErrWeak.Error()+": "))
		}
		return "", err
	}
	hash, err := s.Passwords.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return hash, nil
}

func (s *Service) newUser(ctx context.Context, nu NewUser) (*lacop.User, error) {
	u := &lacop.User{
		ID:     s.publicID(12),
		Email:  lacop.NormalizeEmail(nu.Email),
		Name:   strings.TrimSpace(nu.Name),
		Admin:  nu.Admin,
		Groups: nu.Groups,
	}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	hash, err := s.hashNewPassword(ctx, nu.Password, u.Email)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = hash
	return u, nil
}

// CreateUser adds an account. actorID is the admin who did it ("" for the
// command line).
func (s *Service) CreateUser(ctx context.Context, nu NewUser, actorID string, c Client) (*lacop.User, error) {
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return nil, err
	}
	if err := s.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserCreated, UserID: u.ID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"email": u.Email, "admin": fmt.Sprint(u.Admin)}})
	return u, nil
}

// ResetPassword sets a user's password on an admin's or operator's say and
// ends every session and token of that user.
func (s *Service) ResetPassword(ctx context.Context, userID, newPassword, actorID string, c Client) error {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	hash, err := s.hashNewPassword(ctx, newPassword, u.Email)
	if err != nil {
		return err
	}
	if err := s.Users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	s.voidResetLinks(ctx, u.ID)
	s.record(ctx, append([]*lacop.AuditEvent{{Type: lacop.AuditPasswordChanged, UserID: u.ID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": "admin"}}},
		s.letter(u, "", "password_changed", map[string]string{"by": "admin"}, c)...)...)
	_, err = s.end(ctx, ReasonPasswordReset, u.ID, nil, actorID, c)
	return err
}

// DisableUser stops a user from signing in and ends every session and token.
func (s *Service) DisableUser(ctx context.Context, userID, actorID string, c Client) error {
	if err := s.Users.SetDisabled(ctx, userID, true); err != nil {
		return err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserDisabled, UserID: userID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent})
	_, err := s.end(ctx, ReasonUserDisabled, userID, nil, actorID, c)
	return err
}

// PrepareSetup makes a one-time token for creating the first admin when the
// store has no users, and returns it ("" when users exist). Only the token's
// hash is stored; each call replaces the previous token.
func (s *Service) PrepareSetup(ctx context.Context) (string, error) {
	n, err := s.Users.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("auth: count users: %w", err)
	} else if n > 0 {
		return "", nil
	}
	token := s.randomString(32)
	if err := s.Setup.ResetSetupToken(ctx, setupHash(token), s.Now().Add(setupLinkLifetime)); err != nil {
		return "", fmt.Errorf("auth: setup token: %w", err)
	}
	return token, nil
}

// SetupTokenValid reports whether token may still create the first admin.
func (s *Service) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	if token == "" || len(token) > 100 {
		return false, nil
	}
	return s.Setup.SetupTokenValid(ctx, setupHash(token), s.Now())
}

// CompleteSetup spends token to create the first admin and signs them in.
func (s *Service) CompleteSetup(ctx context.Context, token string, nu NewUser, c Client) (*SignIn, error) {
	if ok, err := s.SetupTokenValid(ctx, token); err != nil {
		return nil, err
	} else if !ok {
		return nil, lacop.Errorf(lacop.ENOTFOUND, "This setup link is no longer valid.")
	}
	nu.Admin = true
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return nil, err
	}
	if err := s.Setup.ClaimSetup(ctx, setupHash(token), s.Now(), u); err != nil {
		return nil, err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserCreated, UserID: u.ID, ActorID: u.ID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"email": u.Email, "admin": "true", "via": "setup"}})
	in, err := s.startSession(ctx, u, lacop.AuthLevelOneFactor, false, c)
	if err != nil {
		return nil, err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, UserID: u.ID, SessionID: in.Session.ID,
		ActorID: u.ID, IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"via": "setup"}})
	return in, nil
}

func setupHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
