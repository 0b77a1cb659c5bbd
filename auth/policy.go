package auth

import (
	"context"
	"fmt"

	"github.com/lacop/lacop"
)

// Reason names an event that ends sessions. It is recorded in the audit
// event of every session it ends.
type Reason string

// The events that end sessions.
const (
	ReasonLogout          Reason = "logout"
	ReasonExpired         Reason = "expired"
	ReasonRevoked         Reason = "revoked"
	ReasonAdminRevoked    Reason = "admin_revoked"
	ReasonRevokedAll      Reason = "revoked_all"
	ReasonRevokedOthers   Reason = "revoked_others"
	ReasonAdminRevokedAll Reason = "admin_revoked_all"
	ReasonPasswordChanged Reason = "password_changed"
	ReasonPasswordReset   Reason = "password_reset"
	ReasonEmailChanged    Reason = "email_changed"
	ReasonTOTPDisabled    Reason = "second_factor_disabled"
	ReasonConcern         Reason = "concern_reported"
	ReasonUserDisabled    Reason = "user_disabled"
	ReasonTokenReuse      Reason = "token_reuse"
	ReasonSessionLimit    Reason = "session_limit"
	ReasonTOTPReset       Reason = "second_factor_reset"
	// ReasonPasskeyRemoved ends the sessions that signed in (or passed
	// their second factor) with a passkey being removed.
	ReasonPasskeyRemoved Reason = "passkey_removed"
	// ReasonPasskeyCloned ends them when the passkey's counter went
	// backwards: someone may hold a copy of it.
	ReasonPasskeyCloned Reason = "passkey_cloned"
	// ReasonUserDeleted ends everything of a person being deleted.
	ReasonUserDeleted Reason = "user_deleted"
	// ReasonAdminRemoved ends the sessions of a person who is no longer an
	// administrator (but the one making the change, when it is their own),
	// so no page or token opened with admin powers outlives them.
	ReasonAdminRemoved Reason = "admin_removed"
)

// scope is which of a user's sessions an event ends.
type scope int

const (
	scopeCurrent scope = iota // the one session the event is about
	scopeOthers               // every session of the user but the current one
	scopeAll                  // every session of the user
	scopeListed               // the sessions the caller names (those a passkey signed in)
)

// rule is one row of the policy: what an event ends.
type rule struct {
	scope scope
	// bumpTokenVersion invalidates every access token of the user issued
	// before, including ones whose jti was never tracked.
	bumpTokenVersion bool
	// rotateCurrent gives the surviving current session a fresh secret, so
	// a stolen copy of its cookie dies with the others.
	rotateCurrent bool
	// notify is the reason open tabs of each ended session are given.
	notify string
}

// policy is the one table that says what each event ends. Every path that
// ends a session (API, pages, CLI, admin) goes through end, which reads it.
// Adding an event is adding a row.
var policy = map[Reason]rule{
	ReasonLogout:          {scope: scopeCurrent, notify: "logout"},
	ReasonExpired:         {scope: scopeCurrent, notify: "expired"},
	ReasonRevoked:         {scope: scopeCurrent, notify: "revoked"},
	ReasonAdminRevoked:    {scope: scopeCurrent, notify: "admin"},
	ReasonTokenReuse:      {scope: scopeCurrent, notify: "token_reuse"},
	ReasonSessionLimit:    {scope: scopeCurrent, notify: "session_limit"},
	ReasonRevokedAll:      {scope: scopeAll, bumpTokenVersion: true, notify: "revoked_all"},
	ReasonRevokedOthers:   {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "revoked_all"},
	ReasonAdminRevokedAll: {scope: scopeAll, bumpTokenVersion: true, notify: "admin"},
	ReasonPasswordChanged: {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "password_changed"},
	ReasonEmailChanged:    {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "email_changed"},
	ReasonTOTPDisabled:    {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "second_factor_disabled"},
	ReasonConcern:         {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "concern_reported"},
	ReasonPasswordReset:   {scope: scopeAll, bumpTokenVersion: true, notify: "admin"},
	ReasonUserDisabled:    {scope: scopeAll, bumpTokenVersion: true, notify: "admin"},
	ReasonTOTPReset:       {scope: scopeAll, bumpTokenVersion: true, notify: "admin"},
	ReasonPasskeyRemoved:  {scope: scopeListed, notify: "passkey_removed"},
	ReasonPasskeyCloned:   {scope: scopeListed, notify: "passkey_cloned"},
	ReasonUserDeleted:     {scope: scopeAll, bumpTokenVersion: true, notify: "admin"},
	ReasonAdminRemoved:    {scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "admin"},
}

// Outcome is what an event ended.
type Outcome struct {
	// Ended are the sessions that ended, the current one included if it did.
	Ended []*lacop.Session
	// CurrentEnded reports whether the caller's own session is among them,
	// so the response must delete the cookie. (For events about one session,
	// like a sign-out, that session is the caller's.)
	CurrentEnded bool
	// NewSecret is the current session's fresh secret when the event
	// rotated it; the response must set it as the new cookie.
	NewSecret string
}

// Revoked is the number of sessions ended.
func (o *Outcome) Revoked() int { return len(o.Ended) }

// end applies the policy row for reason to userID's sessions. current is the
// session the event is about (nil when there is none, as for an admin
// action); actorID is who caused it ("" for the system or the command line).
// It returns only after the store has deleted the sessions, so a response
// sent afterwards can promise they are dead; then it records and announces
// each ended session.
func (s *Service) end(ctx context.Context, reason Reason, userID string, current *lacop.Session, actorID string, c Client) (*Outcome, error) {
	return s.endWith(ctx, reason, userID, current, nil, actorID, c)
}

