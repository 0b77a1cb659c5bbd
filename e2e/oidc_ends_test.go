package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// appsFixture is one person with two sessions, A (the one acting) and B
// (another device), each signed in to the apps alpha and beta through
// lacop. (A bystander's session, shared by the rows, is checked once they
// are done: every password check costs an argon2id run, about a second
// under -race, so the fixture is as small as tells the rows apart.)
type appsFixture struct {
	email      string
	userID     string
	secret, id map[string]string        // by session name
	apps       map[string][]*appSession // by session name
	enrolment  *enrolment               // set for a fixture with a second factor
	admin      string                   // an admin's session secret
	layout     map[string][]string      // session name → app ids
	order      []string                 // A B
	ids        map[*appSession]string   // app sign-in → its session's name
}

var appsLayout = map[string][]string{"A": {"alpha", "beta"}, "B": {"alpha", "beta"}}

// newAppsFixture signs the sessions in (through the API; with a second
// factor when twoFactor) and then each to its apps through the
// authorization flow, in a browser holding that session.
func newAppsFixture(t *testing.T, p *portal, rps map[string]*relyingParty, admin string, n int, twoFactor bool) *appsFixture {
	t.Helper()
	f := &appsFixture{
		email:  fmt.Sprintf("ends%d@example.com", n),
		secret: map[string]string{}, id: map[string]string{}, apps: map[string][]*appSession{},
		layout: appsLayout, order: []string{"A", "B"}, ids: map[*appSession]string{}, admin: admin,
	}
	p.createUser(admin, f.email)
	if twoFactor {
		f.enrolment = p.enrolTOTP(p.login(f.email))
		f.secret["A"] = f.enrolment.secret
		f.secret["B"] = p.fullLogin(f.email, f.enrolment.auth)
	} else {
		f.secret["A"] = p.login(f.email)
		f.secret["B"] = p.login(f.email)
	}
	f.userID = p.userID(f.secret["A"])
	for _, name := range f.order {
		f.id[name] = p.sessionID(f.secret[name])
		b := newRPBrowser(t, p.URL, "") // no password: the adopted session must do
		b.adopt(f.secret[name])
		for _, app := range f.layout[name] {
			s := rps[app].signIn(t, b)
			f.apps[name] = append(f.apps[name], s)
			f.ids[s] = name
		}
	}
	return f
}

// endRow is one way a session ends, from the contract's policy table.
type endRow struct {
	name      string
	twoFactor bool
	// act ends sessions; it returns the names of the lacop sessions it
	// ended when only the server knows which (the session limit), else nil.
	act func(t *testing.T, p *portal, f *appsFixture) []string
	// ended are the lacop sessions the row ends.
	ended []string
	// apps says which app sign-ins end: "" those of the ended sessions;
	// "user" every one of the person's (the rows that end all of the
	// person's tokens, the acting session's included, as they do lacop's
	// own tokens); an app id: that app in every session of the person.
	apps string
}

// wantStatus fails the row unless res has the status.
func wantStatus(t *testing.T, what string, res *response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s = %d %s; want %d", what, res.StatusCode, res.Body, status)
	}
}

