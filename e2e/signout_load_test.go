package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSignOutEverywhereUnderLoad: five sessions of one user each have 16
// requests in flight when a sixth signs out everywhere; no request sent
// after the answer may succeed, on any of the sessions, in any trial.
func TestSignOutEverywhereUnderLoad(t *testing.T) {
	p := startPortal(t, hammerConfig)
	p.addUser("busy@example.com")
	p.addUser("calm@example.com")
	p.client.Transport = &http.Transport{MaxIdleConnsPerHost: 128}
	bystander := p.login("calm@example.com")

	const trials, sessions, perSession = 3, 5, 16
	var all []string
	for trial := 0; trial < trials; trial++ {
		var secrets []string
		for i := 0; i < sessions; i++ {
			secrets = append(secrets, p.login("busy@example.com"))
		}
		sixth := p.login("busy@example.com")
		all = append(all, secrets...)
		all = append(all, sixth)

		var signedOut, stop atomic.Bool
		var before, beforeOK, after, wrong atomic.Int64
		var wg sync.WaitGroup
		for _, secret := range secrets {
			for w := 0; w < perSession; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						sentAfter := signedOut.Load()
						res, err := p.try(request{method: "GET", path: "/api/me", cookie: secret})
						if err != nil {
							t.Errorf("trial %d: %v", trial, err)
							return
						}
						if !sentAfter {
							before.Add(1)
							if res.StatusCode == http.StatusOK {
								beforeOK.Add(1)
							}
							continue
						}
						after.Add(1)
						if res.StatusCode != http.StatusUnauthorized {
							wrong.Add(1)
						}
					}
				}()
			}
		}
		time.Sleep(50 * time.Millisecond) // let the load build up
		res, err := p.try(request{method: "POST", path: "/api/sessions/revoke-all", cookie: sixth, body: map[string]any{"keepCurrent": false}})
		signedOut.Store(true)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("trial %d: revoke-all: %v", trial, err)
		}
		time.Sleep(150 * time.Millisecond)
		stop.Store(true)
		wg.Wait()

		if res.StatusCode != http.StatusOK {
			t.Fatalf("trial %d: revoke-all = %d %s", trial, res.StatusCode, res.Body)
		}
		if n := res.json(t)["revoked"]; n != float64(sessions+1) {
			t.Errorf("trial %d: revoked = %v; want %d", trial, n, sessions+1)
		}
		if wrong.Load() > 0 {
			t.Errorf("trial %d: %d of %d requests sent after sign-out everywhere were let through", trial, wrong.Load(), after.Load())
		}
		if beforeOK.Load() == 0 || after.Load() == 0 {
			t.Errorf("trial %d: %d requests (%d let through) before and %d after; the race was not exercised",
				trial, before.Load(), beforeOK.Load(), after.Load())
		}
		t.Logf("trial %d: %d requests before, %d after", trial, before.Load(), after.Load())
	}
	time.Sleep(500 * time.Millisecond)
	for i, s := range all {
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("session %d afterwards: /api/me = %d; want 401", i, got)
		}
	}
	if got := p.meStatus(bystander); got != http.StatusOK {
		t.Errorf("another user's session: /api/me = %d; want 200", got)
	}
}
