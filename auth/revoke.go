package auth

import (
	"context"
	"strconv"

	"github.com/lacop/lacop"
)

var errSessionNotFound = &lacop.Error{Code: lacop.ENOTFOUND, Message: "Session not found."}

// RevokeSession ends one session by its public id. With ownerID set, only
// that user's sessions can be ended, and another user's id answers exactly
// like an unknown one, so ids cannot be probed.
func (s *Service) RevokeSession(ctx context.Context, sessionID, ownerID, actorID string, c Client) error {
	sess, err := s.Sessions.SessionByID(ctx, sessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND || (err == nil && ownerID != "" && sess.UserID != ownerID) {
		return errSessionNotFound
	} else if err != nil {
		return unavailable("look up session", err)
	}
	ended, err := s.end(ctx, ReasonRevoked, sess.UserID, sess, actorID, c)
	if err != nil {
		return err
	} else if len(ended) == 0 {
		return errSessionNotFound // someone else ended it first
	}
	return nil
}

// RevokeAll ends every session of a user, spends their tokens, and records
// one session.revoked_all event besides one per ended session.
func (s *Service) RevokeAll(ctx context.Context, userID, actorID string, c Client) (int, error) {
	ended, err := s.end(ctx, ReasonRevokedAll, userID, nil, actorID, c)
	if err != nil {
		return 0, err
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditSessionRevokedAll, UserID: userID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"count": strconv.Itoa(len(ended))}})
	return len(ended), nil
}
