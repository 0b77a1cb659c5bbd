package e2e

import (
	"fmt"
	"net/http"
	"slices"
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
// cache holds it. The rows are the policy table's that a request or the
// command line can reach on these instances (expiry and the session cap
// need other settings: TestScaleOutCacheDeadlines).
func cacheRows(t *testing.T, nodes []*portal) {
	a, b, c := nodes[0], nodes[1], nodes[2]
	// person is one person's three sessions, A, B and C, with their tokens.
	type person struct {
		email      string
		secret, id map[string]string
		tokens     map[string]tokenPair
	}
	all := []string{"A", "B", "C"}
	rows := []struct {
		name  string
		via   *portal
		act   func(p *portal, f *person)
		ended []string // of the three sessions, by their secrets before the act
		// signIn, when set, signs the person in three times instead of a
		// plain sign-in each, filling secret.
		signIn func(p *portal, f *person)
	}{
		{"logout", b, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/logout", cookie: f.secret["A"]})
		}, []string{"A"}, nil},
		{"end one device", c, func(p *portal, f *person) {
			p.do(request{method: "DELETE", path: "/api/sessions/" + f.id["B"], cookie: f.secret["A"]})
		}, []string{"B"}, nil},
		{"sign out everywhere", a, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": false}})
		}, all, nil},
		// The rows that keep the caller signed in rotate its secret (the
		// old one is dead) and end every token of the person.
		{"sign out everywhere else", c, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": true}})
		}, all, nil},
		{"password change", b, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/account/password", cookie: f.secret["A"],
				body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}})
		}, all, nil},
		{"email change", a, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/account/email", cookie: f.secret["A"],
				body: map[string]any{"password": testPassword, "newEmail": "moved-" + f.email}})
		}, all, nil},
		{"concern", c, func(p *portal, f *person) {
			p.do(request{method: "POST", path: "/api/account/report-concern", cookie: f.secret["A"], body: map[string]any{"note": "not me"}})
		}, all, nil},
		{"second factor off", b, func(p *portal, f *person) {
			p.do(request{method: "DELETE", path: "/api/account/totp", cookie: f.secret["A"], body: map[string]any{"password": testPassword}})
		}, all, func(p *portal, f *person) {
			// With a second factor, a session signed in with the password
			// alone owes the code: each signs in with both.
			e := p.enrolTOTP(p.login(f.email))
			f.secret["A"], f.secret["B"], f.secret["C"] = e.secret, p.fullLogin(f.email, e.auth), p.fullLogin(f.email, e.auth)
		}},
		{"refresh token reuse", b, func(p *portal, f *person) {
			p.refreshOK(f.tokens["C"].refresh)
			p.refreshDead("the spent refresh token presented again", f.tokens["C"].refresh)
		}, []string{"C"}, nil},
		{"CLI session revoke", a, func(p *portal, f *person) {
			p.cliOK("", "session", "revoke", f.id["C"])
		}, []string{"C"}, nil},
		{"CLI session revoke --user", b, func(p *portal, f *person) {
			p.cliOK("", "session", "revoke", "--user", f.email)
		}, all, nil},
		{"CLI user passwd", c, func(p *portal, f *person) {
			p.cliOK(newPassword+"\n", "user", "passwd", f.email, "--password-stdin")
		}, all, nil},
		{"CLI user reset-2fa", a, func(p *portal, f *person) {
			p.cliOK("", "user", "reset-2fa", f.email)
		}, all, nil},
		{"CLI user disable", a, func(p *portal, f *person) {
			p.cliOK("", "user", "disable", f.email)
		}, all, nil},
	}
	for i, row := range rows {
		f := &person{email: fmt.Sprintf("row%d@example.com", i),
			secret: map[string]string{}, id: map[string]string{}, tokens: map[string]tokenPair{}}
		a.addUser(f.email)
		if row.signIn != nil {
			row.signIn(a, f)
		} else {
			for _, name := range all {
				f.secret[name] = a.login(f.email)
			}
		}
		for _, name := range all {
			f.id[name] = a.sessionID(f.secret[name])
			f.tokens[name] = a.issueTokens(f.secret[name])
			for _, p := range nodes {
				if got := p.fwdStatus(f.secret[name]); got != http.StatusOK {
					t.Fatalf("%s: session %s on an instance before the end = %d", row.name, name, got)
				}
				p.bearerOK(row.name+" before", f.tokens[name].access)
			}
		}
		row.act(row.via, f)
		for _, name := range all {
			ended := slices.Contains(row.ended, name)
			for n, p := range nodes {
				want := http.StatusOK
				if ended {
					want = http.StatusUnauthorized
				}
				if got := p.fwdStatus(f.secret[name]); got != want {
					t.Errorf("%s: session %s on instance %d right after the end = %d; want %d", row.name, name, n, got, want)
				}
				if ended {
					p.bearerDead(fmt.Sprintf("%s: session %s's token on instance %d", row.name, name, n), f.tokens[name].access)
				} else {
					p.bearerOK(fmt.Sprintf("%s: session %s's token on instance %d", row.name, name, n), f.tokens[name].access)
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

// TestScaleOutCacheDeadlines: the ends that come with time and with the
// session cap hold across caching instances too. A sign-in past
// session.max_per_user through one instance ends the session idle the
// longest, and the others refuse it at once; a session kept active through
// one instance only stays alive on the others, whose cached copies are
// older than the inactivity timeout (they read it again rather than judge
// it on the old copy); and once nobody uses it, every instance refuses it.
func TestScaleOutCacheDeadlines(t *testing.T) {
	t.Parallel()
	for name, config := range scaleOutConfigs(t) {
		t.Run(name, func(t *testing.T) {
			const idle = 3 * time.Second
			nodes := startInstances(t, 3, config(t)+"  shared_cache: true\n"+
				fmt.Sprintf("session:\n  inactivity_timeout: %s\n  max_per_user: 2\n", idle))
			waitCaching(t, nodes...)
			a, b, c := nodes[0].forTest(t), nodes[1].forTest(t), nodes[2].forTest(t)
			all := []*portal{a, b, c}
			expect := func(what, secret string, want int) {
				t.Helper()
				for n, p := range all {
					if got := p.fwdStatus(secret); got != want {
						t.Errorf("%s on instance %d = %d; want %d", what, n, got, want)
					}
				}
			}

			// The cap: the first session is the idlest when the third comes.
			a.addUser("cap@example.com")
			first := a.login("cap@example.com")
			expect("the first session before the cap", first, http.StatusOK)
			time.Sleep(idle / 5)
			second := a.login("cap@example.com")
			expect("the second session before the cap", second, http.StatusOK)
			third := b.login("cap@example.com")
			expect("the idlest session right after a sign-in past the cap", first, http.StatusUnauthorized)
			expect("the second session after the cap", second, http.StatusOK)
			expect("the new session", third, http.StatusOK)

			// Activity through one instance keeps the session alive on all.
			a.addUser("idle@example.com")
			s := a.login("idle@example.com")
			expect("a new session", s, http.StatusOK)
			for end := time.Now().Add(idle + time.Second); time.Now().Before(end); time.Sleep(idle / 12) {
				if got := b.fwdStatus(s); got != http.StatusOK {
					t.Fatalf("the session kept active on instance 1 = %d", got)
				}
			}
			expect("a session active on another instance, its copy here older than the timeout", s, http.StatusOK)
			// And without activity it ends everywhere.
			time.Sleep(idle + idle/3)
			expect("the session after the inactivity timeout", s, http.StatusUnauthorized)
		})
	}
}
