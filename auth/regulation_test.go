package auth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// try signs in and returns only the error code ("" on success).
func (e *env) try(email, pw string) string {
	_, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: email, Password: pw, Client: client})
	return lacop.ErrorCode(err)
}

// TestRegulationSuccessesDoNotCount: an attempt is counted before it is
// checked, and a success takes its count back, so many people signing in
// from one address (an office behind NAT) never ban it.
func TestRegulationSuccessesDoNotCount(t *testing.T) {
	cfg := defaultConfig
	cfg.Regulation.MaxFailuresPerIP = 3
	e := newEnv(t, cfg)
	e.createUser(t, "alice@example.com", alicePassword)
	for i := range 10 {
		if code := e.try("alice@example.com", alicePassword); code != "" {
			t.Fatalf("sign-in %d from one address: %q; want success", i+1, code)
		}
	}
	for i := range 3 {
		if code := e.try("alice@example.com", "wrong-"+alicePassword); code != lacop.EINVALIDCREDENTIALS {
			t.Fatalf("failure %d after 10 successes: %q; want %q", i+1, code, lacop.EINVALIDCREDENTIALS)
		}
	}
	if code := e.try("alice@example.com", alicePassword); code != lacop.ETOOMANYATTEMPTS {
		t.Errorf("right password after 3 failures from the address (limit 3): %q; want %q", code, lacop.ETOOMANYATTEMPTS)
	}
}

// TestRegulationBanServedOnce: when a ban ends, the failures behind it no
// longer count: the right password signs in, and a new run of failures
// gets the full limit again before the next ban.
func TestRegulationBanServedOnce(t *testing.T) {
	e := newEnv(t, defaultConfig) // 5 failures in 10 minutes ban for 15
	e.createUser(t, "alice@example.com", alicePassword)
	fail := func(round int) {
		t.Helper()
		for i := range 5 {
			if code := e.try("alice@example.com", "wrong-"+alicePassword); code != lacop.EINVALIDCREDENTIALS {
				t.Fatalf("round %d, failure %d: %q; want %q", round, i+1, code, lacop.EINVALIDCREDENTIALS)
			}
		}
		if code := e.try("alice@example.com", alicePassword); code != lacop.ETOOMANYATTEMPTS {
			t.Fatalf("round %d, right password during the ban: %q; want %q", round, code, lacop.ETOOMANYATTEMPTS)
		}
	}
	fail(1)
	e.clock.Advance(15*time.Minute + time.Second)
	if code := e.try("alice@example.com", alicePassword); code != "" {
		t.Fatalf("right password after the ban: %q; want success", code)
	}
	fail(2)
	e.clock.Advance(5 * time.Minute) // within the second ban
	if code := e.try("alice@example.com", alicePassword); code != lacop.ETOOMANYATTEMPTS {
		t.Errorf("right password during the second ban: %q; want %q", code, lacop.ETOOMANYATTEMPTS)
	}
}

// TestRegulationBurst: guesses sent all at once are each counted before
// any is checked, so no more than the limit are ever checked.
func TestRegulationBurst(t *testing.T) {
	e := newEnv(t, defaultConfig)
	e.createUser(t, "alice@example.com", alicePassword)
	const n = 30
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = e.try("alice@example.com", "wrong-"+alicePassword) })
	}
	wg.Wait()
	checked := 0
	for _, c := range codes {
		switch c {
		case lacop.EINVALIDCREDENTIALS:
			checked++
		case lacop.ETOOMANYATTEMPTS:
		default:
			t.Errorf("an attempt in the burst: %q", c)
		}
	}
	if checked > 5 {
		t.Errorf("%d guesses at once: %d checked; want at most 5 (the limit)", n, checked)
	}
	if got := len(e.events(t, lacop.AuditLoginFailed)); got != checked {
		t.Errorf("%d login.failed events; want %d, one per checked guess", got, checked)
	}
}