var endRows = []endRow{
	{name: "sign-out form", ended: []string{"A"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "POST /logout", p.do(request{method: "POST", path: "/logout", body: "rd=", header: formHeader, cookie: f.secret["A"]}), http.StatusSeeOther)
		return nil
	}},
	{name: "sign-out JSON", ended: []string{"A"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "POST /api/logout", p.do(request{method: "POST", path: "/api/logout", cookie: f.secret["A"]}), http.StatusOK)
		return nil
	}},
	{name: "sign out everywhere", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "revoke-all", p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": false}}), http.StatusOK)
		return nil
	}},
	{name: "end one device", ended: []string{"B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "DELETE /api/sessions/B", p.do(request{method: "DELETE", path: "/api/sessions/" + f.id["B"], cookie: f.secret["A"]}), http.StatusNoContent)
		return nil
	}},
	{name: "sign out everywhere else", ended: []string{"B"}, apps: "user", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "revoke-all keepCurrent", p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.secret["A"], body: map[string]any{"keepCurrent": true}}), http.StatusOK)
		return nil
	}},
	{name: "password change", ended: []string{"B"}, apps: "user", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "password change", p.do(request{method: "POST", path: "/api/account/password", cookie: f.secret["A"],
			body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}}), http.StatusOK)
		return nil
	}},
	{name: "email change", ended: []string{"B"}, apps: "user", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "email change", p.do(request{method: "POST", path: "/api/account/email", cookie: f.secret["A"],
			body: map[string]any{"password": testPassword, "newEmail": "moved-" + f.email}}), http.StatusOK)
		return nil
	}},
	{name: "report a concern", ended: []string{"B"}, apps: "user", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "report concern", p.do(request{method: "POST", path: "/api/account/report-concern", cookie: f.secret["A"],
			body: map[string]any{"note": "not me"}}), http.StatusOK)
		return nil
	}},
	{name: "second factor turned off", twoFactor: true, ended: []string{"B"}, apps: "user", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "DELETE /api/account/totp", p.do(request{method: "DELETE", path: "/api/account/totp", cookie: f.secret["A"],
			body: map[string]any{"password": testPassword}}), http.StatusNoContent)
		return nil
	}},
	{name: "second factor reset by an admin", twoFactor: true, ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "admin TOTP reset", p.do(request{method: "DELETE", path: "/api/admin/users/" + f.userID + "/totp", cookie: f.admin}), http.StatusNoContent)
		return nil
	}},
	{name: "admin ends a session", ended: []string{"B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "admin DELETE session", p.do(request{method: "DELETE", path: "/api/admin/sessions/" + f.id["B"], cookie: f.admin}), http.StatusNoContent)
		return nil
	}},
	{name: "admin ends every session", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "admin revoke-sessions", p.do(request{method: "POST", path: "/api/admin/users/" + f.userID + "/revoke-sessions", cookie: f.admin}), http.StatusOK)
		return nil
	}},
	{name: "admin disables the user", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "admin disable", p.do(request{method: "POST", path: "/api/admin/users/" + f.userID + "/disable", cookie: f.admin}), http.StatusNoContent)
		return nil
	}},
	{name: "lacop user disable", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		p.cliOK("", "user", "disable", f.email)
		return nil
	}},
	{name: "lacop user passwd", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		p.cliOK(newPassword+"\n", "user", "passwd", f.email, "--password-stdin")
		return nil
	}},
	{name: "lacop session revoke ID", ended: []string{"B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		p.cliOK("", "session", "revoke", f.id["B"])
		return nil
	}},
	{name: "lacop session revoke --user", ended: []string{"A", "B"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		p.cliOK("", "session", "revoke", "--user", f.email)
		return nil
	}},
	{name: "refresh token reuse", ended: []string{"A"}, act: func(t *testing.T, p *portal, f *appsFixture) []string {
		tokens := p.issueTokens(f.secret["A"])
		p.refreshOK(tokens.refresh)
		p.refreshDead("lacop's own refresh token used twice", tokens.refresh)
		return nil
	}},
	{name: "session limit", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		p.login(f.email) // a third: past session.max_per_user, the one idle longest ends
		var ended []string
		for _, name := range []string{"A", "B"} {
			if p.meStatus(f.secret[name]) == http.StatusUnauthorized {
				ended = append(ended, name)
			}
		}
		if len(ended) != 1 {
			t.Fatalf("a third sign-in with max_per_user 2 ended sessions %v; want exactly one", ended)
		}
		return ended
	}},
	{name: "Remove access for one app", apps: "alpha", act: func(t *testing.T, p *portal, f *appsFixture) []string {
		wantStatus(t, "DELETE /api/account/apps/alpha", p.do(request{method: "DELETE", path: "/api/account/apps/alpha", cookie: f.secret["A"]}), http.StatusNoContent)
		return nil
	}},
}

