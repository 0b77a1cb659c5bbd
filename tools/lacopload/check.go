package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// ended are credentials whose end lacop answered 200 (or 204): none of them
// may work again.
type ended struct {
	how       string
	sessionID string    // public id, not a secret
	cookie    string    // "" when the session was not ended
	cookieAt  time.Time // when the end of the session was answered
	access    []string
	refresh   []string // oldest first
	tokensAt  time.Time
}

// The probes of ended credentials.
const (
	probeFwd     = iota // forward-auth with the cookie: 401
	probeMe             // /api/me with the cookie: 401
	probeBearer         // /api/me with an access token: 401
	probeRefresh        // /oauth/token with a refresh token: 400 invalid_grant
)

var probeNames = [...]string{"forward-auth with the ended cookie", "/api/me with the ended cookie",
	"bearer /api/me with an ended access token", "/oauth/token with an ended refresh token"}

// ringSize is how many ended credentials the checker re-probes at random.
const ringSize = 2000

// checker probes ended credentials: each at once after its end, and a
// bounded ring of them again and again while the load runs.
type checker struct {
	c        *client
	mu       sync.Mutex
	ring     []*ended
	next     int
	endedIDs map[string]string // every ended session's id → how it ended

	violations, immediate, rechecks atomic.Int64
	vmu                             sync.Mutex
	first                           []string // the first violations, described
}

func newChecker(c *client) *checker {
	return &checker{c: c, endedIDs: map[string]string{}}
}

// probeNow probes every credential e ended, then keeps e for re-probes.
func (ck *checker) probeNow(ctx context.Context, e *ended) {
	if e.cookie != "" {
		ck.probe(ctx, e, probeFwd, e.cookie, false)
		ck.probe(ctx, e, probeMe, e.cookie, false)
	}
	for _, a := range e.access {
		ck.probe(ctx, e, probeBearer, a, false)
	}
	if len(e.refresh) > 0 {
		ck.probe(ctx, e, probeRefresh, e.refresh[len(e.refresh)-1], false)
	}
	ck.mu.Lock()
	defer ck.mu.Unlock()
	if e.cookie != "" && e.sessionID != "" {
		ck.endedIDs[e.sessionID] = e.how
	}
	if len(ck.ring) < ringSize {
		ck.ring = append(ck.ring, e)
	} else {
		ck.ring[ck.next] = e
		ck.next = (ck.next + 1) % ringSize
	}
}

// probe sends one probe; a 2xx is a violation, any other status but the
// expected one is an unexpected answer.
func (ck *checker) probe(ctx context.Context, e *ended, kind int, cred string, recheck bool) {
	var k call
	want, at := http.StatusUnauthorized, e.cookieAt
	switch kind {
	case probeFwd:
		k = call{method: "GET", path: "/api/authz/forward-auth", cookie: cred, forwarded: true}
	case probeMe:
		k = call{method: "GET", path: "/api/me", cookie: cred}
	case probeBearer:
		k, at = call{method: "GET", path: "/api/me", bearer: cred}, e.tokensAt
	case probeRefresh:
		k = call{method: "POST", path: "/oauth/token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cred}}}
		want, at = http.StatusBadRequest, e.tokensAt
	}
	if recheck {
		ck.rechecks.Add(1)
	} else {
		ck.immediate.Add(1)
	}
	r := ck.c.send(ctx, opProbe, k)
	if r.err == nil && r.status >= 200 && r.status < 300 {
		when := "immediate probe"
		if recheck {
			when = "re-probe"
		}
		ck.violate(fmt.Sprintf("%s: %s answered %d %v after the end was answered (%s; session %s, credential %s)",
			e.how, probeNames[kind], r.status, time.Since(at).Round(time.Millisecond), when, e.sessionID, short(cred)))
		return
	}
	if !ck.c.want(opProbe, k, r, want) || kind != probeRefresh {
		return
	}
	var body struct{ Error string }
	if json.Unmarshal(r.body, &body) != nil || body.Error != "invalid_grant" {
		ck.c.stats.unexpected(opProbe, fmt.Sprintf("ended refresh token answered 400 %q; want invalid_grant", truncate(string(r.body), 200)))
	}
}

func (ck *checker) violate(detail string) {
	ck.violations.Add(1)
	ck.vmu.Lock()
	if len(ck.first) < 10 {
		ck.first = append(ck.first, detail)
	}
	ck.vmu.Unlock()
}

// listedAfterEnd is a session id a session list showed as live: a
// violation if its end was answered.
func (ck *checker) listedAfterEnd(id string) {
	ck.mu.Lock()
	how, ok := ck.endedIDs[id]
	ck.mu.Unlock()
	if ok {
		ck.violate(fmt.Sprintf("%s: GET /api/sessions still lists session %s", how, id))
	}
}

// run re-probes random credentials of the ring until the load stops.
func (ck *checker) run(ctx context.Context) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for !ck.c.budget.stopping() && ctx.Err() == nil {
		ck.mu.Lock()
		var e *ended
		if len(ck.ring) > 0 {
			e = ck.ring[rng.IntN(len(ck.ring))]
		}
		ck.mu.Unlock()
		if e == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		type cand struct {
			kind int
			cred string
		}
		var cs []cand
		if e.cookie != "" {
			cs = append(cs, cand{probeFwd, e.cookie}, cand{probeMe, e.cookie})
		}
		for _, a := range e.access {
			cs = append(cs, cand{probeBearer, a})
		}
		for _, r := range e.refresh {
			cs = append(cs, cand{probeRefresh, r})
		}
		if len(cs) > 0 {
			x := cs[rng.IntN(len(cs))]
			ck.probe(ctx, e, x.kind, x.cred, true)
		}
	}
}

