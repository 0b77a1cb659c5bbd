package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testSecondFactor(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Pending", func(t *testing.T) { testTOTPPending(t, open(t)) })
	t.Run("Enable", func(t *testing.T) { testTOTPEnable(t, open(t)) })
	t.Run("EnableUnknownUser", func(t *testing.T) { testTOTPEnableUnknownUser(t, open(t)) })
	t.Run("UseStep", func(t *testing.T) { testTOTPUseStep(t, open(t)) })
	t.Run("UseStepOneWinner", func(t *testing.T) { testTOTPUseStepOneWinner(t, open(t)) })
	t.Run("RecoveryCodes", func(t *testing.T) { testRecoveryCodes(t, open(t)) })
	t.Run("RecoveryCodeOneWinner", func(t *testing.T) { testRecoveryCodeOneWinner(t, open(t)) })
	t.Run("Disable", func(t *testing.T) { testTOTPDisable(t, open(t)) })
}

// enableStep is the time step fixtures enable TOTP at: about base in
// 30-second steps.
var enableStep = base.Unix() / 30

// sealedOf returns a stand-in for a sealed secret, distinct per s.
func sealedOf(s string) []byte { return []byte("sealed:" + s) }

// recoveryHashes returns n distinct code hashes, prefixed so that two sets
// with different prefixes share none.
func recoveryHashes(prefix string, n int) [][]byte {
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = hashOf(fmt.Sprintf("%s-code-%d", prefix, i))
	}
	return hashes
}

// wantSecret fails the test unless the user's stored TOTP secret is want
// (empty for none) and HasTOTP agrees.
func wantSecret(t *testing.T, s lacop.UserStore, userID string, want []byte) {
	t.Helper()
	u, err := s.UserByID(t.Context(), userID)
	must(t, "UserByID "+userID, err)
	if !bytes.Equal(u.TOTPSecret, want) {
		t.Errorf("UserByID(%q).TOTPSecret = %q; want %q", userID, u.TOTPSecret, want)
	}
	if got, want := u.HasTOTP(), len(want) > 0; got != want {
		t.Errorf("UserByID(%q).HasTOTP() = %v; want %v", userID, got, want)
	}
}

// wantCodesLeft fails the test unless the user has n unused recovery codes.
func wantCodesLeft(t *testing.T, s lacop.SecondFactorStore, userID string, n int) {
	t.Helper()
	if got, err := s.RecoveryCodesLeft(t.Context(), userID); err != nil || got != n {
		t.Errorf("RecoveryCodesLeft(%q) = %d, %v; want %d, nil", userID, got, err, n)
	}
}

// wantNoPending fails the test unless the user has no pending enrolment.
func wantNoPending(t *testing.T, s lacop.SecondFactorStore, userID string) {
	t.Helper()
	_, _, err := s.PendingTOTP(t.Context(), userID)
	wantCode(t, "PendingTOTP("+userID+")", err, lacop.ENOTFOUND)
}

func testTOTPPending(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann", "bob")
	wantNoPending(t, s, "ann")
	wantNoPending(t, s, "nobody")

	// Each set replaces the last; sub-millisecond parts check that a store
	// keeping milliseconds drops them consistently.
	tests := []struct {
		name   string
		sealed []byte
		at     time.Time
	}{
		{"first", sealedOf("first"), base.Add(123456789 * time.Nanosecond)},
		{"replacement", sealedOf("second"), base.Add(time.Minute)},
		{"older replacement", sealedOf("third"), base.Add(-time.Hour)},
	}
	for _, tt := range tests {
		must(t, "SetPendingTOTP "+tt.name, s.SetPendingTOTP(ctx, "ann", tt.sealed, tt.at))
		got, at, err := s.PendingTOTP(ctx, "ann")
		if err != nil || !bytes.Equal(got, tt.sealed) || !sameMS(at, tt.at) {
			t.Errorf("PendingTOTP(ann) after %s = %q, %v, %v; want %q, %v, nil", tt.name, got, at, err, tt.sealed, tt.at)
		}
	}
	wantNoPending(t, s, "bob")
	// A pending secret is not an active one.
	wantSecret(t, st.Users, "ann", nil)
}

