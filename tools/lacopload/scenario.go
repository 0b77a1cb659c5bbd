package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts the successes that must each have left an audit event, and
// how the scenarios went.
type tally struct {
	login, logout, sessionRevoked, revokedAll atomic.Int64
	tokenIssued, tokenRefreshed, tokenRevoked atomic.Int64
	scenarios, aborted                        atomic.Int64
	ends                                      [4]atomic.Int64 // by end: logout, end-other, revoke-all, oauth-revoke
	revokeAllNotOne, extraListed              atomic.Int64
}

var endNames = [4]string{"(a) logout", "(b) end-other", "(c) revoke-all", "(d) oauth-revoke + logout"}

// userPool hands each virtual user a user no other one holds: revoke-all
// ends every session of the user and bumps its token version, which would
// end another virtual user's session of the same user in the middle of its
// scenario.
type userPool struct {
	sem  chan struct{}
	mu   sync.Mutex
	free []string
}

func newUserPool(emails []string) *userPool {
	p := &userPool{sem: make(chan struct{}, len(emails)), free: append([]string(nil), emails...)}
	for range emails {
		p.sem <- struct{}{}
	}
	return p
}

func (p *userPool) take(rng *rand.Rand) string {
	<-p.sem
	p.mu.Lock()
	defer p.mu.Unlock()
	i := rng.IntN(len(p.free))
	e := p.free[i]
	p.free[i] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return e
}

func (p *userPool) give(e string) {
	p.mu.Lock()
	p.free = append(p.free, e)
	p.mu.Unlock()
	p.sem <- struct{}{}
}

// vu is one virtual user.
type vu struct {
	c     *client
	users *userPool
	ck    *checker
	t     *tally
	rng   *rand.Rand
}

// run loops the scenario until the load stops. A scenario under way at the
// stop runs on to its end, so its credentials are ended too.
func (v *vu) run(ctx context.Context) {
	for !v.c.budget.stopping() && ctx.Err() == nil {
		email := v.users.take(v.rng)
		if v.c.budget.stopping() { // stopped while waiting for a user
			v.users.give(email)
			return
		}
		v.t.scenarios.Add(1)
		if !v.scenario(ctx, email) {
			v.t.aborted.Add(1)
		}
		v.users.give(email)
	}
}

// session is one signed-in session and the tokens taken from it.
type session struct {
	cookie, id string
	access     []string
	refresh    []string // oldest first
}

// scenario signs in, uses the session and its tokens, then ends them one of
// four ways. It reports false when an answer was not the one expected.
func (v *vu) scenario(ctx context.Context, email string) bool {
	s, ok := v.login(ctx, email)
	if !ok {
		return false
	}
	if !v.use(ctx, s) {
		v.abandon(ctx, s)
		return false
	}
	end := v.rng.IntN(4)
	v.t.ends[end].Add(1)
	switch end {
	case 0:
		ok = v.logout(ctx, s, endNames[0], true)
	case 1:
		ok = v.endOther(ctx, email, s)
	case 2:
		ok = v.revokeAll(ctx, s)
	default:
		ok = v.oauthRevoke(ctx, s)
	}
	return ok
}

// login signs in and learns the new session's public id.
func (v *vu) login(ctx context.Context, email string) (*session, bool) {
	k := call{method: "POST", path: "/api/login", json: map[string]any{"email": email, "password": password}}
	r, ok := v.c.do(ctx, opLogin, k, http.StatusOK)
	if !ok {
		return nil, false
	}
	v.t.login.Add(1)
	cookie, err := sessionCookie(r.header)
	var body struct{ SecondFactorRequired bool }
	if err != nil || !v.c.decode(opLogin, r, &body) || body.SecondFactorRequired {
		v.c.stats.unexpected(opLogin, "200 without a session cookie, or asking for a second factor")
		return nil, false
	}
	s := &session{cookie: cookie}
	r, ok = v.c.do(ctx, opMe, call{method: "GET", path: "/api/me", cookie: cookie}, http.StatusOK)
	var me struct{ Session struct{ ID string } }
	if !ok || !v.c.decode(opMe, r, &me) || me.Session.ID == "" {
		v.abandon(ctx, s)
		return nil, false
	}
	s.id = me.Session.ID
	return s, true
}

// use runs the signed-in part: forward-auth, /api/me, tokens, bearer and
// one or two refreshes.
func (v *vu) use(ctx context.Context, s *session) bool {
	for range 2 + v.rng.IntN(3) {
		if _, ok := v.c.do(ctx, opFwd, call{method: "GET", path: "/api/authz/forward-auth", cookie: s.cookie, forwarded: true}, http.StatusOK); !ok {
			return false
		}
	}
	if _, ok := v.c.do(ctx, opMe, call{method: "GET", path: "/api/me", cookie: s.cookie}, http.StatusOK); !ok {
		return false
	}
	r, ok := v.c.do(ctx, opTokens, call{method: "POST", path: "/api/tokens", cookie: s.cookie}, http.StatusOK)
	if !ok {
		return false
	}
	v.t.tokenIssued.Add(1)
	var issued struct{ AccessToken, RefreshToken string }
	if !v.c.decode(opTokens, r, &issued) || issued.AccessToken == "" || issued.RefreshToken == "" {
		return false
	}
	s.access, s.refresh = []string{issued.AccessToken}, []string{issued.RefreshToken}
	if _, ok := v.c.do(ctx, opBearer, call{method: "GET", path: "/api/me", bearer: issued.AccessToken}, http.StatusOK); !ok {
		return false
	}
	for range 1 + v.rng.IntN(2) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.refresh[len(s.refresh)-1]}}
		r, ok := v.c.do(ctx, opRefresh, call{method: "POST", path: "/oauth/token", form: form}, http.StatusOK)
		if !ok {
			return false
		}
		v.t.tokenRefreshed.Add(1)
		var raw struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if !v.c.decode(opRefresh, r, &raw) || raw.Access == "" || raw.Refresh == "" {
			return false
		}
		s.access, s.refresh = append(s.access, raw.Access), append(s.refresh, raw.Refresh)
	}
	return true
}

