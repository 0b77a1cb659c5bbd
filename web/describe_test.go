package web

import (
	"strings"
	"testing"

	"github.com/lacop/lacop"
)

// TestEveryEventHasWords: the log and the activity page name every event
// type in words (the raw type is shown beside it, never instead).
func TestEveryEventHasWords(t *testing.T) {
	for _, typ := range lacop.AuditTypes() {
		if eventTexts[typ] == "" {
			t.Errorf("no words for event type %q in eventTexts", typ)
		}
	}
}

// TestDescribeEventActors: every actor reads naturally, and a session's
// end says why.
func TestDescribeEventActors(t *testing.T) {
	for _, tt := range []struct {
		e    lacop.AuditEvent
		want string
	}{
		{lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "admin_revoked", "by": "admin"}}, "Session ended by an administrator"},
		{lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "admin_revoked", "by": "cli"}}, "Session ended by an operator on the command line"},
		{lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "password_changed", "by": "self"}}, "Session ended because the password changed"},
		{lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "user_disabled", "by": "admin"}}, "Session ended by an administrator because the account was disabled"},
		{lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "session_limit", "by": "system"}}, "Session ended because there were too many sessions, and it was the least recently used"},
		{lacop.AuditEvent{Type: lacop.AuditLogout, Detail: map[string]string{"reason": "logout", "by": "self"}}, "Signed out"},
		{lacop.AuditEvent{Type: lacop.AuditSessionExpired, Detail: map[string]string{"reason": "expired", "by": "system"}}, "Session expired"},
		{lacop.AuditEvent{Type: lacop.AuditPasswordChanged, Detail: map[string]string{"by": "admin"}}, "Password changed by an administrator"},
	} {
		got := describeEvent(&tt.e)
		if got != tt.want {
			t.Errorf("describeEvent(%s %v) = %q; want %q", tt.e.Type, tt.e.Detail, got, tt.want)
		}
		if strings.Contains(got, "by an administrator, by") || strings.Contains(got, "automatically") {
			t.Errorf("describeEvent(%s %v) = %q: doubled or mechanical", tt.e.Type, tt.e.Detail, got)
		}
	}
}

func TestDetailText(t *testing.T) {
	got := detailText(map[string]string{"email": "ann@example.com", "admin": "true", "by": "admin", "reason": "x", "new_thing": "v", "groups": ""})
	want := "Administrator: yes. Email: ann@example.com. Groups: none. New thing: v."
	if got != want {
		t.Errorf("detailText = %q; want %q", got, want)
	}
}
