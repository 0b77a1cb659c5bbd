package auth

import (
	"context"

	"github.com/lacop/lacop"
)

// NormalizeStoredEmails rewrites every stored address that is not in the
// form lacop.NormalizeEmail gives. An older lacop compared addresses only
// lower-cased, so an address typed decomposed or in fullwidth letters was
// stored as typed, and no lookup (which normalises what people type) would
// find it again: its owner could not sign in. Each rewrite is recorded. An
// address whose normal form another account already holds is left as it
// is and logged: which of the two is the person's is the admin's call.
// Addresses in normal form, the usual case, cost one read of the users.
func (s *Service) NormalizeStoredEmails(ctx context.Context) error {
	users, err := s.Users.Users(ctx)
	if err != nil {
		return unavailable("list users", err)
	}
	for _, u := range users {
		email := lacop.NormalizeEmail(u.Email)
		if email == u.Email {
			continue
		}
		switch err := s.Users.SetEmail(ctx, u.ID, email); lacop.ErrorCode(err) {
		case "":
			s.Logger.Info("stored email rewritten in normal form", "user", u.ID, "from", u.Email, "to", email)
			s.record(ctx, &lacop.AuditEvent{Type: lacop.AuditEmailChanged, UserID: u.ID,
				Detail: map[string]string{"from": u.Email, "to": email, "by": "normalization"}})
		case lacop.ECONFLICT, lacop.EINVALID:
			s.Logger.Warn("stored email is not in normal form and cannot be rewritten; the user cannot sign in by it until an admin resolves it",
				"user", u.ID, "email", u.Email, "normal", email, "reason", lacop.ErrorMessage(err))
		default:
			return unavailable("rewrite email", err)
		}
	}
	return nil
}