// logout is end (a), also the last step of (b) and (d). counted says
// whether its audit event is owed (the session is known to be live).
func (v *vu) logout(ctx context.Context, s *session, how string, counted bool) bool {
	if _, ok := v.c.do(ctx, opLogout, call{method: "POST", path: "/api/logout", cookie: s.cookie}, http.StatusOK); !ok {
		return false
	}
	at := time.Now()
	if counted {
		v.t.logout.Add(1)
	}
	e := &ended{how: how, sessionID: s.id, cookie: s.cookie, cookieAt: at, access: s.access, refresh: s.refresh, tokensAt: at}
	v.ck.probeNow(ctx, e)
	return true
}

// abandon ends a session whose scenario went wrong, so it does not linger;
// no audit event is counted for it.
func (v *vu) abandon(ctx context.Context, s *session) {
	v.logout(ctx, s, "logout after an unexpected answer", false)
}

// endOther is end (b): a second session of the same user ends the first
// from the session list, then signs out itself.
func (v *vu) endOther(ctx context.Context, email string, first *session) bool {
	second, ok := v.login(ctx, email)
	if !ok {
		v.abandon(ctx, first)
		return false
	}
	r, ok := v.c.do(ctx, opSessions, call{method: "GET", path: "/api/sessions", cookie: second.cookie}, http.StatusOK)
	var list struct {
		Sessions []struct {
			ID      string
			Current bool
		}
	}
	if !ok || !v.c.decode(opSessions, r, &list) {
		v.abandon(ctx, first)
		v.abandon(ctx, second)
		return false
	}
	var firstListed bool
	for _, x := range list.Sessions {
		switch {
		case x.Current && x.ID != second.id:
			v.c.stats.unexpected(opSessions, "the session marked current is not the caller's")
		case x.ID == first.id:
			firstListed = true
		case !x.Current:
			v.t.extraListed.Add(1)
			v.ck.listedAfterEnd(x.ID)
		}
	}
	if !firstListed {
		v.c.stats.unexpected(opSessions, "GET /api/sessions does not list the user's other live session")
	}
	k := call{method: "DELETE", path: "/api/sessions/" + url.PathEscape(first.id), cookie: second.cookie}
	if _, ok := v.c.do(ctx, opEndOther, k, http.StatusNoContent); !ok {
		v.abandon(ctx, first)
		v.abandon(ctx, second)
		return false
	}
	at := time.Now()
	v.t.sessionRevoked.Add(1)
	v.ck.probeNow(ctx, &ended{how: endNames[1], sessionID: first.id, cookie: first.cookie, cookieAt: at,
		access: first.access, refresh: first.refresh, tokensAt: at})
	return v.logout(ctx, second, "logout of the second session of (b)", true)
}

// revokeAll is end (c): sign out everywhere, the current session included.
func (v *vu) revokeAll(ctx context.Context, s *session) bool {
	k := call{method: "POST", path: "/api/sessions/revoke-all", cookie: s.cookie, json: map[string]any{"keepCurrent": false}}
	r, ok := v.c.do(ctx, opRevokeAll, k, http.StatusOK)
	if !ok {
		v.abandon(ctx, s)
		return false
	}
	at := time.Now()
	v.t.revokedAll.Add(1)
	var body struct{ Revoked int64 }
	if v.c.decode(opRevokeAll, r, &body) {
		v.t.sessionRevoked.Add(body.Revoked)
		if body.Revoked != 1 { // the user is this virtual user's alone
			v.t.revokeAllNotOne.Add(1)
		}
	}
	v.ck.probeNow(ctx, &ended{how: endNames[2], sessionID: s.id, cookie: s.cookie, cookieAt: at,
		access: s.access, refresh: s.refresh, tokensAt: at})
	return true
}

// oauthRevoke is end (d): revoking the refresh token ends its family and the
// session's access tokens but not the session, which then signs out.
func (v *vu) oauthRevoke(ctx context.Context, s *session) bool {
	form := url.Values{"token": {s.refresh[len(s.refresh)-1]}}
	if _, ok := v.c.do(ctx, opOAuthRevoke, call{method: "POST", path: "/oauth/revoke", form: form}, http.StatusOK); !ok {
		v.abandon(ctx, s)
		return false
	}
	v.t.tokenRevoked.Add(1)
	v.ck.probeNow(ctx, &ended{how: "(d) oauth-revoke (tokens only)", sessionID: s.id,
		access: s.access, refresh: s.refresh, tokensAt: time.Now()})
	// The cookie session is still signed in.
	if _, ok := v.c.do(ctx, opFwd, call{method: "GET", path: "/api/authz/forward-auth", cookie: s.cookie, forwarded: true}, http.StatusOK); !ok {
		v.abandon(ctx, s)
		return false
	}
	return v.logout(ctx, s, endNames[3], true)
}