// TestOIDCSessionEnds walks every way a session ends (the contract's policy
// table, Remove access for one app, and the refresh-token reuse and session
// limit rows): every app signed in through an ended session gets exactly
// one back-channel logout with the session's sid and the person's sub, its
// refresh token gets invalid_grant and its access token introspects
// active:false; every other app sign-in — the person's other session, a
// bystander's — is told nothing and keeps working. Where a row ends all of
// the person's tokens (sign out everywhere else, password, email, concern,
// second factor off: the contract's "every other session and all tokens",
// as TestTokensDieWithSession checks for lacop's own), the apps of the
// surviving acting session end too.
func TestOIDCSessionEnds(t *testing.T) {
	t.Parallel()
	alpha := newApp("alpha").withReceiver(t)
	beta := newApp("beta").withReceiver(t)
	p := startPortal(t, "session:\n  max_per_user: 2\n"+oidcConfig("", alpha, beta))
	op := discoverPortal(t, p)
	alpha.Backchannel.trust(op)
	beta.Backchannel.trust(op)
	rps := map[string]*relyingParty{"alpha": op.rp(t, alpha), "beta": op.rp(t, beta)}
	p.addUser("ends-admin@example.com", "--admin")
	admin := p.login("ends-admin@example.com")

	// The bystander: another person, signed in to both apps, whom no row
	// may touch.
	p.createUser(admin, "bystander@example.com")
	by := newRPBrowser(t, p.URL, "")
	by.adopt(p.login("bystander@example.com"))
	bystander := []*appSession{rps["alpha"].signIn(t, by), rps["beta"].signIn(t, by)}

	t.Run("rows", func(t *testing.T) {
		for i, row := range endRows {
			t.Run(row.name, func(t *testing.T) {
				t.Parallel()
				p := p.forTest(t)
				f := newAppsFixture(t, p, rps, admin, i, row.twoFactor)
				ended := row.ended
				got := row.act(t, p, f)
				answered := time.Now()
				if got != nil {
					ended = got
				}
				checkEnds(t, p, f, ended, row.apps, answered)
			})
		}
	})
	if got := p.meStatus(by.secret()); got != http.StatusOK {
		t.Errorf("the bystander's session after every row: /api/me = %d; want 200", got)
	}
	for _, s := range bystander {
		wantNoLogout(t, "the bystander's "+s.rp.app.ID, s.rp.app.Backchannel, s.sid)
		s.wantAlive(t, "the bystander's "+s.rp.app.ID)
	}
}

// endToLogout is how soon after an end is answered its apps must have
// their back-channel logouts (the issue's bound; the sender is woken by
// the end, so it is usually milliseconds).
const endToLogout = 2 * time.Second

