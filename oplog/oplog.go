// Package oplog writes the log lines an operator follows: each sign-in,
// failed sign-in, sign-out or other end of a session, and ban, as one
// structured line at info level (JSON with log.format json), with the id
// of the request that caused it. They are read off the audit events as
// they are recorded, like the metrics, so the log and the audit trail tell
// the same story. A line holds ids, the address and the reason, never a
// secret (the e2e leak check reads every line).
package oplog

import (
	"context"
	"log/slog"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/reqid"
)

// messages are the events logged, with the line's message.
var messages = map[string]string{
	lacop.AuditLoginSucceeded:     "signed in",
	lacop.AuditLoginFailed:        "sign-in failed",
	lacop.AuditLoginThrottled:     "attempt refused: throttled",
	lacop.AuditPasskeyFailed:      "passkey refused",
	lacop.AuditLogout:             "signed out",
	lacop.AuditSessionRevoked:     "session ended",
	lacop.AuditSessionExpired:     "session expired",
	lacop.AuditBanLifted:          "ban lifted",
	lacop.AuditTokenReuseDetected: "refresh token reused: session ended",
	lacop.AuditUserDeleted:        "user deleted",
	lacop.AuditUserDisabled:       "user disabled",
}

// details are the event details a line carries; others (notes, typed
// identifiers, emails) stay in the audit log.
var details = []string{"reason", "by", "method", "step", "ban", "until", "client"}

// AuditStore logs the events recorded through it, then records them with
// the store it wraps.
type AuditStore struct {
	lacop.AuditStore
	log *slog.Logger
}

// Audit wraps an audit store so its sign-in, sign-out and ban events are
// logged too.
func Audit(inner lacop.AuditStore, log *slog.Logger) *AuditStore {
	return &AuditStore{AuditStore: inner, log: log}
}

// RecordEvents logs the events an operator follows and records them all.
func (s *AuditStore) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	if s.log.Enabled(ctx, slog.LevelInfo) {
		id := reqid.From(ctx)
		for _, e := range events {
			msg, ok := messages[e.Type]
			if !ok {
				continue
			}
			attrs := make([]slog.Attr, 0, 10)
			attrs = append(attrs, slog.String("event", e.Type))
			if e.UserID != "" {
				attrs = append(attrs, slog.String("user", e.UserID))
			}
			if e.SessionID != "" {
				attrs = append(attrs, slog.String("session", e.SessionID))
			}
			if e.IP != "" {
				attrs = append(attrs, slog.String("ip", e.IP))
			}
			for _, k := range details {
				if v := e.Detail[k]; v != "" {
					attrs = append(attrs, slog.String(k, v))
				}
			}
			if id != "" {
				attrs = append(attrs, slog.String("request_id", id))
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
		}
	}
	return s.AuditStore.RecordEvents(ctx, events...)
}
