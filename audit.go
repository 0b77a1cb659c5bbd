package lacop

import (
	"context"
	"time"
)

// Audit event types. The list is part of the public contract.
const (
	AuditLoginSucceeded = "login.succeeded"
	AuditLoginFailed    = "login.failed"
	AuditLoginThrottled = "login.throttled"
	// AuditLoginNewDevice is a sign-in from a browser the person had not
	// signed in from before (by its device cookie), told to them by mail.
	AuditLoginNewDevice = "login.new_device"
	// AuditAlertsChanged is a person turning new-sign-in mails on or off.
	AuditAlertsChanged         = "alerts.changed"
	AuditSecondFactorSucceeded = "second_factor.succeeded"
	AuditSecondFactorFailed    = "second_factor.failed"
	AuditSecondFactorEnabled   = "second_factor.enabled"
	AuditSecondFactorDisabled  = "second_factor.disabled"
	AuditLogout                = "logout"
	AuditSessionRevoked        = "session.revoked"
	AuditSessionRevokedAll     = "session.revoked_all"
	AuditSessionExpired        = "session.expired"
	AuditPasswordChanged       = "password.changed"
	// AuditPasswordResetRequested is a reset link made: mailed at the
	// person's request, or handed to an administrator.
	AuditPasswordResetRequested = "password.reset_requested"
	// AuditPasswordConfirmFailed is a wrong password given by a signed-in
	// session to confirm a change (password, email, second factor). It is
	// not a sign-in: the session is live, and a holder of it who does not
	// know the password may have stolen the cookie.
	AuditPasswordConfirmFailed = "password.confirm_failed"
	AuditEmailChanged          = "email.changed"
	// AuditEmailChangeRequested is a change of address waiting for the
	// link mailed to the new address.
	AuditEmailChangeRequested = "email.change_requested"
	AuditConcernReported      = "security.concern_reported"
	AuditTokenIssued          = "token.issued"
	AuditTokenRefreshed       = "token.refreshed"
	AuditTokenReuseDetected   = "token.reuse_detected"
	AuditTokenRevoked         = "token.revoked"
	AuditUserCreated          = "user.created"
	AuditUserDisabled         = "user.disabled"
	// AuditUserEnabled, AuditUserUpdated (name, groups or the admin flag;
	// Detail says which) and AuditUserDeleted (Detail keeps the email, so
	// the trail still names the person once the account is gone).
	AuditUserEnabled = "user.enabled"
	AuditUserUpdated = "user.updated"
	AuditUserDeleted = "user.deleted"
	// AuditBanLifted is an admin or operator ending a throttling ban early.
	AuditBanLifted = "ban.lifted"
	// An app signed a person in through lacop (OpenID Connect), and what
	// became of the app's grant.
	AuditOIDCAuthorized     = "oidc.authorized"
	AuditOIDCConsentRevoked = "oidc.consent_revoked"
	AuditOIDCLogoutSent     = "oidc.logout_sent"
	AuditOIDCLogoutFailed   = "oidc.logout_failed"
	// A mail lacop queued for a person (which letter; never its content
	// or links), and one it gave up sending.
	AuditMailQueued = "mail.queued"
	AuditMailFailed = "mail.failed"
	// Passkeys: registered, removed, a refused attempt, and a counter
	// that went backwards (a cloned authenticator; the sign-in is
	// refused). A sign-in with one is login.succeeded (method "passkey"),
	// a second factor second_factor.succeeded (method "passkey").
	AuditPasskeyRegistered     = "passkey.registered"
	AuditPasskeyRemoved        = "passkey.removed"
	AuditPasskeyFailed         = "passkey.failed"
	AuditPasskeyCloneSuspected = "passkey.clone_suspected"
)

// AuditTypes lists every audit event type, for filters that offer them
// and commands that check them.
func AuditTypes() []string {
	return []string{
		AuditLoginSucceeded, AuditLoginFailed, AuditLoginThrottled, AuditLoginNewDevice, AuditAlertsChanged,
		AuditSecondFactorSucceeded, AuditSecondFactorFailed, AuditSecondFactorEnabled, AuditSecondFactorDisabled,
		AuditLogout, AuditSessionRevoked, AuditSessionRevokedAll, AuditSessionExpired,
		AuditPasswordChanged, AuditPasswordResetRequested, AuditPasswordConfirmFailed, AuditEmailChanged, AuditEmailChangeRequested, AuditConcernReported,
		AuditTokenIssued, AuditTokenRefreshed, AuditTokenReuseDetected, AuditTokenRevoked,
		AuditUserCreated, AuditUserDisabled, AuditUserEnabled, AuditUserUpdated, AuditUserDeleted, AuditBanLifted,
		AuditOIDCAuthorized, AuditOIDCConsentRevoked, AuditOIDCLogoutSent, AuditOIDCLogoutFailed,
		AuditMailQueued, AuditMailFailed,
		AuditPasskeyRegistered, AuditPasskeyRemoved, AuditPasskeyFailed, AuditPasskeyCloneSuspected,
	}
}

// AuditEvent records who did what to which session, and from where. It
// never holds a secret, token or password.
type AuditEvent struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	UserID    string            `json:"userId"`
	SessionID string            `json:"sessionId"`
	ActorID   string            `json:"actorId"`
	IP        string            `json:"ip"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail"`
	// Outbox are deliveries that announce the event (a mail to the
	// person): RecordEvents writes them in the same step as the event, so
	// neither is kept without the other. Never shown with the event.
	Outbox []*Delivery `json:"-"`
}

// AuditFilter narrows a listing. Zero fields match everything.
type AuditFilter struct {
	UserID string
	Type   string
	Since  time.Time
	// Until, when set, keeps only events before it.
	Until time.Time
	// BeforeID pages backwards: only events older than this id.
	BeforeID string
	// Limit caps the result; 0 means a store default.
	Limit int
}

// AuditStore keeps the audit log, newest first.
type AuditStore interface {
	// RecordEvents appends the events in one write and sets each one's ID
	// (and Time when zero). Ending 10,000 sessions records 10,000 events, so
	// they go in together. The events' Outbox deliveries are written in
	// the same transaction.
	RecordEvents(ctx context.Context, events ...*AuditEvent) error

	// Events lists matching events, newest first.
	Events(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
}