// checkEnds checks the lacop sessions and every app sign-in of the fixture
// after a row ended the sessions named ended.
func checkEnds(t *testing.T, p *portal, f *appsFixture, ended []string, apps string, answered time.Time) {
	t.Helper()
	for _, name := range f.order {
		got := p.meStatus(f.secret[name])
		switch {
		case slices.Contains(ended, name) && got != http.StatusUnauthorized:
			t.Errorf("session %s: /api/me = %d; want 401 (ended)", name, got)
		case !slices.Contains(ended, name) && name != "A" && got != http.StatusOK:
			t.Errorf("session %s: /api/me = %d; want 200 (not ended)", name, got)
		}
	}
	var dead, alive []*appSession
	for _, name := range f.order {
		for _, s := range f.apps[name] {
			switch {
			case apps == "" && slices.Contains(ended, name), apps == "user", apps == s.rp.app.ID:
				dead = append(dead, s)
			default:
				alive = append(alive, s)
			}
		}
	}
	label := func(s *appSession) string { return fmt.Sprintf("%s through session %s", s.rp.app.ID, f.ids[s]) }
	// Wait for every logout due, then a moment for any that is not.
	for _, s := range dead {
		if missing := s.rp.app.Backchannel.waitDelivered(oidcWait, s.sid); len(missing) > 0 {
			t.Errorf("%s: no back-channel logout within %v", label(s), oidcWait)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, s := range dead {
		got := s.rp.app.Backchannel.delivered(s.sid)
		if len(got) != 1 {
			t.Errorf("%s: %d back-channel logouts; want exactly one", label(s), len(got))
		} else if got[0].sub != s.sub {
			t.Errorf("%s: logout sub %q; want %q", label(s), got[0].sub, s.sub)
		} else if late := got[0].at.Sub(answered); late > endToLogout {
			t.Errorf("%s: the back-channel logout arrived %v after the end was answered; want within %v", label(s), late, endToLogout)
		}
		s.wantDead(t, label(s))
	}
	for _, s := range alive {
		wantNoLogout(t, label(s), s.rp.app.Backchannel, s.sid)
		s.wantAlive(t, label(s))
	}
	if t.Failed() {
		t.Logf("ended %v, apps %q; dead %d, alive %d", ended, apps, len(dead), len(alive))
	}
}

// TestOIDCSessionExpiry: sessions that end by themselves — inactivity, and
// the absolute lifetime however active the session is — reach their apps as
// every other end does, within a couple of sweeps; an active session's apps
// are left alone.
func TestOIDCSessionExpiry(t *testing.T) {
	t.Parallel()
	const idle, lifetime = 3 * time.Second, 12 * time.Second
	alpha := newApp("alpha").withReceiver(t)
	beta := newApp("beta").withReceiver(t)
	p := startPortal(t, fmt.Sprintf("session:\n  inactivity_timeout: %s\n  lifetime: %s\n  remember_me_lifetime: %s\n", idle, lifetime, lifetime)+
		oidcConfig("", alpha, beta))
	op := discoverPortal(t, p)
	alpha.Backchannel.trust(op)
	beta.Backchannel.trust(op)
	ra, rb := op.rp(t, alpha), op.rp(t, beta)
	// The people are made with the CLI, at once: an admin's session would
	// time out between the argon2id runs of the admin API.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, email := range []string{"idle@example.com", "busy@example.com", "longday@example.com"} {
		wg.Go(func() {
			if out, err := p.cli(testPassword+"\n", "user", "add", email, "--password-stdin"); err != nil {
				errs[i] = fmt.Errorf("user add %s: %v\n%s", email, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// keepActive uses the session every half second until stop is closed.
	keepActive := func(p *portal, secret string, stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
				p.try(request{method: "GET", path: "/api/me", cookie: secret})
			}
		}
	}

	t.Run("inactivity", func(t *testing.T) {
		t.Parallel()
		p := p.forTest(t)
		idler := newRPBrowser(t, p.URL, "idle@example.com")
		a, b := ra.signIn(t, idler), rb.signIn(t, idler)
		lastUse := time.Now()
		// The busy session is checked well within its lifetime.
		busy := newRPBrowser(t, p.URL, "busy@example.com")
		kept := ra.signIn(t, busy)
		stop := make(chan struct{})
		go keepActive(p, busy.secret(), stop)
		defer close(stop)

		for _, s := range []*appSession{a, b} {
			wantLogout(t, "idle session's "+s.rp.app.ID, s.rp.app.Backchannel, s.sid, s.sub)
			got := s.rp.app.Backchannel.delivered(s.sid)
			// The last activity stamp may be up to a touch interval and
			// the flow's last steps before lastUse.
			if len(got) == 1 && got[0].at.Sub(lastUse) < idle-1500*time.Millisecond {
				t.Errorf("%s told %v after the session's last use; want no sooner than the inactivity timeout %v", s.rp.app.ID, got[0].at.Sub(lastUse), idle)
			}
			s.wantDead(t, "idle session's "+s.rp.app.ID)
		}
		if got := p.meStatus(idler.secret()); got != http.StatusUnauthorized {
			t.Errorf("idle session: /api/me = %d; want 401", got)
		}
		if got := p.meStatus(busy.secret()); got != http.StatusOK {
			t.Errorf("active session: /api/me = %d; want 200", got)
		}
		wantNoLogout(t, "the active session's app", alpha.Backchannel, kept.sid)
		kept.wantAlive(t, "the active session's app")
	})

	t.Run("lifetime", func(t *testing.T) {
		t.Parallel()
		p := p.forTest(t)
		br := newRPBrowser(t, p.URL, "longday@example.com")
		signedIn := time.Now()
		s := ra.signIn(t, br)
		stop := make(chan struct{})
		go keepActive(p, br.secret(), stop) // activity does not stretch the lifetime
		defer close(stop)
		wantLogout(t, "an active session's app at the end of its lifetime", alpha.Backchannel, s.sid, s.sub)
		if got := alpha.Backchannel.delivered(s.sid); len(got) == 1 && got[0].at.Sub(signedIn) < lifetime-time.Second {
			t.Errorf("told %v after sign-in; want no sooner than the lifetime %v", got[0].at.Sub(signedIn), lifetime)
		}
		s.wantDead(t, "the app of a session past its lifetime")
		if got := p.meStatus(br.secret()); got != http.StatusUnauthorized {
			t.Errorf("session past its lifetime: /api/me = %d; want 401", got)
		}
	})
}
