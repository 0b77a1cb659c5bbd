package web

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
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
	lacop.AuditUserEnabled:            "Account enabled again",
	lacop.AuditUserUpdated:            "Account details changed",
	lacop.AuditUserDeleted:            "Account deleted",
	lacop.AuditBanLifted:              "Sign-in block lifted",
	lacop.AuditOIDCAuthorized:         "Signed in to an app",
	lacop.AuditOIDCConsentRevoked:     "An app's access withdrawn",
	lacop.AuditOIDCLogoutSent:         "An app was told of a sign-out",
	lacop.AuditOIDCLogoutFailed:       "An app could not be told of a sign-out",
	lacop.AuditSecondFactorEnabled:    "Second factor turned on",
	lacop.AuditSecondFactorDisabled:   "Second factor turned off",
	lacop.AuditPasswordResetRequested: "Password reset link made",
	lacop.AuditLoginNewDevice:         "Signed in from a new browser (you were mailed)",
	lacop.AuditAlertsChanged:          "Mail settings changed",
	lacop.AuditEmailChangeRequested:   "Email change asked for, waiting for the new address to confirm",
	lacop.AuditMailQueued:             "Mail sent to you",
	lacop.AuditMailFailed:             "A mail to you could not be delivered",
	lacop.AuditPasskeyRegistered:      "Passkey added",
	lacop.AuditPasskeyRemoved:         "Passkey removed",
	lacop.AuditPasskeyFailed:          "A passkey was not accepted",
	lacop.AuditPasskeyCloneSuspected:  "A passkey looked copied; its sign-in was refused and its sessions ended",
}

// reasonTexts say why a session ended, as a clause after the event's
// text and who did it: "Session ended by an administrator because the
// account was disabled".
var reasonTexts = map[string]string{
	"revoked":                "from the session list",
	"revoked_all":            "when signing out everywhere",
	"revoked_others":         "when signing out everywhere else",
	"admin_revoked_all":      "along with every other session of the account",
	"password_changed":       "because the password changed",
	"password_reset":         "because the password was reset",
	"email_changed":          "because the email address changed",
	"second_factor_disabled": "because the second factor was turned off",
	"second_factor_reset":    "because the second factor was reset",
	"concern_reported":       "because a security concern was reported",
	"user_disabled":          "because the account was disabled",
	"user_deleted":           "because the account was deleted",
	"admin_removed":          "because administrator rights were taken away",
	"token_reuse":            "because a used app token was presented again",
	"session_limit":          "because there were too many sessions, and it was the least recently used",
	"passkey_removed":        "because the passkey it signed in with was removed",
	"passkey_cloned":         "because the passkey it signed in with looked copied",
}

// byTexts say who did something that was not the person themselves.
var byTexts = map[string]string{"admin": "by an administrator", "cli": "by an operator on the command line"}

// byWho names who acted when no account did, for the log's "By" column.
var byWho = map[string]string{"cli": "operator (command line)", "system": "lacop"}

// detailLabels name an event's detail keys for people; keys said by
// describeEvent (reason, by, method) are left out of detailText.
var detailLabels = map[string]string{
	"email": "Email", "name": "Name", "groups": "Groups", "admin": "Administrator", "note": "Note", "client": "App",
	"to": "New address", "from": "Old address", "ban": "Ban", "subject": "On", "until": "Until", "passkeys": "Passkeys removed",
	"identifier": "Typed", "passkey": "Passkey", "kind": "Kind", "error": "Error", "template": "Mail", "level": "Level",
	"rememberMe": "Remember me", "count": "Sessions", "ip": "Address",
}

// detailText is an event's detail as short sentences, "Email:
// ann@example.com. Administrator: yes.", sorted by key, without the keys
// describeEvent already says.
func detailText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		switch k {
		case "reason", "by", "method":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		label, ok := detailLabels[k]
		if !ok {
			label = strings.ToUpper(k[:1]) + strings.ReplaceAll(k[1:], "_", " ")
		}
		v := d[k]
		switch v {
		case "true":
			v = "yes"
		case "false":
			v = "no"
		case "":
			v = "none"
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(label + ": " + v + ".")
	}
	return b.String()
}

// describeEvent is one sentence for the activity page: what happened, who
// did it when it was not the person (an administrator, an operator at the
// command line; lacop itself goes unsaid), and why a session ended.
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
	if by := byTexts[e.Detail["by"]]; by != "" {
		text += " " + by
	}
	if r := reasonTexts[e.Detail["reason"]]; r != "" && e.Type != lacop.AuditLogout && e.Type != lacop.AuditSessionExpired {
		text += " " + r
	}
	return text
}

// eventAgent is the browser an event came from, when it is the person's
// own: an administrator's browser or the command line is not theirs to
// recognise, and would read as if they had been there.
func eventAgent(e *lacop.AuditEvent) string {
	switch e.Detail["by"] {
	case "admin", "cli", "system":
		return ""
	}
	return agent.Describe(e.UserAgent).String()
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