// endWith is end for every scope; listed are the sessions a scopeListed
// row ends (current among them or not).
func (s *Service) endWith(ctx context.Context, reason Reason, userID string, current *lacop.Session, listed []string, actorID string, c Client) (*Outcome, error) {
	// The session making the change is spared (and rotated) only when it
	// is the user's own: an admin's session acting on someone else is no
	// concern of this event.
	if current != nil && current.UserID != userID {
		current = nil
	}
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

	// A delete that fails part way (Redis ends sessions in batches) has
	// still ended some: their tokens, audit events and news follow as for
	// a complete one, and the failure is returned after.
	out := &Outcome{}
	var failed error
	// tokenIDs are the sessions whose tokens end: the ones ended here, and
	// the current one even if it was already gone, in case the store ended
	// it but its answer was lost (ending tokens twice is harmless).
	var tokenIDs []string
	switch {
	case r.scope == scopeCurrent && current != nil:
		existed, err := s.Sessions.DeleteSession(ctx, current.ID)
		if err != nil {
			// The store may have ended it and lost the answer: its tokens
			// end anyway (harmless if it lives on and is ended again).
			if terr := s.endTokens(ctx, false, userID, current.ID); terr != nil {
				s.Logger.Warn("end tokens of a session whose end failed", "err", terr)
			}
			return nil, unavailable("end session", err)
		} else if existed {
			out.Ended = append(out.Ended, current)
		} else {
			tokenIDs = append(tokenIDs, current.ID)
		}
	case r.scope == scopeListed:
		for _, id := range listed {
			// Tokens end whether or not the session still existed (its
			// end may have been lost on the way back).
			tokenIDs = append(tokenIDs, id)
			existed, err := s.Sessions.DeleteSession(ctx, id)
			if err != nil {
				failed = err
			} else if existed {
				out.Ended = append(out.Ended, &lacop.Session{ID: id, UserID: userID})
			}
		}
	case r.scope == scopeOthers && current != nil:
		out.Ended, failed = s.Sessions.DeleteUserSessions(ctx, userID, current.ID)
	case r.scope == scopeAll, r.scope == scopeOthers:
		out.Ended, failed = s.Sessions.DeleteUserSessions(ctx, userID, "")
	}
	if failed != nil {
		failed = unavailable("end sessions", failed)
		if len(out.Ended) == 0 && len(tokenIDs) == 0 {
			return nil, failed
		}
	}
	for _, sess := range out.Ended {
		if r.scope != scopeListed {
			tokenIDs = append(tokenIDs, sess.ID)
		}
		if current != nil && sess.ID == current.ID {
			out.CurrentEnded = true
		}
	}
	// Tokens end after their sessions: a token being issued meanwhile is
	// written before its session is read back (confirmTokens), so either
	// this sees it or it sees the session gone. Events that bump the
	// version end every token of the user, the current session's included.
	if r.bumpTokenVersion || len(tokenIDs) > 0 {
		if err := s.endTokens(ctx, r.bumpTokenVersion, userID, tokenIDs...); err != nil && failed == nil {
			failed = err
		}
	}
	if failed != nil {
		s.announce(ctx, reason, r, out.Ended, actorID, userID, c)
		return nil, failed
	}

	if r.rotateCurrent && current != nil && !out.CurrentEnded {
		secret, hash := s.newSecret()
		if err := s.Sessions.RotateSessionSecret(ctx, current.ID, hash); lacop.ErrorCode(err) == lacop.ENOTFOUND {
			out.CurrentEnded = true // ended by someone else meanwhile
		} else if err != nil {
			s.announce(ctx, reason, r, out.Ended, actorID, userID, c)
			return nil, unavailable("rotate session secret", err)
		} else {
			out.NewSecret = secret
		}
	}

	s.announce(ctx, reason, r, out.Ended, actorID, userID, c)
	return out, nil
}

// announce records an audit event for each ended session and tells its
// open streams.
func (s *Service) announce(ctx context.Context, reason Reason, r rule, ended []*lacop.Session, actorID, userID string, c Client) {
	now := s.Now()
	by := actorKind(actorID, userID, c)
	news := make([]lacop.SessionEnded, 0, len(ended))
	events := make([]*lacop.AuditEvent, 0, len(ended))
	for _, sess := range ended {
		events = append(events, &lacop.AuditEvent{
			Type: auditTypeFor(reason), UserID: sess.UserID, SessionID: sess.ID, ActorID: actorID,
			IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"reason": string(reason), "by": by},
		})
		news = append(news, lacop.SessionEnded{SessionID: sess.ID, UserID: sess.UserID, Reason: r.notify, Time: now})
	}
	if len(events) > 0 {
		s.record(ctx, events...)
	}
	if err := s.Notify.Publish(ctx, news...); err != nil {
		// The sessions are gone already; streams find out when they re-check.
		s.Logger.Warn("announce ended sessions", "count", len(news), "err", err)
	}
}

// auditTypeFor is the audit event recorded for each session an event ends.
func auditTypeFor(reason Reason) string {
	switch reason {
	case ReasonLogout:
		return lacop.AuditLogout
	case ReasonExpired:
		return lacop.AuditSessionExpired
	}
	return lacop.AuditSessionRevoked
}

// actorKind says who ended a session, for the person reading their
// activity: they did it themselves, an admin did, the operator's command
// line did, or lacop did on its own (expiry, limits, token reuse).
func actorKind(actorID, userID string, c Client) string {
	switch {
	case actorID != "" && actorID == userID:
		return "self"
	case actorID != "":
		return "admin"
	case c.Via == ViaCLI:
		return "cli"
	}
	return "system"
}
