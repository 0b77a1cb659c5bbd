package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

// Throttled is the refusal of an attempt while its account or client
// address is banned. Until says when to try again (Retry-After).
type Throttled struct {
	Until time.Time
	err   *lacop.Error
}

// NewThrottled refuses an attempt until the given time.
func NewThrottled(until time.Time) *Throttled {
	return &Throttled{Until: until, err: &lacop.Error{Code: lacop.ETOOMANYATTEMPTS,
		Message: "Too many failed attempts. Please wait before trying again."}}
}

// Error implements error.
func (t *Throttled) Error() string { return t.err.Error() }

// Unwrap exposes the domain error, so its code and message are found.
func (t *Throttled) Unwrap() error { return t.err }

// regulationKeys are the counters one attempt touches: the account (by
// email, so unknown accounts are throttled exactly like known ones) and the
// client address.
func regulationKeys(email, ip string) []string {
	keys := []string{"account:" + lacop.NormalizeEmail(email)}
	if ip != "" {
		keys = append(keys, "ip:"+ip)
	}
	return keys
}

// limitFor is the number of failures that bans key.
func (s *Service) limitFor(key string) int {
	if len(key) > 3 && key[:3] == "ip:" {
		return s.Config.Regulation.MaxFailuresPerIP
	}
	return s.Config.Regulation.MaxFailures
}

// checkBans refuses the attempt if any key is banned. A store that cannot
// answer refuses too.
func (s *Service) checkBans(ctx context.Context, keys []string) error {
	now := s.Now()
	var until time.Time
	for _, key := range keys {
		u, err := s.Regulation.BannedUntil(ctx, key, now)
		if err != nil {
			return unavailable("check ban", err)
		}
		if u.After(until) {
			until = u
		}
	}
	if !until.IsZero() {
		return NewThrottled(until)
	}
	return nil
}

// failed counts a failed attempt against every key and bans those past
// their limit within the window.
func (s *Service) failed(ctx context.Context, keys []string) error {
	ctx = context.WithoutCancel(ctx) // a client hanging up must not skip the count
	now := s.Now()
	if err := s.Regulation.RecordFailure(ctx, now, keys...); err != nil {
		return unavailable("record failure", err)
	}
	for _, key := range keys {
		n, err := s.Regulation.CountFailures(ctx, key, now.Add(-s.Config.Regulation.Window))
		if err != nil {
			return unavailable("count failures", err)
		}
		if n >= s.limitFor(key) {
			if err := s.Regulation.Ban(ctx, key, now.Add(s.Config.Regulation.Ban)); err != nil {
				return unavailable("ban", err)
			}
			s.Logger.Info("regulation ban", "key", key, "failures", n, "until", now.Add(s.Config.Regulation.Ban))
		}
	}
	return nil
}

// succeeded forgets the account's failures after a success; the address's
// count stands, so one good password cannot launder a spray of bad ones.
func (s *Service) succeeded(ctx context.Context, keys []string) {
	if err := s.Regulation.ClearFailures(context.WithoutCancel(ctx), keys[0]); err != nil {
		s.Logger.Warn("clear failures", "err", err)
	}
}

// recordThrottled audits a refused attempt.
func (s *Service) recordThrottled(ctx context.Context, userID, email, step string, until time.Time, c Client) {
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditLoginThrottled, UserID: userID, IP: c.IP, UserAgent: c.UserAgent,
		Detail: map[string]string{"email": truncate(email, 254), "step": step, "until": until.UTC().Format(time.RFC3339)}})
}

// PruneRegulation drops counts and bans older than the window and the ban,
// so the tables stay small.
func (s *Service) PruneRegulation(ctx context.Context) error {
	keep := max(s.Config.Regulation.Window, s.Config.Regulation.Ban)
	if err := s.Regulation.PruneRegulation(ctx, s.Now().Add(-keep)); err != nil {
		return fmt.Errorf("auth: prune regulation: %w", err)
	}
	return nil
}
