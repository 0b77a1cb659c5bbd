package auth

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/lacop/lacop"
)

// The admin side's powers over people and bans. Each records who did it
// (actorID, "" for the command line) and ends through the policy table
// what a change takes away.

// UserChange is an edit of a person; nil fields stay as they are.
type UserChange struct {
	Name   *string
	Groups *[]string
	Admin  *bool
}

var errDeleteSelf = lacop.Errorf(lacop.EFORBIDDEN, "You cannot delete your own account here; ask another administrator, or use lacop user delete.")

// ListUsers is one page of the people q selects, and how many it selects.
func (s *Service) ListUsers(ctx context.Context, q lacop.UserQuery) ([]*lacop.User, int, error) {
	users, total, err := s.Users.ListUsers(ctx, q)
	if err != nil {
		return nil, 0, unavailable("list users", err)
	}
	return users, total, nil
}

// EnableUser lets a disabled person sign in again. Nothing of what
// disabling ended comes back.
func (s *Service) EnableUser(ctx context.Context, userID, actorID string, c Client) error {
	if err := s.Users.SetDisabled(ctx, userID, false); err != nil {
		return storeErr("enable user", err)
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserEnabled, UserID: userID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"by": actorKind(actorID, userID, c)}})
	return nil
}

// UpdateUser applies ch to a person. Groups take effect on the next check
// (the user is read with every forward-auth decision). Taking the admin
// flag away ends that person's sessions and tokens, but the session
// making the change when it is their own (current); the last enabled
// administrator keeps it (ECONFLICT). Everything is checked before
// anything is written, and the admin flag, the one change that can be
// refused, is written first; what was applied is recorded even if a later
// write fails. The outcome (nil when nothing ended) carries the current
// session's new secret when it was spared.
func (s *Service) UpdateUser(ctx context.Context, userID string, ch UserChange, current *lacop.Session, actorID string, c Client) (*Outcome, error) {
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, storeErr("read user", err)
	}
	var groups []string
	if ch.Groups != nil {
		if groups, err = cleanGroups(*ch.Groups); err != nil {
			return nil, err
		}
	}
	var name string
	if ch.Name != nil {
		name = strings.TrimSpace(*ch.Name)
	}
	check := lacop.User{Email: u.Email, Name: name, Groups: groups}
	if err := check.Validate(); err != nil {
		return nil, err
	}

	detail := map[string]string{"by": actorKind(actorID, userID, c)}
	defer func() {
		if len(detail) > 1 {
			s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserUpdated, UserID: userID, ActorID: actorID,
				IP: c.IP, UserAgent: c.UserAgent, Detail: detail})
		}
	}()
	removed := false
	if ch.Admin != nil && *ch.Admin != u.Admin {
		if err := s.Users.SetAdmin(ctx, userID, *ch.Admin); err != nil {
			return nil, storeErr("set admin", err)
		}
		detail["admin"] = boolWord(*ch.Admin)
		removed = !*ch.Admin
	}
	if ch.Groups != nil && !slices.Equal(groups, u.Groups) {
		if err := s.Users.SetGroups(ctx, userID, groups); err != nil {
			return nil, storeErr("set groups", err)
		}
		detail["groups"] = strings.Join(groups, ", ")
	}
	if ch.Name != nil && name != u.Name {
		if err := s.Users.SetName(ctx, userID, name); err != nil {
			return nil, storeErr("set name", err)
		}
		detail["name"] = name
	}
	if removed {
		return s.end(ctx, ReasonAdminRemoved, userID, current, actorID, c)
	}
	return nil, nil
}

// storeErr passes a domain error (not found, conflict, invalid) as it is
// and refuses anything else as the store being unavailable (503).
func storeErr(op string, err error) error {
	if code := lacop.ErrorCode(err); code != lacop.EINTERNAL {
		return err
	}
	return unavailable(op, err)
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// cleanGroups trims the names and drops repeats; the store refuses a name
// that is not a group name.
func cleanGroups(in []string) ([]string, error) {
	out := []string{}
	for _, g := range in {
		g = strings.TrimSpace(g)
		if g == "" {
			return nil, lacop.Errorf(lacop.EINVALID, "A group name cannot be empty.")
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// DeleteUser ends every session, token and app sign-in of a person, then
// removes the account, so the email is free again. The audit trail stays,
// and the user.deleted event keeps the email. Nobody deletes their own
// account this way (actorID == userID), and the last enabled administrator
// stays (ECONFLICT). It returns how many sessions it ended.
func (s *Service) DeleteUser(ctx context.Context, userID, actorID string, c Client) (int, error) {
	if actorID != "" && actorID == userID {
		return 0, errDeleteSelf
	}
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return 0, storeErr("read user", err)
	}
	if u.Admin && !u.Disabled {
		// Checked before anything ends; the store checks again with the
		// delete, so a race cannot leave no administrator either.
		admins, _, err := s.Users.ListUsers(ctx, lacop.UserQuery{Admins: true})
		if err != nil {
			return 0, unavailable("list admins", err)
		}
		if !slices.ContainsFunc(admins, func(o *lacop.User) bool { return o.ID != userID && !o.Disabled }) {
			return 0, lacop.ErrLastAdmin
		}
	}
	ctx = context.WithoutCancel(ctx) // ending and deleting finish together
	out, err := s.end(ctx, ReasonUserDeleted, userID, nil, actorID, c)
	if err != nil {
		return 0, err
	}
	if err := s.Users.DeleteUser(ctx, userID); err != nil {
		// Everything of theirs has ended; the account stays (a race with
		// another admin's delete, or the store failing): say so.
		s.Logger.Warn("delete user: sessions ended, account kept", "user", userID, "err", err)
		return 0, storeErr("delete user", err)
	}
	s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditUserDeleted, UserID: userID, ActorID: actorID,
		IP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"email": u.Email, "name": u.Name, "by": actorKind(actorID, userID, c)}})
	return out.Revoked(), nil
}

