package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hammerConfig lets a test hammer a dead cookie on purpose: the guessing
// throttle would otherwise answer 429 before the session check answers 401.
const hammerConfig = "regulation:\n  max_unknown_cookies: 1000000\n"

// TestNoResurrection is the race a leading peer loses: requests in flight
// during sign-out must not write the session back. 32 goroutines hammer an
// authenticated endpoint with one cookie while it signs out; every request
// sent after the sign-out response must get 401, in each of 30 trials, and
// still 401 a second later.
func TestNoResurrection(t *testing.T) {
	p := startPortal(t, hammerConfig)
	p.addUser("race@example.com")
	p.client.Transport = &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}

	const trials, workers = 30, 32
	var secrets []string
	for trial := 0; trial < trials; trial++ {
		secret := p.login("race@example.com")
		secrets = append(secrets, secret)

		var loggedOut atomic.Bool
		var stop atomic.Bool
		var before, after, wrong atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					sentAfter := loggedOut.Load()
					res, err := p.try(request{method: "GET", path: "/api/me", cookie: secret})
					if err != nil {
						t.Errorf("trial %d: %v", trial, err)
						return
					}
					if !sentAfter {
						before.Add(1)
						continue
					}
					after.Add(1)
					if res.StatusCode != http.StatusUnauthorized {
						wrong.Add(1)
					}
				}
			}()
		}
		time.Sleep(30 * time.Millisecond) // let the hammering start
		res := p.do(request{method: "POST", path: "/api/logout", cookie: secret})
		loggedOut.Store(true)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("trial %d: logout = %d", trial, res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		if wrong.Load() > 0 {
			t.Errorf("trial %d: %d of %d requests sent after sign-out were let through", trial, wrong.Load(), after.Load())
		}
		if before.Load() == 0 || after.Load() == 0 {
			t.Errorf("trial %d: %d requests before and %d after sign-out; the race was not exercised", trial, before.Load(), after.Load())
		}
	}
	time.Sleep(time.Second)
	for i, s := range secrets {
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("trial %d: a second later /api/me = %d; want 401", i, got)
		}
	}
}
