package auth_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// TestLogoutNoResurrection is the bug DESIGN.md holds against Authelia: a
// request in flight during logout must not bring the session back. Many
// goroutines authenticate one secret while Logout runs; every Authenticate
// that starts after Logout has returned must fail, and so must every later
// one. In the "touching" variant each request sees a later time, so every
// request also writes LastActiveAt and the touch races the delete.
func TestLogoutNoResurrection(t *testing.T) {
	const (
		trials     = 30
		goroutines = 32
		afterEach  = 3 // requests each goroutine makes after the logout
	)
	for _, mode := range []struct {
		name string
		tick time.Duration
	}{
		{"fixed clock", 0},
		{"touching", time.Minute},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// Long timeouts so that nothing but the logout ends the session,
			// even with the clock moving a minute per request.
			cfg := auth.Config{InactivityTimeout: 10000 * time.Hour, Lifetime: 100000 * time.Hour, RememberMeLifetime: 100000 * time.Hour}
			e := newEnv(t, cfg)
			e.createUser(t, "alice@example.com", alicePassword)
			for trial := range trials {
				e.clock.mu.Lock()
				e.clock.tick = 0
				e.clock.mu.Unlock()
				in := e.login(t, "alice@example.com", alicePassword, false)
				e.clock.mu.Lock()
				e.clock.tick = mode.tick
				e.clock.mu.Unlock()
				if err := noResurrectionTrial(e, in, goroutines, afterEach); err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				e.mustBeDead(t, in.Secret)
				e.sessionGone(t, in.Session.ID)
				if n := len(e.sessionEvents(t, lacop.AuditLogout, in.Session.ID)); n != 1 {
					t.Fatalf("trial %d: %d logout events; want 1", trial, n)
				}
			}
		})
	}
}

func noResurrectionTrial(e *env, in *auth.SignIn, goroutines, afterEach int) error {
	ctx := context.Background()
	var (
		loggedOut atomic.Bool // set only after Logout has returned
		successes atomic.Int64
		ready     = make(chan struct{})
		readyOnce sync.Once
		errMu     sync.Mutex
		firstErr  error
		wg        sync.WaitGroup
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	for g := range goroutines {
		wg.Go(func() {
			after := 0
			for i := 0; after < afterEach; i++ {
				started := loggedOut.Load()
				id, err := e.svc.Authenticate(ctx, in.Secret, client)
				switch {
				case started && err == nil:
					fail(fmt.Errorf("goroutine %d request %d: Authenticate started after Logout returned and got session %q; want unauthenticated",
						g, i, id.Session.ID))
					return
				case err != nil && lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED:
					fail(fmt.Errorf("goroutine %d request %d: Authenticate: %v; want success or unauthenticated", g, i, err))
					return
				case err == nil:
					if successes.Add(1) >= int64(2*goroutines) {
						readyOnce.Do(func() { close(ready) })
					}
				}
				if started {
					after++
				}
			}
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	// Log out while the requests are in full flow.
	select {
	case <-ready:
	case <-allDone:
		return fmt.Errorf("every goroutine stopped before logout: %v", firstErr)
	}
	if err := e.svc.Logout(ctx, in.Secret, client); err != nil {
		loggedOut.Store(true)
		wg.Wait()
		return fmt.Errorf("Logout: %v", err)
	}
	loggedOut.Store(true)
	wg.Wait()
	return firstErr
}
