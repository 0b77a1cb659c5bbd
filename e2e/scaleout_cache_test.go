package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// leaseLine is what an instance logs when it takes its cache lease and
// starts serving sessions from memory.
const leaseLine = "cache: lease taken"

// waitCaching waits until every instance has taken its cache lease, so a
// test knows it exercises the cache rather than the store.
func waitCaching(t *testing.T, nodes ...*portal) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for i, p := range nodes {
		for !strings.Contains(p.out.String(), leaseLine) {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d did not take a cache lease within 15s:\n%s", i, p.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestScaleOutCache: three instances caching sessions on PostgreSQL (and
// Redis) are still one portal whose ends hold everywhere at once. In each
// of 30 trials 32 goroutines hammer forward-auth on B and C with a session
// their caches hold while it is signed out through A: no request started
// after the sign-out's answer passes. Then each way of ending a session,
// done through one instance, is refused by the others on their very next
// request, cookies and access tokens alike.
func TestScaleOutCache(t *testing.T) {
	t.Parallel()
	for name, config := range scaleOutConfigs(t) {
		t.Run(name, func(t *testing.T) {
			nodes := startInstances(t, 3, hammerConfig+config(t)+"  shared_cache: true\n")
			waitCaching(t, nodes...)
			a, b, c := nodes[0].forTest(t), nodes[1].forTest(t), nodes[2].forTest(t)
			a.addUser("race@example.com")
			for _, p := range []*portal{a, b, c} {
				p.client.Transport = &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
			}
			t.Run("race", func(t *testing.T) { cacheRace(t, a, []*portal{b, c}) })
			t.Run("rows", func(t *testing.T) { cacheRows(t, nodes) })
		})
	}
}

func cacheRace(t *testing.T, a *portal, others []*portal) {
	const trials, workers = 30, 32
	var ends []time.Duration
	for trial := range trials {
		secret := a.login("race@example.com")
		for _, p := range others {
			if got := p.fwdStatus(secret); got != http.StatusOK {
				t.Fatalf("trial %d: forward-auth before the sign-out = %d; want 200", trial, got)
			}
		}
		// Each check goes to the next of the other instances in turn.
		var next atomic.Int64
		ask := func() (int, error) {
			p := others[int(next.Add(1))%len(others)]
			res, err := p.try(request{method: "GET", path: "/api/authz/forward-auth", cookie: secret, header: map[string]string{
				"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com",
				"X-Forwarded-Uri": "/inbox", "Accept": "application/json",
			}})
			if err != nil {
				return 0, err
			}
			return res.StatusCode, nil
		}
		before, after, late := raceTrial(t, workers, ask, func() {
			start := time.Now()
			res := a.do(request{method: "POST", path: "/api/logout", cookie: secret})
			ends = append(ends, time.Since(start))
			if res.StatusCode != http.StatusOK {
				t.Errorf("trial %d: logout through A = %d", trial, res.StatusCode)
			}
		}, http.StatusUnauthorized)
		if late > 0 {
			t.Errorf("trial %d: %d of %d forward-auth requests started after the sign-out's answer passed", trial, late, after)
		}
		if before == 0 || after == 0 {
			t.Errorf("trial %d: %d requests before and %d after; the race was not exercised", trial, before, after)
		}
	}
	t.Logf("sign-out through A answered in %v (median of %d) with B and C caching", median(ends), len(ends))
}

// cacheRows ends sessions each way through one instance and checks the
// others at once. Every session is first used on every instance, so each
// cache holds it.
func cacheRows(t *testing.T, nodes []*portal) {
	a, b, c := nodes[0], nodes[1], nodes[2]
	rows := []struct {
		name  string
		via   *portal
		act   func(p *portal, email string, s map[string]string, id map[string]string)
		ended []string // of the person's three sessions A, B, C, by their secrets before the act
	}{
		{"logout", b, func(p *portal, _ string, s, _ map[string]string) {
			p.do(request{method: "POST", path: "/api/logout", cookie: s["A"]})
		}, []string{"A"}},
		{"end one device", c, func(p *portal, _ string, s, id map[string]string) {
			p.do(request{method: "DELETE", path: "/api/sessions/" + id["B"], cookie: s["A"]})
		}, []string{"B"}},
		{"sign out everywhere", a, func(p *portal, _ string, s, _ map[string]string) {
			p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s["A"], body: map[string]any{"keepCurrent": false}})
		}, []string{"A", "B", "C"}},
		{"password change", b, func(p *portal, _ string, s, _ map[string]string) {
			p.do(request{method: "POST", path: "/api/account/password", cookie: s["A"],
				body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
		}, []string{"A", "B", "C"}}, // A's secret is rotated: the old one is dead too
		{"concern", c, func(p *portal, _ string, s, _ map[string]string) {
			p.do(request{method: "POST", path: "/api/account/report-concern", cookie: s["A"], body: map[string]any{"note": "not me"}})
		}, []string{"A", "B", "C"}},
		{"CLI session revoke", a, func(p *portal, _ string, _, id map[string]string) {
			p.cliOK("", "session", "revoke", id["C"])
		}, []string{"C"}},
		{"CLI user disable", a, func(p *portal, email string, _, _ map[string]string) {
			p.cliOK("", "user", "disable", email)
		}, []string{"A", "B", "C"}},
	}
	for i, row := range rows {
		email := fmt.Sprintf("row%d@example.com", i)
		a.addUser(email)
		s, id, access := map[string]string{}, map[string]string{}, map[string]string{}
		for _, name := range []string{"A", "B", "C"} {
			s[name] = a.login(email)
			id[name] = a.sessionID(s[name])
			access[name] = a.issueTokens(s[name]).access
			for _, p := range nodes {
				if got := p.fwdStatus(s[name]); got != http.StatusOK {
					t.Fatalf("%s: session %s on an instance before the end = %d", row.name, name, got)
				}
				p.bearerOK(row.name+" before", access[name])
			}
		}
		row.act(row.via, email, s, id)
		for _, name := range []string{"A", "B", "C"} {
			ended := false
			for _, e := range row.ended {
				ended = ended || e == name
			}
			for n, p := range []*portal{a, b, c} {
				want := http.StatusOK
				if ended {
					want = http.StatusUnauthorized
				}
				if got := p.fwdStatus(s[name]); got != want {
					t.Errorf("%s: session %s on instance %d right after the end = %d; want %d", row.name, name, n, got, want)
				}
				if ended {
					p.bearerDead(fmt.Sprintf("%s: session %s's token on instance %d", row.name, name, n), access[name])
				}
			}
		}
	}
}

// TestScaleOutCacheFrozenInstance: with one of three instances stopped by
// SIGSTOP, a sign-out through another is answered within about one lease
// length, and once the frozen one runs again its first request with the
// ended session is refused.
func TestScaleOutCacheFrozenInstance(t *testing.T) {
	t.Parallel()
	for name, config := range scaleOutConfigs(t) {
		t.Run(name, func(t *testing.T) {
			nodes := startInstances(t, 3, config(t)+"  shared_cache: true\n")
			waitCaching(t, nodes...)
			a, b, c := nodes[0].forTest(t), nodes[1].forTest(t), nodes[2].forTest(t)
			a.addUser("frozen@example.com")
			secret := a.login("frozen@example.com")
			for _, p := range []*portal{a, b, c} {
				if got := p.fwdStatus(secret); got != http.StatusOK {
					t.Fatalf("forward-auth before = %d", got)
				}
			}
			if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			thawed := false
			thaw := func() {
				if !thawed {
					thawed = true
					_ = c.cmd.Process.Signal(syscall.SIGCONT)
				}
			}
			defer thaw()
			start := time.Now()
			if res := a.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode != http.StatusOK {
				t.Fatalf("logout = %d", res.StatusCode)
			}
			took := time.Since(start)
			if got := b.fwdStatus(secret); got != http.StatusUnauthorized {
				t.Errorf("B right after the sign-out = %d; want 401", got)
			}
			thaw()
			if got := c.fwdStatus(secret); got != http.StatusUnauthorized {
				t.Errorf("the frozen instance's first request after SIGCONT = %d; want 401", got)
			}
			// The lease is 3 s; the wait is what was left of it.
			if took > 4*time.Second {
				t.Errorf("sign-out with a frozen instance took %v; want at most about one lease (3s)", took)
			}
			t.Logf("sign-out with one of three instances frozen answered in %v", took)
			// Once it runs again, the thawed instance takes part at once.
			secret = a.login("frozen@example.com")
			waitCaching(t, c)
			c.fwdStatus(secret)
			start = time.Now()
			a.do(request{method: "POST", path: "/api/logout", cookie: secret})
			if took := time.Since(start); took > time.Second {
				t.Errorf("a sign-out after the thaw took %v; the thawed instance should answer", took)
			}
			if got := c.fwdStatus(secret); got != http.StatusUnauthorized {
				t.Errorf("thawed instance after the second sign-out = %d; want 401", got)
			}
		})
	}
}
