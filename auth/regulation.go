package auth

import (
	"context"
	"fmt"
	"math"
	"strings"
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

// limitFor is the number of failures that bans key; zero or less is none.
func (s *Service) limitFor(key string) int {
	n := s.Config.Regulation.MaxFailures
	if strings.HasPrefix(key, "ip:") {
		n = s.Config.Regulation.MaxFailuresPerIP
	}
	if n <= 0 {
		return math.MaxInt
	}
	return n
}

// attempt is one sign-in or second-factor attempt, counted as a failure
// before anything is checked. Counting first is what holds the limit under
// a burst: when many guesses arrive at once, each sees every earlier one's
// count, so at most the limit of them are ever checked, however long the
// checks queue for a password-hash slot.
type attempt struct {
	s      *Service
	keys   []string
	at     time.Time
	counts []int
}

// beginAttempt refuses the attempt if any key is banned or already at its
// limit, and otherwise counts it as a failure until succeeded says
// otherwise. A store that cannot answer refuses too.
func (s *Service) beginAttempt(ctx context.Context, keys []string) (*attempt, error) {
	ctx = context.WithoutCancel(ctx) // a client hanging up must not skip the count
	now := s.Now()
	// Failures count within the window, and only since the key's last ban
	// ended: a ban served is not served again for the failures behind it.
	since := make([]time.Time, len(keys))
	var until time.Time
	for i, key := range keys {
		end, err := s.Regulation.BanEnd(ctx, key)
		if err != nil {
			return nil, unavailable("check ban", err)
		}
		if end.After(now) && end.After(until) {
			until = end
		}
		since[i] = now.Add(-s.Config.Regulation.Window)
		if end.After(since[i]) {
			since[i] = end
		}
	}
	if !until.IsZero() {
		return nil, NewThrottled(until)
	}
	a := &attempt{s: s, keys: keys, at: now, counts: make([]int, len(keys))}
	if err := s.Regulation.RecordFailure(ctx, now, keys...); err != nil {
		return nil, unavailable("record failure", err)
	}
	var over bool
	for i, key := range keys {
		n, err := s.Regulation.CountFailures(ctx, key, since[i])
		if err != nil {
			return nil, unavailable("count failures", err)
		}
		a.counts[i] = n
		over = over || n > s.limitFor(key)
	}
	if over {
		// Others got there first: this one is refused unchecked, and the
		// keys past their limit are banned.
		if err := a.ban(ctx); err != nil {
			return nil, err
		}
		return nil, NewThrottled(now.Add(s.Config.Regulation.Ban))
	}
	return a, nil
}

// ban bans every key whose count reached its limit.
func (a *attempt) ban(ctx context.Context) error {
	s := a.s
	until := a.at.Add(s.Config.Regulation.Ban)
	for i, key := range a.keys {
		if a.counts[i] < s.limitFor(key) {
			continue
		}
		if err := s.Regulation.Ban(ctx, key, until); err != nil {
			return unavailable("ban", err)
		}
		s.Logger.Info("regulation ban", "key", key, "failures", a.counts[i], "until", until)
	}
	return nil
}

// failed confirms the attempt failed: keys that reached their limit with
// it are banned.
func (a *attempt) failed(ctx context.Context) error {
	return a.ban(context.WithoutCancel(ctx))
}

// succeeded withdraws the attempt's count and forgets the account's earlier
// failures; the address's earlier failures stand, so one good password
// cannot launder a spray of bad ones.
func (a *attempt) succeeded(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	s := a.s
	if err := s.Regulation.ClearFailures(ctx, a.keys[0]); err != nil {
		s.Logger.Warn("clear failures", "err", err)
	}
	for _, key := range a.keys[1:] {
		if err := s.Regulation.ForgetFailure(ctx, key, a.at); err != nil {
			s.Logger.Warn("forget failure", "err", err)
		}
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
