package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// attemptsFor are the receiver's attempts at sid's logout, in order.
func (r *logoutReceiver) attemptsFor(sid string) []logoutAttempt {
	var out []logoutAttempt
	for _, a := range r.all() {
		if a.sid == sid {
			out = append(out, a)
		}
	}
	return out
}

// adminAudit polls the admin audit API until it lists an event of typ for
// the user whose detail has client, and returns it (nil after d).
func adminAudit(t *testing.T, p *portal, admin, userID, typ, client string, d time.Duration) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(d, func() bool {
		res := p.do(request{method: "GET", path: "/api/admin/audit?user=" + userID + "&type=" + typ, cookie: admin})
		var body struct {
			Events []map[string]any `json:"events"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(res.Body, &body) != nil {
			t.Fatalf("GET /api/admin/audit = %d %s", res.StatusCode, res.Body)
		}
		for _, e := range body.Events {
			if d, _ := e["detail"].(map[string]any); d["client"] == client {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// TestOIDCBackchannelDelivery: back-channel logouts are delivered at least
// once and no more than needed — a 5xx is retried with backoff until the
// receiver takes it (one delivery, one jti, audited with its attempts); a
// receiver that never answers is given up on after 5 s per attempt and
// holds up no other app's logouts; a 4xx is a refusal, not retried, and
// audited as oidc.logout_failed.
func TestOIDCBackchannelDelivery(t *testing.T) {
	t.Parallel()
	flaky := newApp("flaky").withReceiver(t)
	hung := newApp("hung").withReceiver(t)
	fast := newApp("fast").withReceiver(t)
	refuses := newApp("refuses").withReceiver(t)
	p := startPortal(t, oidcConfig("1h", flaky, hung, fast, refuses))
	op := discoverPortal(t, p)
	for _, a := range []*rpApp{flaky, hung, fast, refuses} {
		a.Backchannel.trust(op)
	}
	p.addUser("delivery-admin@example.com", "--admin")
	admin := p.login("delivery-admin@example.com")
	signIn := func(p *portal, email string, apps ...*rpApp) (string, []*appSession) {
		secret := p.login(email)
		b := newRPBrowser(t, p.URL, "")
		b.adopt(secret)
		var out []*appSession
		for _, a := range apps {
			out = append(out, op.rp(t, a).signIn(t, b))
		}
		return secret, out
	}

	t.Run("retried after 5xx", func(t *testing.T) {
		t.Parallel()
		p := p.forTest(t)
		p.createUser(admin, "flaky@example.com")
		flaky.Backchannel.respond(func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		secret, apps := signIn(p, "flaky@example.com", flaky)
		s := apps[0]
		wantStatus(t, "sign-out", p.do(request{method: "POST", path: "/api/logout", cookie: secret}), http.StatusOK)
		wantLogout(t, "a logout answered 503 twice", flaky.Backchannel, s.sid, s.sub)
		tries := flaky.Backchannel.attemptsFor(s.sid)
		if len(tries) != 3 || tries[0].status != 503 || tries[1].status != 503 || tries[2].status != 200 {
			t.Fatalf("attempts %+v; want 503, 503, 200", tries)
		}
		for _, a := range tries[1:] {
			if a.jti != tries[0].jti {
				t.Errorf("retry jti %q; want the first attempt's %q (the same logout)", a.jti, tries[0].jti)
			}
		}
		// Backoff: about 1 s, then about 2 s (±20%).
		if gap := tries[1].at.Sub(tries[0].at); gap < 800*time.Millisecond {
			t.Errorf("first retry %v after the first attempt; want a backoff of about 1 s", gap)
		}
		if gap := tries[2].at.Sub(tries[1].at); gap < 1600*time.Millisecond {
			t.Errorf("second retry %v after the first retry; want a doubled backoff of about 2 s", gap)
		}
		e := adminAudit(t, p, admin, s.sub, "oidc.logout_sent", "flaky", 5*time.Second)
		if d, _ := e["detail"].(map[string]any); d["attempts"] != "3" {
			t.Errorf("oidc.logout_sent event %v; want attempts 3", e)
		}
	})

	t.Run("a hung app holds up no other", func(t *testing.T) {
		t.Parallel()
		p := p.forTest(t)
		p.createUser(admin, "hung@example.com")
		hung.Backchannel.respond(func(int) int { return noAnswer })
		s1, apps1 := signIn(p, "hung@example.com", hung, fast)
		_, apps2 := signIn(p, "hung@example.com", hung, fast)
		wantStatus(t, "sign out everywhere", p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s1,
			body: map[string]any{"keepCurrent": false}}), http.StatusOK)
		ended := time.Now()
		for _, s := range []*appSession{apps1[1], apps2[1]} {
			wantLogout(t, "the app beside a hung one", fast.Backchannel, s.sid, s.sub)
			if got := fast.Backchannel.delivered(s.sid); len(got) == 1 && got[0].at.Sub(ended) > 4*time.Second {
				t.Errorf("the fast app was told %v after the end; want well within the hung app's 5 s attempt", got[0].at.Sub(ended))
			}
		}
		// The hung app's attempts are cut off after 5 s each, then retried.
		var held []logoutAttempt
		waitFor(15*time.Second, func() bool {
			held = held[:0]
			for _, s := range []*appSession{apps1[0], apps2[0]} {
				if tries := hung.Backchannel.attemptsFor(s.sid); len(tries) > 0 {
					held = append(held, tries[0])
				}
			}
			return len(held) == 2
		})
		if len(held) != 2 {
			t.Fatalf("the hung receiver's attempts were not given up within 15 s: %+v", hung.Backchannel.all())
		}
		for _, a := range held {
			if a.held < 4500*time.Millisecond || a.held > 9*time.Second {
				t.Errorf("lacop hung up on a receiver that never answers after %v; want about 5 s", a.held)
			}
		}
		hung.Backchannel.respond(func(int) int { return http.StatusOK })
		for _, s := range []*appSession{apps1[0], apps2[0]} {
			wantLogout(t, "the once-hung app, once it answers", hung.Backchannel, s.sid, s.sub)
			tries := hung.Backchannel.attemptsFor(s.sid)
			for _, a := range tries {
				if a.jti != tries[0].jti {
					t.Errorf("attempts at one logout carry jti %q and %q; want one", tries[0].jti, a.jti)
				}
			}
		}
	})

	t.Run("4xx is not retried", func(t *testing.T) {
		t.Parallel()
		p := p.forTest(t)
		p.createUser(admin, "refused@example.com")
		refuses.Backchannel.respond(func(int) int { return http.StatusBadRequest })
		secret, apps := signIn(p, "refused@example.com", refuses)
		s := apps[0]
		wantStatus(t, "sign-out", p.do(request{method: "POST", path: "/api/logout", cookie: secret}), http.StatusOK)
		if !waitFor(oidcWait, func() bool { return len(refuses.Backchannel.attemptsFor(s.sid)) > 0 }) {
			t.Fatalf("the refusing receiver got no attempt within %v", oidcWait)
		}
		e := adminAudit(t, p, admin, s.sub, "oidc.logout_failed", "refuses", 10*time.Second)
		if e == nil {
			t.Errorf("no oidc.logout_failed event for the refused logout")
		}
		time.Sleep(2500 * time.Millisecond) // a retry would have come after about 1 s
		if tries := refuses.Backchannel.attemptsFor(s.sid); len(tries) != 1 || tries[0].status != http.StatusBadRequest {
			t.Errorf("attempts at a logout answered 400: %+v; want exactly one", tries)
		}
	})
}

// TestOIDCCrashKeepsLogouts: lacop killed with SIGKILL right after it
// answered sign-outs 200, while the app's receiver was answering 503,
// restarts on the same data and address and delivers each logout — with
// the jti it had before the crash — exactly once.
func TestOIDCCrashKeepsLogouts(t *testing.T) {
	t.Parallel()
	app := newApp("crashy").withReceiver(t)
	app.Backchannel.respond(func(int) int { return http.StatusServiceUnavailable })
	addr := freeAddr(t)
	config := filepath.Join(t.TempDir(), "lacop.yaml")
	if err := os.WriteFile(config, []byte(oidcConfig("1h", app)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, nil, "--listen", addr, "--config", config)
	p.config = config
	op := discoverPortal(t, p)
	app.Backchannel.trust(op)
	rp := op.rp(t, app)
	p.addUser("crash-oidc@example.com")
	var secrets []string
	var apps []*appSession
	for range 2 {
		b := newRPBrowser(t, p.URL, "")
		secret := p.login("crash-oidc@example.com")
		b.adopt(secret)
		secrets = append(secrets, secret)
		apps = append(apps, rp.signIn(t, b))
	}
	for _, s := range secrets {
		wantStatus(t, "sign-out", p.do(request{method: "POST", path: "/api/logout", cookie: s}), http.StatusOK)
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	before := map[string]string{} // sid → jti tried before the crash
	for _, s := range apps {
		for _, a := range app.Backchannel.attemptsFor(s.sid) {
			if a.status == http.StatusOK {
				t.Fatalf("a logout was delivered before the crash (the receiver answered 503): %+v", a)
			}
			before[s.sid] = a.jti
		}
	}
	checkIntegrity(t, filepath.Join(p.DataDir, "lacop.db"))

	app.Backchannel.respond(func(int) int { return http.StatusOK })
	p.cmd = exec.Command(binary, append([]string{"serve", "--listen", addr}, p.dataArgs()...)...)
	p.cmd.Env = cleanEnv()
	p = restart(t, p)
	// A delivery claimed by the killed process waits out its lease (15 s).
	for _, s := range apps {
		if missing := app.Backchannel.waitDelivered(30*time.Second, s.sid); len(missing) > 0 {
			t.Errorf("logout for sid %s not delivered within 30 s of the restart (attempts %+v)", s.sid, app.Backchannel.attemptsFor(s.sid))
		}
	}
	time.Sleep(time.Second)
	for _, s := range apps {
		got := app.Backchannel.delivered(s.sid)
		if len(got) != 1 {
			t.Errorf("sid %s: %d deliveries after the restart; want exactly one", s.sid, len(got))
			continue
		}
		if got[0].sub != s.sub {
			t.Errorf("sid %s: logout sub %q; want %q", s.sid, got[0].sub, s.sub)
		}
		if jti, ok := before[s.sid]; ok && got[0].jti != jti {
			t.Errorf("sid %s: delivered jti %q after the restart; want %q, tried before the crash", s.sid, got[0].jti, jti)
		}
		s.wantDead(t, "after the crash and restart")
	}
	t.Logf("%d of %d logouts had been tried before the kill", len(before), len(apps))
}

// TestOIDCScaleOut: two instances on one PostgreSQL (and Redis) end many
// sessions at once, through either instance, the CLI and a password change;
// every app sign-in of every ended session is told exactly once, by
// whichever instance's sender claimed it, and its tokens are dead on both.
func TestOIDCScaleOut(t *testing.T) {
	t.Parallel()
	// People and sessions per person: 50 sessions on PostgreSQL; fewer where
	// Redis holds the sessions (the grants and outbox are PostgreSQL's all
	// the same). Each sign-in is an argon2id run, about a second under -race.
	sizes := map[string][2]int{"postgres": {5, 10}, "postgres+redis": {3, 2}}
	for name, config := range scaleOutConfigs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			nPeople, perUser := sizes[name][0], sizes[name][1]
			alpha := newApp("alpha").withReceiver(t)
			beta := newApp("beta").withReceiver(t)
			nodes := startInstances(t, 2, config(t)+oidcConfig("", alpha, beta))
			const issuer = "http://127.0.0.1:9440" // startInstances' load balancer
			ops := []*opView{discoverOP(t, nodes[0].URL, issuer), discoverOP(t, nodes[1].URL, issuer)}
			alpha.Backchannel.trust(ops[0])
			beta.Backchannel.trust(ops[0])
			a, b := nodes[0].forTest(t), nodes[1].forTest(t)
			a.addUser("scale-admin@example.com", "--admin")
			admin := a.login("scale-admin@example.com")

			type person struct {
				email   string
				secrets []string
				apps    []*appSession
			}
			people := make([]*person, nPeople)
			for i := range people {
				people[i] = &person{email: fmt.Sprintf("scale%d@example.com", i)}
				nodes[i%2].forTest(t).createUser(admin, people[i].email)
			}
			// Sign-ins, one at a time per instance (argon2id is the cost).
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Go(func() {
					for i := w; i < len(people); i += 2 {
						pe := people[i]
						for j := range perUser {
							// Signed in on one instance, to the apps through the other.
							in, via := nodes[(i+j)%2].forTest(t), (i+j+1)%2
							secret := in.login(pe.email)
							br := newRPBrowser(t, nodes[via].URL, "")
							br.public = issuer
							br.adopt(secret)
							pe.secrets = append(pe.secrets, secret)
							pe.apps = append(pe.apps, ops[via].rp(t, alpha).signIn(t, br))
							if j%2 == 0 {
								pe.apps = append(pe.apps, ops[via].rp(t, beta).signIn(t, br))
							}
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}

			// End them all at once, a different way for each person, through
			// both instances.
			ends := []func(){
				func() {
					wantStatus(t, "revoke-all on A", a.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: people[0].secrets[0], body: map[string]any{"keepCurrent": false}}), http.StatusOK)
				},
				func() {
					wantStatus(t, "revoke-all on B", b.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: people[1].secrets[0], body: map[string]any{"keepCurrent": false}}), http.StatusOK)
				},
				func() {
					for j, s := range people[2].secrets {
						wantStatus(t, "sign-out", nodes[j%2].forTest(t).do(request{method: "POST", path: "/api/logout", cookie: s}), http.StatusOK)
					}
				},
				func() { a.cliOK("", "session", "revoke", "--user", people[3].email) },
				func() {
					wantStatus(t, "password change on B", b.do(request{method: "POST", path: "/api/account/password", cookie: people[4].secrets[0],
						body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}}), http.StatusOK)
				},
			}
			for _, end := range ends[:nPeople] {
				wg.Go(end)
			}
			wg.Wait()

			var all []*appSession
			for _, pe := range people {
				all = append(all, pe.apps...)
			}
			for _, s := range all {
				if missing := s.rp.app.Backchannel.waitDelivered(30*time.Second, s.sid); len(missing) > 0 {
					t.Errorf("%s, sid %s: no logout within 30 s", s.rp.app.ID, s.sid)
				}
			}
			time.Sleep(time.Second)
			for _, s := range all {
				if got := s.rp.app.Backchannel.delivered(s.sid); len(got) != 1 {
					t.Errorf("%s, sid %s: %d logouts; want exactly one across the instances", s.rp.app.ID, s.sid, len(got))
				} else if got[0].sub != s.sub {
					t.Errorf("%s, sid %s: logout sub %q; want %q", s.rp.app.ID, s.sid, got[0].sub, s.sub)
				}
			}
			if n := len(alpha.Backchannel.delivered("")) + len(beta.Backchannel.delivered("")); n != len(all) {
				t.Errorf("%d logouts delivered in all; want %d, one per app sign-in", n, len(all))
			}
			for i, s := range all {
				// Each token is checked on the other instance from the one
				// it came from.
				other := *s
				other.rp = ops[(i+1)%2].rp(t, s.rp.app)
				other.wantDead(t, fmt.Sprintf("%s sign-in %d", s.rp.app.ID, i))
			}
			t.Logf("%d sessions ended, %d app sign-ins told once each", len(people)*perUser, len(all))
		})
	}
}