func testTOTPEnable(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann", "bob")
	must(t, "SetPendingTOTP ann", s.SetPendingTOTP(ctx, "ann", sealedOf("ann-1"), base))
	must(t, "SetPendingTOTP bob", s.SetPendingTOTP(ctx, "bob", sealedOf("bob"), base))

	first := recoveryHashes("first", 10)
	must(t, "EnableTOTP", s.EnableTOTP(ctx, "ann", sealedOf("ann-1"), enableStep, first))
	wantSecret(t, st.Users, "ann", sealedOf("ann-1"))
	wantNoPending(t, s, "ann")
	wantCodesLeft(t, s, "ann", len(first))

	// Enabling again (a new authenticator) replaces the secret and every
	// recovery code.
	second := recoveryHashes("second", 8)
	must(t, "EnableTOTP again", s.EnableTOTP(ctx, "ann", sealedOf("ann-2"), enableStep+10, second))
	wantSecret(t, st.Users, "ann", sealedOf("ann-2"))
	wantCodesLeft(t, s, "ann", len(second))
	if ok, err := s.UseRecoveryCode(ctx, "ann", first[0]); err != nil || ok {
		t.Errorf("UseRecoveryCode(ann, replaced code) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, "ann", second[0]); err != nil || !ok {
		t.Errorf("UseRecoveryCode(ann, new code) = %v, %v; want true, nil", ok, err)
	}

	// Another user is left alone.
	wantSecret(t, st.Users, "bob", nil)
	wantCodesLeft(t, s, "bob", 0)
	if got, _, err := s.PendingTOTP(ctx, "bob"); err != nil || !bytes.Equal(got, sealedOf("bob")) {
		t.Errorf("PendingTOTP(bob) = %q, %v; want %q, nil", got, err, sealedOf("bob"))
	}
}

func testTOTPEnableUnknownUser(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann")
	err := s.EnableTOTP(ctx, "nobody", sealedOf("x"), enableStep, recoveryHashes("x", 3))
	wantCode(t, "EnableTOTP(nobody)", err, lacop.ENOTFOUND)
	wantCodesLeft(t, s, "nobody", 0)
	wantSecret(t, st.Users, "ann", nil)
}

func testTOTPUseStep(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann", "bob")
	must(t, "EnableTOTP ann", s.EnableTOTP(ctx, "ann", sealedOf("ann"), enableStep, nil))
	must(t, "EnableTOTP bob", s.EnableTOTP(ctx, "bob", sealedOf("bob"), enableStep, nil))

	tests := []struct {
		name string
		step int64
		want bool
	}{
		{"before the enable step", enableStep - 1, false},
		{"the enable step", enableStep, false},
		{"next step", enableStep + 1, true},
		{"same step again", enableStep + 1, false},
		{"a later step", enableStep + 3, true},
		{"an older step after a newer", enableStep + 2, false},
		{"the newest again", enableStep + 3, false},
		{"one after the newest", enableStep + 4, true},
	}
	for _, tt := range tests {
		if got, err := s.UseTOTPStep(ctx, "ann", tt.step); err != nil || got != tt.want {
			t.Errorf("UseTOTPStep(ann, %s) = %v, %v; want %v, nil", tt.name, got, err, tt.want)
		}
	}
	// Each user has a counter of their own.
	if got, err := s.UseTOTPStep(ctx, "bob", enableStep+1); err != nil || !got {
		t.Errorf("UseTOTPStep(bob, step ann used) = %v, %v; want true, nil", got, err)
	}
}

// testTOTPUseStepOneWinner checks that one code sent twice at once (a
// replay racing the real login) is accepted once.
func testTOTPUseStepOneWinner(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann")
	must(t, "EnableTOTP", s.EnableTOTP(ctx, "ann", sealedOf("ann"), enableStep, nil))
	const rounds, users = 5, 16
	for round := range rounds {
		step := enableStep + 1 + int64(round)
		wins, fails := race(users, func() (bool, error) { return s.UseTOTPStep(ctx, "ann", step) })
		if wins != 1 || fails != 0 {
			t.Errorf("%d concurrent UseTOTPStep(ann, enable step + %d): %d accepted, %d failed; want 1, 0",
				users, step-enableStep, wins, fails)
		}
	}
}

// race calls f from n goroutines at once and counts the true results and
// the errors.
func race(n int, f func() (bool, error)) (wins, fails int32) {
	var w, e atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if ok, err := f(); err != nil {
				e.Add(1)
			} else if ok {
				w.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return w.Load(), e.Load()
}

func testRecoveryCodes(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann", "bob")
	annCodes, bobCodes := recoveryHashes("ann", 3), recoveryHashes("bob", 3)
	must(t, "EnableTOTP ann", s.EnableTOTP(ctx, "ann", sealedOf("ann"), enableStep, annCodes))
	must(t, "EnableTOTP bob", s.EnableTOTP(ctx, "bob", sealedOf("bob"), enableStep, bobCodes))

	tests := []struct {
		name     string
		user     string
		hash     []byte
		want     bool
		wantLeft int // the user's codes left afterwards
	}{
		{"own code", "ann", annCodes[0], true, 2},
		{"same code again", "ann", annCodes[0], false, 2},
		{"wrong hash", "ann", hashOf("not a code"), false, 2},
		{"nil hash", "ann", nil, false, 2},
		{"other user's code", "ann", bobCodes[0], false, 2},
		{"other user's code by its owner", "bob", bobCodes[0], true, 2},
		{"another own code", "ann", annCodes[2], true, 1},
		{"unknown user", "nobody", annCodes[1], false, 0},
	}
	for _, tt := range tests {
		if got, err := s.UseRecoveryCode(ctx, tt.user, tt.hash); err != nil || got != tt.want {
			t.Errorf("UseRecoveryCode(%s, %s) = %v, %v; want %v, nil", tt.user, tt.name, got, err, tt.want)
		}
		wantCodesLeft(t, s, tt.user, tt.wantLeft)
	}
	if ok, err := s.UseRecoveryCode(ctx, "ann", annCodes[1]); err != nil || !ok {
		t.Errorf("UseRecoveryCode(ann, last code) = %v, %v; want true, nil", ok, err)
	}
	wantCodesLeft(t, s, "ann", 0)
	// Spending recovery codes leaves the secret alone.
	wantSecret(t, st.Users, "ann", sealedOf("ann"))
}

func testRecoveryCodeOneWinner(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann")
	codes := recoveryHashes("ann", 5)
	must(t, "EnableTOTP", s.EnableTOTP(ctx, "ann", sealedOf("ann"), enableStep, codes))
	const users = 16
	for i, code := range codes {
		wins, fails := race(users, func() (bool, error) { return s.UseRecoveryCode(ctx, "ann", code) })
		if wins != 1 || fails != 0 {
			t.Errorf("%d concurrent UseRecoveryCode(ann, code %d): %d accepted, %d failed; want 1, 0", users, i, wins, fails)
		}
	}
	wantCodesLeft(t, s, "ann", 0)
}

func testTOTPDisable(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.SecondFactor
	createUsers(t, st.Users, "ann", "bob", "cat")
	must(t, "EnableTOTP ann", s.EnableTOTP(ctx, "ann", sealedOf("ann"), enableStep, recoveryHashes("ann", 4)))
	must(t, "EnableTOTP bob", s.EnableTOTP(ctx, "bob", sealedOf("bob"), enableStep, recoveryHashes("bob", 4)))
	must(t, "SetPendingTOTP ann", s.SetPendingTOTP(ctx, "ann", sealedOf("ann-new"), base))
	must(t, "SetPendingTOTP bob", s.SetPendingTOTP(ctx, "bob", sealedOf("bob-new"), base))
	if ok, err := s.UseTOTPStep(ctx, "ann", enableStep+100); err != nil || !ok {
		t.Fatalf("UseTOTPStep(ann, enable step + 100) = %v, %v; want true, nil", ok, err)
	}

	for i, want := range []bool{true, false} {
		if got, err := s.DisableTOTP(ctx, "ann"); err != nil || got != want {
			t.Errorf("DisableTOTP(ann) call %d = %v, %v; want %v, nil", i+1, got, err, want)
		}
	}
	if got, err := s.DisableTOTP(ctx, "cat"); err != nil || got {
		t.Errorf("DisableTOTP(user without TOTP) = %v, %v; want false, nil", got, err)
	}
	if got, err := s.DisableTOTP(ctx, "nobody"); got || (err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND) {
		t.Errorf("DisableTOTP(unknown user) = %v, %v; want false, nil or ENOTFOUND", got, err)
	}
	wantSecret(t, st.Users, "ann", nil)
	wantCodesLeft(t, s, "ann", 0)
	wantNoPending(t, s, "ann")

	// Another user keeps everything.
	wantSecret(t, st.Users, "bob", sealedOf("bob"))
	wantCodesLeft(t, s, "bob", 4)
	if got, _, err := s.PendingTOTP(ctx, "bob"); err != nil || !bytes.Equal(got, sealedOf("bob-new")) {
		t.Errorf("PendingTOTP(bob) = %q, %v; want %q, nil", got, err, sealedOf("bob-new"))
	}

	// A new secret starts counting from its own enable step, whatever the
	// old one had used.
	must(t, "EnableTOTP ann again", s.EnableTOTP(ctx, "ann", sealedOf("ann-2"), enableStep+10, recoveryHashes("ann-2", 2)))
	wantSecret(t, st.Users, "ann", sealedOf("ann-2"))
	wantCodesLeft(t, s, "ann", 2)
	for _, tt := range []struct {
		step int64
		want bool
	}{
		{enableStep + 10, false},
		{enableStep + 11, true},
		{enableStep + 11, false},
	} {
		if got, err := s.UseTOTPStep(ctx, "ann", tt.step); err != nil || got != tt.want {
			t.Errorf("UseTOTPStep(ann, enable step + %d) after re-enable = %v, %v; want %v, nil",
				tt.step-enableStep, got, err, tt.want)
		}
	}
}
