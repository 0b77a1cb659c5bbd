package lacop

// AuditTypes returns every audit event type, in the order of the constants,
// so that a filter can tell a mistyped type (an error) from one that merely
// has no events yet. A test checks that every Audit constant is listed.
func AuditTypes() []string {
	return []string{
		AuditLoginSucceeded, AuditLoginFailed, AuditLoginThrottled,
		AuditSecondFactorSucceeded, AuditSecondFactorFailed, AuditSecondFactorEnabled, AuditSecondFactorDisabled,
		AuditLogout, AuditSessionRevoked, AuditSessionRevokedAll, AuditSessionExpired,
		AuditPasswordChanged, AuditEmailChanged, AuditConcernReported,
		AuditTokenIssued, AuditTokenRefreshed, AuditTokenReuseDetected, AuditTokenRevoked,
		AuditUserCreated, AuditUserDisabled,
	}
}
