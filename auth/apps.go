package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/lacop/lacop"
)

// Apps ties the apps signed in through lacop (OpenID Connect) to the
// sessions they were signed in through. The protocol lives in package oidc;
// what auth must know is only that every ended session ends its apps' grants,
// in the same step, with their logouts queued durably.
type Apps struct {
	// Store holds the grants; nil when no app is configured.
	Store lacop.AppStore
	// Logouts returns the deliveries that tell an app one of its grants
	// ended (a back-channel logout token); written in the transaction that
	// ends the grant.
	Logouts func(*lacop.AppGrant) []*lacop.Delivery
	// Queued is called after deliveries were written, so the local sender
	// sends them at once instead of at its next poll.
	Queued func()
}

// endApps ends the app grants of the given sessions (of every session of
// userID when all is set) and queues their logouts. It runs inside every
// end, after the sessions are gone.
func (s *Service) endApps(ctx context.Context, all bool, userID string, sessionIDs ...string) error {
	if s.Apps.Store == nil || (!all && len(sessionIDs) == 0) {
		return nil
	}
	sel := lacop.GrantSelection{SessionIDs: sessionIDs}
	if all {
		sel = lacop.GrantSelection{UserID: userID}
	}
	return s.EndAppGrants(ctx, sel)
}

// EndAppGrants ends the selected grants and queues a logout for each; the
// grants' tokens stop working when it returns.
func (s *Service) EndAppGrants(ctx context.Context, sel lacop.GrantSelection) error {
	ended, err := s.Apps.Store.EndAppGrants(context.WithoutCancel(ctx), sel, s.Apps.Logouts)
	if err != nil {
		return unavailable("end app grants", err)
	}
	if len(ended) > 0 && s.Apps.Queued != nil {
		s.Apps.Queued()
	}
	return nil
}

// LiveSession returns the session a grant hangs off, with its user, while
// both may act: the session exists, has not run out (one that has is ended
// here, which ends its grants), owes no step, and its user is enabled.
// Otherwise it returns ENOTFOUND-free EUNAUTHENTICATED.
func (s *Service) LiveSession(ctx context.Context, sessionID string) (*lacop.User, *lacop.Session, error) {
	sess, err := s.Sessions.SessionByID(ctx, sessionID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, nil, errUnauthenticated
	} else if err != nil {
		return nil, nil, unavailable("look up session", err)
	}
	if !s.Now().Before(s.SessionExpiry(sess)) {
		if _, err := s.end(ctx, ReasonExpired, sess.UserID, sess, "", Client{}); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrSessionExpired
	}
	u, err := s.Users.UserByID(ctx, sess.UserID)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, nil, errUnauthenticated
	} else if err != nil {
		return nil, nil, unavailable("look up user", err)
	} else if u.Disabled {
		return nil, nil, errUnauthenticated
	}
	if s.Pending(&Identity{User: u, Session: sess}) != StepNone {
		return nil, nil, errUnauthenticated
	}
	return u, sess, nil
}

// appSweepBatch is how many sessions with grants SweepApps reads at a time.
const appSweepBatch = 500

// SweepApps ends the grants of sessions that ended without anyone acting
// on it: a session that ran out (ended here, as expired, so its apps hear
// within a sweep interval and not only when the session sweeper comes by),
// or one that is gone while its grants are not (a crash between the two
// steps of an end, a store that drops expired sessions by itself). It
// returns how many sessions it ended grants for.
func (s *Service) SweepApps(ctx context.Context) (int, error) {
	if s.Apps.Store == nil {
		return 0, nil
	}
	n := 0
	after := ""
	for {
		ids, err := s.Apps.Store.AppGrantSessionIDs(ctx, after, appSweepBatch)
		if err != nil {
			return n, fmt.Errorf("auth: sweep apps: %w", err)
		}
		for _, id := range ids {
			_, _, err := s.LiveSession(ctx, id)
			switch {
			case err == nil:
				continue
			case errors.Is(err, ErrSessionExpired):
				n++ // ended by LiveSession, its grants with it
			case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED && s.orphaned(ctx, id):
				if err := s.EndAppGrants(ctx, lacop.GrantSelection{SessionIDs: []string{id}}); err != nil {
					return n, err
				}
				n++
			case lacop.ErrorCode(err) == lacop.EUNAVAILABLE:
				return n, err
			}
		}
		if len(ids) < appSweepBatch {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}

// orphaned reports whether a session is gone from the store (and not merely
// waiting for a step or its user's re-enabling).
func (s *Service) orphaned(ctx context.Context, sessionID string) bool {
	_, err := s.Sessions.SessionByID(ctx, sessionID)
	return lacop.ErrorCode(err) == lacop.ENOTFOUND
}

// Record writes audit events for the layers beside auth (the OpenID Connect
// provider), through the same batch and spool as auth's own.
func (s *Service) Record(ctx context.Context, events ...*lacop.AuditEvent) {
	if len(events) > 0 {
		s.record(ctx, events...)
	}
}
