package auth

import (
	"testing"
	"time"
)

// allReasons lists every Reason constant by hand. Adding a constant without
// adding it here and to the policy table fails TestPolicyCoversEveryReason.
var allReasons = []Reason{
	ReasonLogout,
	ReasonExpired,
	ReasonRevoked,
	ReasonAdminRevoked,
	ReasonRevokedAll,
	ReasonRevokedOthers,
	ReasonAdminRevokedAll,
	ReasonPasswordChanged,
	ReasonPasswordReset,
	ReasonEmailChanged,
	ReasonTOTPDisabled,
	ReasonConcern,
	ReasonUserDisabled,
	ReasonTokenReuse,
	ReasonSessionLimit,
	ReasonTOTPReset,
	ReasonPasskeyRemoved,
	ReasonPasskeyCloned,
	ReasonUserDeleted,
	ReasonAdminRemoved,
}

func TestPolicyCoversEveryReason(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range allReasons {
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
		if _, ok := policy[r]; !ok {
			t.Errorf("policy has no row for %q", r)
		}
	}
	for r := range policy {
		if !seen[r] {
			t.Errorf("policy row %q is not a known Reason constant", r)
		}
	}
	if got, want := len(policy), len(allReasons); got != want {
		t.Errorf("len(policy) = %d; want %d", got, want)
	}
}

// TestPolicyRows pins each row to what DESIGN.md and the sessions issue
// promise: logout ends this session; a password or email change, a second
// factor removed or a reported concern end every other session and all
// tokens and rotate the current secret; sign out everywhere ends all (or all
// others) and every token; an admin disable or reset ends everything;
// refresh-token reuse ends that session.
func TestPolicyRows(t *testing.T) {
	tests := []struct {
		reason Reason
		want   rule
	}{
		{ReasonLogout, rule{scope: scopeCurrent, notify: "logout"}},
		{ReasonExpired, rule{scope: scopeCurrent, notify: "expired"}},
		{ReasonRevoked, rule{scope: scopeCurrent, notify: "revoked"}},
		{ReasonAdminRevoked, rule{scope: scopeCurrent, notify: "admin"}},
		{ReasonTokenReuse, rule{scope: scopeCurrent, notify: "token_reuse"}},
		{ReasonSessionLimit, rule{scope: scopeCurrent, notify: "session_limit"}},
		{ReasonRevokedAll, rule{scope: scopeAll, bumpTokenVersion: true, notify: "revoked_all"}},
		{ReasonRevokedOthers, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "revoked_all"}},
		{ReasonAdminRevokedAll, rule{scope: scopeAll, bumpTokenVersion: true, notify: "admin"}},
		{ReasonPasswordChanged, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "password_changed"}},
		{ReasonEmailChanged, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "email_changed"}},
		{ReasonTOTPDisabled, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "second_factor_disabled"}},
		{ReasonConcern, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "concern_reported"}},
		{ReasonPasswordReset, rule{scope: scopeAll, bumpTokenVersion: true, notify: "admin"}},
		{ReasonUserDisabled, rule{scope: scopeAll, bumpTokenVersion: true, notify: "admin"}},
		{ReasonTOTPReset, rule{scope: scopeAll, bumpTokenVersion: true, notify: "admin"}},
		// The sessions a passkey signed in: their tokens end with them
		// (by session), the person's other sessions keep theirs.
		{ReasonPasskeyRemoved, rule{scope: scopeListed, notify: "passkey_removed"}},
		{ReasonPasskeyCloned, rule{scope: scopeListed, notify: "passkey_cloned"}},
		// A deleted person keeps nothing; a former admin keeps only the
		// session making the change, when it is their own, with a new secret.
		{ReasonUserDeleted, rule{scope: scopeAll, bumpTokenVersion: true, notify: "admin"}},
		{ReasonAdminRemoved, rule{scope: scopeOthers, bumpTokenVersion: true, rotateCurrent: true, notify: "admin"}},
	}
	if len(tests) != len(allReasons) {
		t.Fatalf("%d rows tested; want one per reason (%d)", len(tests), len(allReasons))
	}
	for _, tt := range tests {
		if got := policy[tt.reason]; got != tt.want {
			t.Errorf("policy[%q] = %+v; want %+v", tt.reason, got, tt.want)
		}
	}
}

func TestPolicyInvariants(t *testing.T) {
	// The reasons open tabs may be given: the contract's, plus the two
	// events it does not name.
	notifyReasons := map[string]bool{
		"logout": true, "revoked": true, "revoked_all": true, "password_changed": true, "email_changed": true,
		"concern_reported": true, "admin": true, "expired": true, "token_reuse": true,
		"second_factor_disabled": true, "session_limit": true, "passkey_removed": true, "passkey_cloned": true,
	}
	for _, r := range allReasons {
		row := policy[r]
		if !notifyReasons[row.notify] {
			t.Errorf("policy[%q].notify = %q; want a known stream reason", r, row.notify)
		}
		// Only a surviving current session can be rotated.
		if row.rotateCurrent && row.scope != scopeOthers {
			t.Errorf("policy[%q] rotates the current session but does not keep it", r)
		}
		// Anything wider than one session must kill the user's tokens too.
		if row.scope != scopeCurrent && row.scope != scopeListed && !row.bumpTokenVersion {
			t.Errorf("policy[%q] ends more than one session without bumping the token version", r)
		}
		// A surviving current session must not keep a secret that every
		// other session's end was meant to retire.
		if row.scope == scopeOthers && !row.rotateCurrent {
			t.Errorf("policy[%q] keeps the current session without a fresh secret", r)
		}
	}
}

func TestEndUnknownReason(t *testing.T) {
	s := &Service{}
	if _, err := s.end(t.Context(), Reason("no-such-reason"), "u", nil, "", Client{}); err == nil {
		t.Errorf("end(unknown reason) = nil error; want an error")
	}
}

func TestTouchInterval(t *testing.T) {
	for _, tt := range []struct {
		timeout, want time.Duration
	}{
		{720 * time.Hour, time.Minute},
		{30 * time.Minute, time.Minute},
		{10 * time.Minute, time.Minute},
		{9 * time.Minute, 54 * time.Second},
		{2 * time.Minute, 12 * time.Second},
		{10 * time.Second, time.Second},
		{time.Second, 100 * time.Millisecond},
	} {
		s := &Service{Config: Config{InactivityTimeout: tt.timeout}}
		if got := s.touchInterval(); got != tt.want {
			t.Errorf("touchInterval(timeout %v) = %v; want %v", tt.timeout, got, tt.want)
		}
		// An active person is never timed out: a request just before the
		// interval is written still leaves most of the timeout.
		if got := s.touchInterval(); got >= tt.timeout {
			t.Errorf("touchInterval(timeout %v) = %v; want less than the timeout", tt.timeout, got)
		}
	}
}

func TestWellFormed(t *testing.T) {
	s := &Service{Rand: fixedReader(7)}
	good := s.randomString(secretLen)
	for _, tt := range []struct {
		secret string
		want   bool
	}{
		{good, true},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop_", true},
		{"0123456789-_0123456789-_0123456789-_012345", false}, // 42
		{"", false},
		{good + "=", false},
		{good[:42] + "+", false},
		{good[:42] + "/", false},
		{good[:42] + "\n", false},
	} {
		if got := wellFormed(tt.secret); got != tt.want {
			t.Errorf("wellFormed(%q) = %v; want %v", tt.secret, got, tt.want)
		}
	}
}

// fixedReader is an endless stream of one byte value.
type fixedReader byte

func (r fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
