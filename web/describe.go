package web

import (
	"fmt"
	"time"

	"github.com/lacop/lacop"
)

// eventTexts say in plain words what an audit event means to the person it
// is about.
var eventTexts = map[string]string{
	lacop.AuditLoginSucceeded:         "Signed in",
	lacop.AuditLoginFailed:            "Failed sign-in attempt",
	lacop.AuditLoginThrottled:         "Sign-in attempts blocked for a while after too many failures",
	lacop.AuditSecondFactorSucceeded:  "Second factor accepted",
	lacop.AuditSecondFactorFailed:     "Wrong second-factor code",
	lacop.AuditLogout:                 "Signed out",
	lacop.AuditSessionRevoked:         "Session ended",
	lacop.AuditSessionRevokedAll:      "Signed out everywhere",
	lacop.AuditSessionExpired:         "Session expired",
	lacop.AuditPasswordChanged:        "Password changed",
	lacop.AuditPasswordConfirmFailed:  "Wrong password given to confirm a change",
	lacop.AuditEmailChanged:           "Email address changed",
	lacop.AuditConcernReported:        "Security concern reported",
	lacop.AuditTokenIssued:            "App token issued",
	lacop.AuditTokenRefreshed:         "App token refreshed",
	lacop.AuditTokenReuseDetected:     "A used app token was presented again",
	lacop.AuditTokenRevoked:           "App token revoked",
	lacop.AuditUserCreated:            "Account created",
	lacop.AuditUserDisabled:           "Account disabled",
	lacop.AuditLoginNewDevice:         "Signed in from a new browser (you were mailed)",
	lacop.AuditAlertsChanged:          "Mail settings changed",
	lacop.AuditPasswordResetRequested: "Password reset link made",
	lacop.AuditEmailChangeRequested:   "Email change asked for, waiting for the new address to confirm",
	lacop.AuditMailQueued:             "Mail sent to you",
	lacop.AuditMailFailed:             "A mail to you could not be delivered",
	lacop.AuditPasskeyRegistered:      "Passkey added",
	lacop.AuditPasskeyRemoved:         "Passkey removed",
	lacop.AuditPasskeyFailed:          "A passkey was not accepted",
	lacop.AuditPasskeyCloneSuspected:  "A passkey looked copied; its sign-in was refused and its sessions ended",
}

// reasonTexts explain why a session ended.
var reasonTexts = map[string]string{
	"logout":                 "signed out",
	"expired":                "timed out",
	"revoked":                "ended from the session list",
	"admin_revoked":          "ended by an administrator",
	"revoked_all":            "signed out everywhere",
	"revoked_others":         "signed out everywhere else",
	"admin_revoked_all":      "all sessions ended by an administrator",
	"password_changed":       "password changed",
	"password_reset":         "password reset",
	"email_changed":          "email address changed",
	"second_factor_disabled": "second factor turned off",
	"concern_reported":       "security concern reported",
	"user_disabled":          "account disabled",
	"token_reuse":            "a used app token was presented again",
	"session_limit":          "too many sessions; the least recently used one ended",
	"passkey_removed":        "the passkey it signed in with was removed",
	"passkey_cloned":         "the passkey it signed in with looked copied",
}

var byTexts = map[string]string{"self": "by you", "admin": "by an administrator", "cli": "by an operator", "system": "automatically"}

// describeEvent is one line for the activity page.
func describeEvent(e *lacop.AuditEvent) string {
	text, ok := eventTexts[e.Type]
	if !ok {
		text = e.Type
	}
	if e.Detail["method"] == "passkey" {
		switch e.Type {
		case lacop.AuditLoginSucceeded:
			text = "Signed in with a passkey"
		case lacop.AuditSecondFactorSucceeded:
			text = "Passkey accepted as the second factor"
		}
	}
	if r := reasonTexts[e.Detail["reason"]]; r != "" && e.Type != lacop.AuditLogout {
		text += ": " + r
	}
	if by := byTexts[e.Detail["by"]]; by != "" && e.Detail["by"] != "self" {
		text += ", " + by
	}
	return text
}

// ago says how long ago t was, as a person would.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
