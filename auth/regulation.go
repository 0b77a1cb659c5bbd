package auth

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lacop/lacop"
)

// Throttled is the refusal of an attempt while its account, its second
// factor or its client address is banned. Until says when to try again
// (Retry-After).
type Throttled struct {
	Until time.Time
	// ban is the kind of counter that refused: "account", "second_factor"
	// or "address". It is for the audit log only; the person is told the
	// same thing whichever it was.
	ban string
	err *lacop.Error
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

// Regulation keys, one kind per thing counted. Each kind counts apart, so
// that no success of one kind clears failures of another: a right
// password must not buy more guesses at the second factor.
const (
	// keyAccount counts wrong passwords for an account, by email, so that
	// unknown accounts are throttled exactly like known ones: at sign-in
	// and when a signed-in person confirms a change.
	keyAccount = "account:"
	// keyFactor counts wrong second-factor codes (TOTP, recovery codes, any
	// later factor) for an account, by user id: only someone who had the
	// password can make them, and they are never cleared by a password.
	keyFactor = "factor:"
	// keyAddress counts every failure from one client, an IPv6 client by
	// its /64 (AddressKey).
	keyAddress = "ip:"
)

// attemptKeys are the counters one attempt touches. own is the account's
// counter of this kind: a success clears it. The others (the client
// address) only lose this attempt's count on success, so one good password
// cannot launder a spray of bad ones from the same address.
type attemptKeys struct {
	own    string // "" when there is no account to count
	others []string
}

func (k attemptKeys) all() []string {
	if k.own == "" {
		return k.others
	}
	return append([]string{k.own}, k.others...)
}

// addressKeys is the client address's key, if the client has one.
func addressKeys(ip string) []string {
	if ip == "" {
		return nil
	}
	return []string{keyAddress + AddressKey(ip)}
}

// passwordKeys are the counters of a password attempt: the account and
// the client address. What is not an email cannot be an account and gets
// no account key, so nothing typed into the email field by mistake (a
// password, often) is stored.
func passwordKeys(email, ip string) attemptKeys {
	k := attemptKeys{others: addressKeys(ip)}
	if isEmail(email) {
		k.own = keyAccount + email
	}
	return k
}

// factorKeys are the counters of a second-factor attempt: the account's
// second factor and the client address.
func factorKeys(userID, ip string) attemptKeys {
	return attemptKeys{own: keyFactor + userID, others: addressKeys(ip)}
}

// banKind names key's kind in the audit log.
func banKind(key string) string {
	switch {
	case strings.HasPrefix(key, keyAccount):
		return "account"
	case strings.HasPrefix(key, keyFactor):
		return "second_factor"
	}
	return "address"
}

// limitFor is the number of failures that bans key; zero or less is none.
func (s *Service) limitFor(key string) int {
	n := s.Config.Regulation.MaxFailures
	if strings.HasPrefix(key, keyAddress) {
		n = s.Config.Regulation.MaxFailuresPerIP
	}
	if n <= 0 {
		return math.MaxInt
	}
	return n
}

// attempt is one password or second-factor attempt, counted as a failure
// before anything is checked. Counting first is what holds the limit under
// a burst: when many guesses arrive at once, each sees every earlier one's
// count, so at most the limit of them are ever checked, however long the
// checks queue for a password-hash slot.
type attempt struct {
	s      *Service
	c      Client // who tried, for the mail a ban of the account sends
	own    string
	keys   []string
	at     time.Time
	counts []int
}

// beginAttempt refuses the attempt if any key is banned or already at its
// limit, and otherwise counts it as a failure until succeeded says
// otherwise. A store that cannot answer refuses too.
func (s *Service) beginAttempt(ctx context.Context, k attemptKeys, c Client) (*attempt, error) {
	ctx = context.WithoutCancel(ctx) // a client hanging up must not skip the count
	keys := k.all()
	now := s.Now()
	// Failures count within the window, and only since the key's last ban
	// ended: a ban served is not served again for the failures behind it.
	since := make([]time.Time, len(keys))
	var until time.Time
	var ban string
	for i, key := range keys {
		end, err := s.Regulation.BanEnd(ctx, key)
		if err != nil {
			return nil, unavailable("check ban", err)
		}
		if end.After(now) && end.After(until) {
			until, ban = end, banKind(key)
		}
		since[i] = now.Add(-s.Config.Regulation.Window)
		if end.After(since[i]) {
			since[i] = end
		}
	}
	if !until.IsZero() {
		return nil, throttled(until, ban)
	}
	a := &attempt{s: s, c: c, own: k.own, keys: keys, at: now, counts: make([]int, len(keys))}
	if err := s.Regulation.RecordFailure(ctx, now, keys...); err != nil {
		return nil, unavailable("record failure", err)
	}
	for i, key := range keys {
		n, err := s.Regulation.CountFailures(ctx, key, since[i])
		if err != nil {
			return nil, unavailable("count failures", err)
		}
		a.counts[i] = n
		if n > s.limitFor(key) && ban == "" {
			ban = banKind(key)
		}
	}
	if ban != "" {
		// Others got there first: this one is refused unchecked, and the
		// keys past their limit are banned.
		if err := a.ban(ctx); err != nil {
			return nil, err
		}
		return nil, throttled(now.Add(s.Config.Regulation.Ban), ban)
	}
	return a, nil
}

// throttled is a refusal until the given time by a ban of the given kind.
func throttled(until time.Time, ban string) *Throttled {
	t := NewThrottled(until)
	t.ban = ban
	return t
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
		s.lockedLetter(ctx, key, until, a.c)
	}
	return nil
}

// failed confirms the attempt failed: keys that reached their limit with
// it are banned.
func (a *attempt) failed(ctx context.Context) error {
	return a.ban(context.WithoutCancel(ctx))
}

// succeeded forgets the account's earlier failures of this kind and
// withdraws this attempt's count from the others: the address's earlier
// failures stand, so one good password cannot launder a spray of bad ones,
// and a right password leaves the second factor's count alone.
func (a *attempt) succeeded(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	s := a.s
	for _, key := range a.keys {
		if key == a.own {
			if err := s.Regulation.ClearFailures(ctx, key); err != nil {
				s.Logger.Warn("clear failures", "err", err)
			}
			continue
		}
		if err := s.Regulation.ForgetFailure(ctx, key, a.at); err != nil {
			s.Logger.Warn("forget failure", "err", err)
		}
	}
}

// bannedFactor refuses while the user's second factor is banned: a right
// password then starts no session, since the session could do nothing but
// guess codes the ban refuses anyway.
func (s *Service) bannedFactor(ctx context.Context, userID string) error {
	until, err := s.Regulation.BannedUntil(context.WithoutCancel(ctx), keyFactor+userID, s.Now())
	if err != nil {
		return unavailable("check ban", err)
	}
	if until.IsZero() {
		return nil
	}
	return throttled(until, banKind(keyFactor))
}

// refusal says who and what a throttled attempt was for, for the audit.
type refusal struct {
	userID, sessionID string
	email             string // as typed; recorded only when it is an email
	step              string // "password", "second_factor" or "password_confirm"
}

// recordThrottled audits a refused attempt, naming the account when it
// exists, so that the refusals show in that account's history.
func (s *Service) recordThrottled(ctx context.Context, r refusal, t *Throttled, c Client) {
	d := identifierDetail(map[string]string{"step": r.step, "until": t.Until.UTC().Format(time.RFC3339)}, r.email)
	if t.ban != "" {
		d["ban"] = t.ban
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditLoginThrottled, UserID: r.userID, SessionID: r.sessionID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: d})
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