// noSuccessAfterEnd is invariant 1.
func (ck *checker) noSuccessAfterEnd() verdict {
	v := verdict{name: "1. no success after an end", pass: ck.violations.Load() == 0}
	ck.mu.Lock()
	n := len(ck.endedIDs)
	ck.mu.Unlock()
	v.lines = append(v.lines, fmt.Sprintf("%d sessions ended; %d immediate probes after the end's answer, %d re-probes of the last %d ended credentials; %d answered 2xx",
		n, ck.immediate.Load(), ck.rechecks.Load(), ringSize, ck.violations.Load()))
	for _, d := range ck.first {
		v.lines = append(v.lines, "VIOLATION: "+cell(d))
	}
	return v
}

// auditComplete is invariant 2: an audit event for every success.
func auditComplete(ctx context.Context, l *lacop, t *tally) verdict {
	v := verdict{name: "2. no audit event missing for a success", pass: true}
	rows := []struct {
		typ     string
		counted int64
		equal   bool
	}{
		{"login.succeeded", t.login.Load(), true},
		{"logout", t.logout.Load(), false},
		{"session.revoked", t.sessionRevoked.Load(), false},
		{"session.revoked_all", t.revokedAll.Load(), false},
		{"token.issued", t.tokenIssued.Load(), true},
		{"token.refreshed", t.tokenRefreshed.Load(), false},
		{"token.revoked", t.tokenRevoked.Load(), false},
	}
	for _, r := range rows {
		n, err := l.auditCount(ctx, r.typ, int(r.counted))
		if err != nil {
			v.pass = false
			v.lines = append(v.lines, fmt.Sprintf("%s: %v", r.typ, cell(err.Error())))
			continue
		}
		op, ok := ">=", int64(n) >= r.counted
		if r.equal {
			op, ok = "=", int64(n) == r.counted
		}
		mark := "ok"
		if !ok {
			v.pass, mark = false, "MISSING"
		}
		v.lines = append(v.lines, fmt.Sprintf("%s: %d in the audit log, %d successes counted (want %s): %s", r.typ, n, r.counted, op, mark))
	}
	if n, err := l.auditCount(ctx, "token.reuse_detected", 0); err == nil {
		v.lines = append(v.lines, fmt.Sprintf("token.reuse_detected: %d (the tool never reuses a live refresh token; informational)", n))
	}
	if b := l.spoolBytes(); b > 0 {
		v.pass = false
		v.lines = append(v.lines, fmt.Sprintf("audit.spool holds %d bytes of events that never reached the audit store", b))
	}
	return v
}

// noSessionLeft is invariant 3: lacop session list shows no ended session.
func (ck *checker) noSessionLeft(ctx context.Context, l *lacop) verdict {
	v := verdict{name: "3. no session left that should have ended", pass: true}
	ids, err := l.liveSessions(ctx)
	if err != nil {
		v.pass = false
		v.lines = append(v.lines, cell(err.Error()))
		return v
	}
	ck.mu.Lock()
	defer ck.mu.Unlock()
	bad := 0
	for _, id := range ids {
		if how, ok := ck.endedIDs[id]; ok {
			bad++
			if bad <= 10 {
				v.lines = append(v.lines, fmt.Sprintf("VIOLATION: session %s is listed after %s was answered", id, how))
			}
		}
	}
	v.pass = bad == 0
	v.lines = append(v.lines, fmt.Sprintf("%d sessions listed after the run, %d of them ended by the tool (%d ended in all); %d remain signed in",
		len(ids), bad, len(ck.endedIDs), len(ids)-bad))
	return v
}
