package auth

import (
	"context"
	"strconv"

	"github.com/lacop/lacop"
)

var errSessionNotFound = &lacop.Error{Code: lacop.ENOTFOUND, Message: "Session not found."}

// EndMySession ends one of the caller's own sessions by its public id.
// Another user's id answers exactly like an unknown one, so ids cannot be
// probed. The outcome's CurrentEnded says whether it was the caller's own
// session, which makes this a sign-out.
func (s *Service) EndMySession(ctx context.Context, id *Identity, sessionID string, c Client) (*Outcome, error) {
	out, err := s.endOne(ctx, sessionID, id.User.ID, ReasonRevoked, id.User.ID, c)
	if err != nil {
		return nil, err
	}
	out.CurrentEnded = sessionID == id.Session.ID
	return out, nil
}

// AdminEndSession ends any session by its public id, on an admin's or the
// operator's say.
func (s *Service) AdminEndSession(ctx context.Context, sessionID, actorID string, c Client) error {
	_, err := s.endOne(ctx, sessionID, "", ReasonAdminRevoked, actorID, c)
	return err
}

// endOne ends the session with the public id, if it belongs to ownerID
// (any owner when "").
func (s *Service) endOne(ctx context.Context, sessionID, ownerID string, reason Reason, actorID string, c Client) (*Outcome, error) {
	sess, err := s.Sessions.SessionByID(ctx, sessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND || (err == nil && ownerID != "" && sess.UserID != ownerID) {
		return nil, errSessionNotFound
	} else if err != nil {
		return nil, unavailable("look up session", err)
	}
	out, err := s.end(ctx, reason, sess.UserID, sess, actorID, c)
	if err != nil {
		return nil, err
	} else if out.Revoked() == 0 {
		return nil, errSessionNotFound // someone else ended it first
	}
	return out, nil
}

// SignOutEverywhere ends the caller's sessions: every other one when
// keepCurrent is set (the current one gets a fresh secret), else all.
func (s *Service) SignOutEverywhere(ctx context.Context, id *Identity, keepCurrent bool, c Client) (*Outcome, error) {
	reason := ReasonRevokedAll
	if keepCurrent {
		reason = ReasonRevokedOthers
	}
	return s.revokeAll(ctx, reason, id.User.ID, id.Session, id.User.ID, c)
}

// RevokeAll ends every session and token of a user on an admin's or the
// operator's say.
func (s *Service) RevokeAll(ctx context.Context, userID, actorID string, c Client) (int, error) {
	out, err := s.revokeAll(ctx, ReasonAdminRevokedAll, userID, nil, actorID, c)
	if err != nil {
		return 0, err
	}
	return out.Revoked(), nil
}

// revokeAll records one session.revoked_all event beside the one per ended
// session, so the activity page shows the act as well as its effects.
func (s *Service) revokeAll(ctx context.Context, reason Reason, userID string, current *lacop.Session, actorID string, c Client) (*Outcome, error) {
	out, err := s.end(ctx, reason, userID, current, actorID, c)
	if err != nil {
		return nil, err
	}
	e := &lacop.AuditEvent{Type: lacop.AuditSessionRevokedAll, UserID: userID, ActorID: actorID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"count": itoa(out.Revoked()), "reason": string(reason), "by": actorKind(actorID, userID, c)}}
	if current != nil {
		e.SessionID = current.ID
	}
	events := []*lacop.AuditEvent{e}
	if s.Letters != nil && out.Revoked() > 0 {
		if u, err := s.Users.UserByID(ctx, userID); err == nil {
			events = append(events, s.letter(u, "", "signed_out_everywhere", map[string]string{
				"count": itoa(out.Revoked()), "kept": strconv.FormatBool(current != nil && reason == ReasonRevokedOthers)}, c)...)
		}
	}
	s.record(ctx, events...)
	return out, nil
}
