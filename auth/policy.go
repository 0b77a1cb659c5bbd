package auth

import (
	"context"
	"fmt"

	"github.com/lacop/lacop"
)

// Reason names an event that ends sessions. It is also the reason given to
// open tabs and recorded in audit events.
type Reason string

// The events that end sessions.
const (
	ReasonLogout          Reason = "logout"
	ReasonExpired         Reason = "expired"
	ReasonRevoked         Reason = "revoked"
	ReasonRevokedAll      Reason = "revoked_all"
	ReasonPasswordChanged Reason = "password_changed"
	ReasonPasswordReset   Reason = "password_reset"
	ReasonEmailChanged    Reason = "email_changed"
	ReasonTOTPDisabled    Reason = "second_factor_disabled"
	ReasonConcern         Reason = "security_concern"
	ReasonUserDisabled    Reason = "user_disabled"
	ReasonTokenReuse      Reason = "token_reuse"
)

// scope is which of a user's sessions an event ends.
type scope int

const (
	scopeCurrent scope = iota // the one session the event is about
	scopeOthers               // every session of the user but the current one
	scopeAll                  // every session of the user
)

// rule is one row of the policy: what an event ends.
type rule struct {
	scope scope
	// bumpTokenVersion invalidates every access token of the user issued
	// before, including ones whose jti was never tracked.
	bumpTokenVersion bool
	// rotateCurrent gives the surviving current session a fresh secret.
	rotateCurrent bool
	// audit is the event recorded for each ended session.
	audit string
}

// policy is the one table that says what each event ends. Every path that
// ends a session (API, pages, CLI, admin) goes through end, which reads it.
var policy = map[Reason]rule{
	ReasonLogout:          {scope: scopeCurrent, audit: lacop.AuditLogout},
	ReasonExpired:         {scope: scopeCurrent, audit: lacop.AuditSessionExpired},
	ReasonRevoked:         {scope: scopeCurrent, audit: lacop.AuditSessionRevoked},
	ReasonTokenReuse:      {scope: scopeCurrent, audit: lacop.AuditSessionRevoked},
	ReasonRevokedAll:      {scope: scopeAll, bumpTokenVersion: true, audit: lacop.AuditSessionRevoked},
	ReasonPasswordChanged: {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, audit: lacop.AuditSessionRevoked},
	ReasonEmailChanged:    {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, audit: lacop.AuditSessionRevoked},
	ReasonTOTPDisabled:    {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, audit: lacop.AuditSessionRevoked},
	ReasonConcern:         {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, audit: lacop.AuditSessionRevoked},
	ReasonPasswordReset:   {scope: scopeAll, bumpTokenVersion: true, audit: lacop.AuditSessionRevoked},
	ReasonUserDisabled:    {scope: scopeAll, bumpTokenVersion: true, audit: lacop.AuditSessionRevoked},
}

// end applies the policy row for reason to userID's sessions. current is the
// session the event is about (nil when there is none, as for an admin
// action); actorID is who caused it ("" for the system). It returns the
// ended sessions only after the store has deleted them, so a response sent
// afterwards can promise they are dead.
func (s *Service) end(ctx context.Context, reason Reason, userID string, current *lacop.Session, actorID string, c Client) ([]*lacop.Session, error) {
	r, ok := policy[reason]
	if !ok {
		return nil, fmt.Errorf("auth: no policy for %q", reason)
	}
	// Ending must finish even if the client goes away mid-request.
	ctx = context.WithoutCancel(ctx)

	// The token version goes up before any delete: a sign-in that raced this
	// event re-reads the user after creating its session and withdraws it
	// when the version moved (see Login), so nothing slips between the two.
	if r.bumpTokenVersion {
		if _, err := s.Users.BumpTokenVersion(ctx, userID); lacop.ErrorCode(err) == lacop.ENOTFOUND {
			return nil, err
		} else if err != nil {
			return nil, unavailable("bump token version", err)
		}
	}

	var ended []*lacop.Session
	switch {
	case r.scope == scopeCurrent && current != nil:
		existed, err := s.Sessions.DeleteSession(ctx, current.ID)
		if err != nil {
			return nil, unavailable("end session", err)
		} else if existed {
			ended = append(ended, current)
		}
	case r.scope == scopeOthers && current != nil:
		list, err := s.Sessions.DeleteUserSessions(ctx, userID, current.ID)
		if err != nil {
			return nil, unavailable("end other sessions", err)
		}
		ended = list
	case r.scope == scopeAll, r.scope == scopeOthers:
		list, err := s.Sessions.DeleteUserSessions(ctx, userID, "")
		if err != nil {
			return nil, unavailable("end sessions", err)
		}
		ended = list
	}

	for _, sess := range ended {
		e := &lacop.AuditEvent{
			Type: r.audit, UserID: sess.UserID, SessionID: sess.ID, ActorID: actorID,
			IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"reason": string(reason)},
		}
		s.record(ctx, e)
	}
	return ended, nil
}