// UserLabel names a user for logs and tables: their email, or for a
// deleted user "email (deleted)" from the user.deleted event that kept it;
// "" when neither is known (or id is "").
func (s *Service) UserLabel(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if u, err := s.Users.UserByID(ctx, id); err == nil {
		return u.Email
	}
	if gone, err := s.Audit.Events(ctx, lacop.AuditFilter{UserID: id, Type: lacop.AuditUserDeleted, Limit: 1}); err == nil && len(gone) == 1 {
		return gone[0].Detail["email"] + " (deleted)"
	}
	return ""
}

// BanView is a ban in force, as the admin side shows it: Kind is
// "address", "account" or "second_factor", Subject the address or email.
type BanView struct {
	lacop.Ban
	Kind    string
	Subject string
}

// Bans lists the throttling bans in force, with whom each is about.
func (s *Service) Bans(ctx context.Context) ([]BanView, error) {
	bans, err := s.Regulation.Bans(ctx, s.Now())
	if err != nil {
		return nil, unavailable("list bans", err)
	}
	views := make([]BanView, 0, len(bans))
	for _, b := range bans {
		v := BanView{Ban: b, Kind: banKind(b.Key)}
		switch {
		case strings.HasPrefix(b.Key, keyAccount):
			v.Subject = strings.TrimPrefix(b.Key, keyAccount)
		case strings.HasPrefix(b.Key, keyFactor):
			v.Subject = strings.TrimPrefix(b.Key, keyFactor)
			if u, err := s.Users.UserByID(ctx, v.Subject); err == nil {
				v.Subject = u.Email
			}
		default:
			v.Subject = strings.TrimPrefix(b.Key, keyAddress)
		}
		views = append(views, v)
	}
	return views, nil
}

// LiftBans ends the bans on target now: an address (an IPv6 address lifts
// its /64, which is what is banned) or an email (the account's password
// ban and its second-factor ban). It returns the bans it ended; none is
// not an error (the ban may have run out meanwhile). Failures behind a
// lifted ban stop counting, as when it runs out.
func (s *Service) LiftBans(ctx context.Context, target, actorID string, c Client) ([]BanView, error) {
	target = strings.TrimSpace(target)
	var keys []string
	if p, err := netip.ParsePrefix(target); err == nil {
		keys = append(keys, keyAddress+AddressKey(p.Addr().String()))
	} else if _, err := netip.ParseAddr(target); err == nil {
		keys = append(keys, keyAddress+AddressKey(target))
	} else if isEmail(lacop.NormalizeEmail(target)) {
		email := lacop.NormalizeEmail(target)
		keys = append(keys, keyAccount+email)
		if u, err := s.Users.UserByEmail(ctx, email); err == nil {
			keys = append(keys, keyFactor+u.ID)
		}
	} else {
		return nil, lacop.Errorf(lacop.EINVALID, "%q is neither an address nor an email.", target)
	}
	before, err := s.Bans(ctx)
	if err != nil {
		return nil, err
	}
	var lifted []BanView
	now := s.Now()
	for _, key := range keys {
		ok, err := s.Regulation.LiftBan(ctx, key, now)
		if err != nil {
			return lifted, unavailable("lift ban", err)
		}
		if !ok {
			continue
		}
		i := slices.IndexFunc(before, func(b BanView) bool { return b.Key == key })
		v := BanView{Ban: lacop.Ban{Key: key}, Kind: banKind(key), Subject: target}
		if i >= 0 {
			v = before[i]
		}
		lifted = append(lifted, v)
		d := map[string]string{"ban": v.Kind, "subject": v.Subject}
		if !v.Until.IsZero() {
			d["until"] = v.Until.UTC().Format("2006-01-02T15:04:05Z")
		}
		s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditBanLifted, ActorID: actorID, IP: c.IP, UserAgent: c.UserAgent, Detail: d})
	}
	return lifted, nil
}
