package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lacop/lacop/auth"
)

// TestSoakStaysBounded: eight simulated hours of steady traffic — sign-ins,
// tokens and refreshes, sign-outs, sessions left to idle or run out, wrong
// passwords — with the sweep the server runs every minute. Once sessions
// start to expire (after their 2 h life), what the store holds stops
// growing: expired sessions, spent refresh tokens, access-token records,
// denylist entries and regulation counts are swept as fast as they come.
// The audit log is the exception, by design.
func TestSoakStaysBounded(t *testing.T) {
	cfg := defaultConfig
	cfg.Lifetime = 2 * time.Hour
	cfg.Tokens.RefreshTTL = 2 * time.Hour
	cfg.Regulation.MaxFailures, cfg.Regulation.MaxFailuresPerIP = 1000, 1000
	e := newEnv(t, cfg)
	const users = 5
	for u := range users {
		e.createUser(t, fmt.Sprintf("soak%d@example.com", u), alicePassword)
	}
	tables := []string{"sessions", "refresh_tokens", "access_tokens", "token_denylist", "regulation_failures"}
	hourly := map[string][]int64{}
	for minute := 1; minute <= 8*60; minute++ {
		for k := range 2 {
			in := e.login(t, fmt.Sprintf("soak%d@example.com", (minute+k)%users), alicePassword, false)
			pair := e.issue(t, in)
			if next, code := e.refreshCode(pair.Refresh); code != "" {
				t.Fatalf("minute %d: refresh: %s", minute, code)
			} else if k == 0 {
				// Half the sessions sign out (denying their live tokens);
				// the others idle out or reach the end of their life.
				if err := e.svc.Logout(e.ctx, in.Secret, client); err != nil {
					t.Fatal(err)
				}
				_ = next
			}
		}
		if _, err := e.svc.Login(e.ctx, auth.LoginRequest{Email: "soak0@example.com", Password: "wrong-password-x", Client: client}); err == nil {
			t.Fatal("wrong password accepted")
		}
		e.clock.Advance(time.Minute)
		// What cmd/lacop's sweep runs every minute.
		if _, err := e.svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.PruneTokens(e.ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.PruneRegulation(e.ctx); err != nil {
			t.Fatal(err)
		}
		if minute%60 == 0 {
			counts, err := e.db.Counts(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range tables {
				hourly[table] = append(hourly[table], counts[table])
			}
			t.Logf("hour %d: %v", minute/60, counts)
		}
	}
	// Hours 4 to 8 hold no more than the most of hours 3 and 4 (the steady
	// state, reached once the first sessions and tokens expired) and never
	// fall to nothing while traffic goes on.
	for _, table := range tables {
		h := hourly[table]
		steady := max(h[2], h[3])
		for hour := 4; hour < len(h); hour++ {
			if h[hour] > steady+steady/10 || (table != "regulation_failures" && h[hour] == 0) {
				t.Errorf("%s over the hours %v: hour %d holds %d; want at most ~%d (bounded) and not 0", table, h, hour+1, h[hour], steady)
			}
		}
	}
}
