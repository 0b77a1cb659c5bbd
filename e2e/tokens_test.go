package e2e

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTokenIssue: POST /api/tokens gives a fully signed-in session an EdDSA
// at+jwt access token whose claims name the portal, the user and the
// session at its auth level, plus a refresh token; the access token alone
// authenticates /api/me as that user and session. No cookie, a bearer token
// instead of a cookie, a cross-site request and a half-signed-in session get
// none.
func TestTokenIssue(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "tok@example.com"
	p.addUser(email)
	secret := p.login(email)
	user, session := p.me(secret)

	wantError(t, "POST /api/tokens without a cookie", p.do(request{method: "POST", path: "/api/tokens"}),
		http.StatusUnauthorized, "unauthenticated")
	cross := p.do(request{method: "POST", path: "/api/tokens", cookie: secret,
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
	wantError(t, "cross-site POST /api/tokens", cross, http.StatusForbidden, "forbidden")

	before := time.Now().Unix()
	first := p.issueTokens(secret)
	after := time.Now().Unix()
	second := p.issueTokens(secret)
	if first.access == second.access || first.refresh == second.refresh {
		t.Errorf("two issues handed out the same token: %+v, %+v", first, second)
	}
	if first.expiresIn != 900 {
		t.Errorf("expiresIn = %d; want 900 (the default access_ttl 15m)", first.expiresIn)
	}
	for _, tok := range []string{first.access, first.refresh} {
		if strings.Contains(tok, secret) {
			t.Errorf("token %q contains the session secret", tok)
		}
	}
	// A stolen access token must not mint itself a long-lived refresh token.
	wantError(t, "POST /api/tokens with a bearer token and no cookie",
		p.do(request{method: "POST", path: "/api/tokens", header: map[string]string{"Authorization": "Bearer " + first.access}}),
		http.StatusUnauthorized, "unauthenticated")

	j := parseJWT(t, first.access)
	if j.header["alg"] != "EdDSA" || j.header["typ"] != "at+jwt" {
		t.Errorf("header = %v; want alg EdDSA, typ at+jwt", j.header)
	}
	if kid, _ := j.header["kid"].(string); kid == "" {
		t.Errorf("header = %v; want a kid", j.header)
	}
	c := j.claims
	iss := p.publicURL()
	if c["iss"] != iss {
		t.Errorf("iss = %v; want the public URL %q", c["iss"], iss)
	}
	wantAudience(t, c["aud"], iss)
	if c["sub"] != user["id"] || c["sid"] != session["id"] {
		t.Errorf("sub, sid = %v, %v; want the user id %v and the public session id %v", c["sub"], c["sid"], user["id"], session["id"])
	}
	if c["sid"] == secret {
		t.Error("sid is the session secret")
	}
	iat, exp := claimInt(t, c, "iat"), claimInt(t, c, "exp")
	if iat < before-1 || iat > after+1 || exp-iat != 900 {
		t.Errorf("iat, exp = %d, %d; want iat about %d and exp 900 s later", iat, exp, before)
	}
	claimInt(t, c, "ver")
	if lvl := claimInt(t, c, "lvl"); lvl != 1 {
		t.Errorf("lvl = %d; want 1 for a password sign-in", lvl)
	}
	jti, _ := c["jti"].(string)
	if jti == "" || jti == parseJWT(t, second.access).claims["jti"] {
		t.Errorf("jti = %q, second token's %v; want two different non-empty ids", jti, parseJWT(t, second.access).claims["jti"])
	}

	res := p.bearerMe("Bearer " + first.access)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("bearer /api/me = %d %s; want 200", res.StatusCode, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("bearer /api/me: Cache-Control = %q; want no-store", cc)
	}
	if sessionCookie(res.Response) != nil {
		t.Errorf("bearer /api/me set a cookie: %v", res.Header["Set-Cookie"])
	}
	body := res.json(t)
	bu, _ := body["user"].(map[string]any)
	bs, _ := body["session"].(map[string]any)
	if bu["id"] != user["id"] || bu["email"] != email || bs["id"] != session["id"] {
		t.Errorf("bearer /api/me = %s; want user %v (%s) and session %v", res.Body, user["id"], email, session["id"])
	}
	if n := len(p.auditLinesFor(session["id"].(string), "--type", "token.issued")); n != 2 {
		t.Errorf("token.issued events for the session = %d; want 2", n)
	}

	// The second factor: half signed in gets nothing, fully signed in gets lvl 2.
	e := p.enrolTOTP(secret)
	half := p.halfLogin(email)
	wantError(t, "POST /api/tokens half signed in", p.do(request{method: "POST", path: "/api/tokens", cookie: half}),
		http.StatusUnauthorized, "second_factor_required")
	full := p.fullLogin(email, e.auth)
	c2 := parseJWT(t, p.issueTokens(full).access).claims
	if lvl := claimInt(t, c2, "lvl"); lvl != 2 {
		t.Errorf("lvl after password and TOTP = %d; want 2", lvl)
	}
	if id := p.sessionID(full); c2["sid"] != id {
		t.Errorf("sid = %v; want the two-factor session %s", c2["sid"], id)
	}
}

// TestJWKS: the key set is public, holds one Ed25519 signing key with no
// private part, names the kid the tokens carry, and that key verifies an
// issued token. Keys live in the data dir: after a restart the same key is
// served and tokens issued before still work.
func TestJWKS(t *testing.T) {
	p := startPortal(t, "")
	p.addUser("jwks@example.com")
	secret := p.login("jwks@example.com")
	keys := p.jwks()
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys; want 1: %+v", len(keys), keys)
	}
	k := keys[0]
	if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.Kid == "" {
		t.Errorf("key = %+v; want kty OKP, crv Ed25519, alg EdDSA, use sig and a kid", k)
	}
	if k.D != "" {
		t.Fatal("the JWKS serves the private key (d)")
	}
	pair := p.issueTokens(secret)
	if kid := parseJWT(t, pair.access).header["kid"]; kid != k.Kid {
		t.Errorf("token kid = %v; want the JWKS key %s", kid, k.Kid)
	}
	verifyEdDSA(t, pair.access, keys)

	p.stop()
	// On the same address: tokens name the portal's URL, which follows it.
	p.cmd = exec.Command(binary, append([]string{"serve", "--listen", strings.TrimPrefix(p.URL, "http://")}, p.dataArgs()...)...)
	p.cmd.Env = cleanEnv()
	q := restart(t, p)
	if again := q.jwks(); len(again) != 1 || again[0].Kid != k.Kid || again[0].X != k.X {
		t.Errorf("JWKS after a restart = %+v; want the same key %+v", again, k)
	}
	q.bearerOK("a token issued before the restart", pair.access)
	q.refreshOK(pair.refresh)
}

// TestJWKSKeyRotation: lacop keys rotate, run beside a serving portal,
// prints the new kid; within seconds the JWKS lists the old and the new key,
// new tokens are signed with the new one, and a token signed before the
// rotation still works.
func TestJWKSKeyRotation(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("rot@example.com")
	secret := p.login("rot@example.com")
	old := p.issueTokens(secret)
	oldKid, _ := parseJWT(t, old.access).header["kid"].(string)

	out := p.cliOK("", "keys", "rotate")
	rotated := time.Now()
	var keys []jwk
	if !waitFor(5*time.Second, func() bool { keys = p.jwks(); return len(keys) == 2 }) {
		t.Fatalf("JWKS 5s after keys rotate: %+v; want two keys", keys)
	}
	t.Logf("the JWKS listed the new key %v after the rotation", time.Since(rotated).Round(time.Millisecond))
	newKid := ""
	hasOld := false
	for _, k := range keys {
		if k.Kid == oldKid {
			hasOld = true
		} else {
			newKid = k.Kid
		}
	}
	if !hasOld || newKid == "" {
		t.Fatalf("JWKS after rotation %+v; want the old key %s and a new one", keys, oldKid)
	}
	if !strings.Contains(out, newKid) {
		t.Errorf("keys rotate printed %q; want the new key id %s", out, newKid)
	}
	var fresh tokenPair
	if !waitFor(time.Until(rotated.Add(5*time.Second)), func() bool {
		fresh = p.issueTokens(secret)
		return parseJWT(t, fresh.access).header["kid"] == newKid
	}) {
		t.Errorf("tokens issued 5s after rotation carry kid %v; want %s", parseJWT(t, fresh.access).header["kid"], newKid)
	}
	verifyEdDSA(t, fresh.access, keys)
	p.bearerOK("a token signed with the new key", fresh.access)
	p.bearerOK("a token signed before the rotation", old.access)
}

// TestOAuthRefresh: a refresh token rotates into a new access token for the
// same user and session and a new refresh token, which rotates in turn; each
// rotation is audited as token.refreshed.
func TestOAuthRefresh(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ref@example.com")
	secret := p.login("ref@example.com")
	sid, uid := p.sessionID(secret), p.userID(secret)
	first := p.issueTokens(secret)
	second := p.refreshOK(first.refresh)
	if second.access == first.access || second.refresh == first.refresh {
		t.Errorf("rotation handed back the same tokens")
	}
	if second.expiresIn != 900 {
		t.Errorf("expires_in = %d; want 900", second.expiresIn)
	}
	c1, c2 := parseJWT(t, first.access).claims, parseJWT(t, second.access).claims
	if c2["sid"] != sid || c2["sub"] != uid || c2["jti"] == c1["jti"] {
		t.Errorf("rotated claims %v; want sid %s, sub %s and a new jti", c2, sid, uid)
	}
	if got := p.bearerOK("rotated access token", second.access); got != sid {
		t.Errorf("rotated access token: /api/me session %q; want %s", got, sid)
	}
	third := p.refreshOK(second.refresh)
	if got := p.bearerOK("twice rotated access token", third.access); got != sid {
		t.Errorf("twice rotated access token: /api/me session %q; want %s", got, sid)
	}
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("the cookie after rotations: /api/me = %d; want 200", got)
	}
	if n := len(p.auditLinesFor(sid, "--type", "token.refreshed")); n != 2 {
		t.Errorf("token.refreshed events = %d; want 2", n)
	}
}

// TestOAuthTokenErrors: /oauth/token answers every bad request with RFC
// 6749's 400 and the right error code (never 500), and none of them spends
// or endangers the refresh token it carried: it still rotates afterwards.
func TestOAuthTokenErrors(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("err@example.com")
	secret := p.login("err@example.com")
	pair := p.issueTokens(secret)
	r := pair.refresh
	// One character changed in the middle: the same shape, another value.
	i := len(r) / 2
	swap := byte('A')
	if r[i] == 'A' {
		swap = 'B'
	}
	tweaked := r[:i] + string(swap) + r[i+1:]

	rows := []struct {
		name string
		form url.Values
		code string
	}{
		{"no parameters", url.Values{}, "invalid_request"},
		{"no grant_type", url.Values{"refresh_token": {r}}, "invalid_request"},
		{"no refresh_token", url.Values{"grant_type": {"refresh_token"}}, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"err@example.com"}, "password": {testPassword}}, "unsupported_grant_type"},
		{"authorization_code grant", url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "redirect_uri": {"https://app.example.com/cb"}}, "unsupported_grant_type"},
		{"client_credentials grant", url.Values{"grant_type": {"client_credentials"}}, "unsupported_grant_type"},
		{"password grant carrying a live refresh token", url.Values{"grant_type": {"password"}, "refresh_token": {r}}, "unsupported_grant_type"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"no-such-token"}}, "invalid_grant"},
		{"refresh token with one character changed", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tweaked}}, "invalid_grant"},
		{"refresh token with a suffix", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r + "x"}}, "invalid_grant"},
		{"access token as refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair.access}}, "invalid_grant"},
		{"non-ASCII and NUL", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ümlaut\x00token"}}, "invalid_grant"},
		{"10 KB refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("A", 10240)}}, "invalid_grant"},
	}
	for _, row := range rows {
		wantOAuthError(t, row.name, p.postForm("/oauth/token", row.form), row.code)
	}
	// An empty value is a missing parameter or a token that matches nothing;
	// either code is fair, but it is a 400.
	res := p.postForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {""}})
	if code, _ := res.json(t)["error"].(string); res.StatusCode != http.StatusBadRequest || (code != "invalid_request" && code != "invalid_grant") {
		t.Errorf("empty refresh_token = %d %s; want 400 invalid_request or invalid_grant", res.StatusCode, res.Body)
	}
	jsonBody := p.do(request{method: "POST", path: "/oauth/token",
		body: map[string]string{"grant_type": "refresh_token", "refresh_token": r}})
	wantOAuthError(t, "JSON body instead of a form", jsonBody, "invalid_request")
	if res := p.do(request{method: "GET", path: "/oauth/token?grant_type=refresh_token&refresh_token=" + url.QueryEscape(r)}); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/token = %d %s; want 405", res.StatusCode, res.Body)
	}

	// None of that touched r or the session; a form with a charset works.
	res = p.do(request{method: "POST", path: "/oauth/token",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
		body:   url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r}}.Encode()})
	if res.StatusCode != http.StatusOK {
		t.Errorf("the refresh token after the bad requests = %d %s; want 200", res.StatusCode, res.Body)
	}
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("the session after the bad requests: /api/me = %d; want 200", got)
	}
}

// TestOAuthRefreshReuse: presenting a spent refresh token (no grace) is
// taken as theft: 400 invalid_grant, and the whole family and its session
// end at once: the cookie, the successor refresh token and every access
// token of the session die, the session's event stream hears
// session-ended/token_reuse, and audit records token.reuse_detected. The
// user's other session is untouched.
func TestOAuthRefreshReuse(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "reuse@example.com"
	p.addUser(email)
	secret, other := p.login(email), p.login(email)
	sid := p.sessionID(secret)
	first := p.issueTokens(secret)
	second := p.refreshOK(first.refresh)
	otherPair := p.issueTokens(other)
	stream, res := p.openEvents(t, secret)
	if stream == nil {
		t.Fatalf("GET /api/events = %d %s", res.StatusCode, res.Body)
	}
	stream.waitConnected()

	p.refreshDead("the spent refresh token presented again", first.refresh)

	ev, ok := stream.nextEvent(5 * time.Second)
	var data struct {
		Reason string `json:"reason"`
	}
	if !ok || ev.name != "session-ended" || json.Unmarshal([]byte(ev.data), &data) != nil || data.Reason != "token_reuse" {
		t.Errorf("the session's stream got %+v (ok %v); want session-ended {\"reason\":\"token_reuse\"}", ev, ok)
	}
	if got := p.meStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("the session's cookie after reuse: /api/me = %d; want 401", got)
	}
	p.refreshDead("the successor refresh token after reuse", second.refresh)
	p.bearerDead("the first access token after reuse", first.access)
	p.bearerDead("the successor access token after reuse", second.access)

	if got := p.meStatus(other); got != http.StatusOK {
		t.Errorf("the user's other session after reuse: /api/me = %d; want 200", got)
	}
	p.bearerOK("the other session's access token", otherPair.access)
	p.refreshOK(otherPair.refresh)
	if n := len(p.auditLinesFor(sid, "--type", "token.reuse_detected")); n < 1 {
		t.Errorf("no token.reuse_detected event for session %s", sid)
	}
}

// TestOAuthRefreshGrace: with tokens.reuse_grace, a client that retries the
// refresh it just spent (its answer was lost) gets the very same answer
// again and nothing ends; a token spent two rotations back is still reuse,
// and so is the just-spent one once the grace has passed.
func TestOAuthRefreshGrace(t *testing.T) {
	t.Run("within grace", func(t *testing.T) {
		p := startPortal(t, "tokens:\n  reuse_grace: 5s\n")
		p.addUser("gra@example.com")
		secret := p.login("gra@example.com")
		sid := p.sessionID(secret)
		first := p.issueTokens(secret)
		second := p.refreshOK(first.refresh)
		retry := p.refreshOK(first.refresh)
		if retry.access != second.access || retry.refresh != second.refresh {
			t.Errorf("retry within grace = %+v; want byte-identical to the first rotation %+v", retry, second)
		}
		if got := p.meStatus(secret); got != http.StatusOK {
			t.Errorf("session after a retry within grace: /api/me = %d; want 200", got)
		}
		third := p.refreshOK(second.refresh)
		p.bearerOK("the successor's access token", third.access)

		p.refreshDead("a refresh token two rotations back, within grace", first.refresh)
		if got := p.meStatus(secret); got != http.StatusUnauthorized {
			t.Errorf("session after reuse of an older token: /api/me = %d; want 401", got)
		}
		p.refreshDead("the latest refresh token after reuse", third.refresh)
		p.bearerDead("the latest access token after reuse", third.access)
		if n := len(p.auditLinesFor(sid, "--type", "token.reuse_detected")); n < 1 {
			t.Errorf("no token.reuse_detected event for session %s", sid)
		}
	})
	t.Run("after grace", func(t *testing.T) {
		p := startPortal(t, "tokens:\n  reuse_grace: 1s\n")
		p.addUser("late@example.com")
		secret := p.login("late@example.com")
		first := p.issueTokens(secret)
		second := p.refreshOK(first.refresh)
		time.Sleep(1300 * time.Millisecond)
		p.refreshDead("the just-spent refresh token after the grace", first.refresh)
		if got := p.meStatus(secret); got != http.StatusUnauthorized {
			t.Errorf("session after reuse past the grace: /api/me = %d; want 401", got)
		}
		p.refreshDead("the successor after reuse past the grace", second.refresh)
	})
}

// TestTokenExpiry: an access token is refused once its exp has passed while
// its refresh token still rotates; a refresh token is refused after
// tokens.refresh_ttl though its session lives on; tokens name the
// configured public_url as issuer and audience. The checks leave a second
// of slack each way, since token times are whole seconds (iat is truncated,
// and may shorten a lifetime by up to a second).
func TestTokenExpiry(t *testing.T) {
	const iss = "https://auth.example.com"
	p := startPortal(t, "public_url: "+iss+"\ntokens:\n  access_ttl: 1s\n  refresh_ttl: 4s\n")
	p.addUser("exp@example.com")
	secret := p.login("exp@example.com")
	a := p.issueTokens(secret)
	b := p.issueTokens(secret) // its refresh token waits out refresh_ttl
	start := time.Now()        // both were issued before this
	if a.expiresIn != 1 {
		t.Errorf("expiresIn = %d; want 1 (access_ttl 1s)", a.expiresIn)
	}
	c := parseJWT(t, a.access).claims
	if c["iss"] != iss {
		t.Errorf("iss = %v; want the configured public_url %s", c["iss"], iss)
	}
	wantAudience(t, c["aud"], iss)
	if d := claimInt(t, c, "exp") - claimInt(t, c, "iat"); d != 1 {
		t.Errorf("exp - iat = %d; want 1", d)
	}
	p.bearerOK("a fresh 1s token", a.access)

	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	p.bearerDead("an access token past its exp", a.access)
	next := p.refreshOK(a.refresh)
	p.bearerOK("an access token refreshed after the old one expired", next.access)

	time.Sleep(time.Until(start.Add(4400 * time.Millisecond)))
	p.refreshDead("a refresh token past refresh_ttl", b.refresh)
	if got := p.meStatus(secret); got != http.StatusOK {
		t.Errorf("session after its tokens expired: /api/me = %d; want 200", got)
	}
}

// TestOAuthRefreshCappedAtSession: a refresh token never outlives its
// session: with a 2s session lifetime, the default 720h refresh_ttl does not
// keep it rotating after the session has ended.
func TestOAuthRefreshCappedAtSession(t *testing.T) {
	p := startPortal(t, "session:\n  inactivity_timeout: 2s\n  lifetime: 2s\n")
	p.addUser("cap@example.com")
	secret := p.login("cap@example.com")
	start := time.Now() // the session was created before this
	first := p.issueTokens(secret)
	time.Sleep(800 * time.Millisecond)
	second := p.refreshOK(first.refresh)
	time.Sleep(time.Until(start.Add(2500 * time.Millisecond)))
	p.refreshDead("a refresh token after its session's lifetime", second.refresh)
	if got := p.meStatus(secret); got != http.StatusUnauthorized {
		t.Errorf("session past its 2s lifetime: /api/me = %d; want 401", got)
	}
}

// TestOAuthRevoke: RFC 7009 revocation. Revoking a refresh token ends its
// family (it, the tokens it was rotated from, and their access tokens), but
// neither the session (it stays signed in and can get new tokens) nor the
// user's other sessions; revoking an access token ends only that token; the
// hint is only a hint (RFC 7009 2.1: the server searches further); unknown,
// malformed and forged tokens get 200 like valid ones and revoke nothing;
// no token is 400 invalid_request. Each case that revokes uses a session
// of its own, so one revocation cannot make another case pass. Whether two
// POST /api/tokens on one session are one family or two is not pinned: lacop
// keeps one family per session (docs/architecture.md).
func TestOAuthRevoke(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "rev@example.com"
	p.addUser(email)
	secret := p.login(email) // the user's other session, which must not notice

	t.Run("refresh token", func(t *testing.T) {
		p := p.forTest(t)
		s := p.login(email)
		bystander := p.issueTokens(secret)
		first := p.issueTokens(s)
		second := p.refreshOK(first.refresh)
		p.revokeOK("the live refresh token", second.refresh, "refresh_token")
		p.refreshDead("a revoked refresh token", second.refresh)
		p.bearerDead("the revoked family's first access token", first.access)
		p.bearerDead("the revoked family's latest access token", second.access)
		if got := p.meStatus(s); got != http.StatusOK {
			t.Errorf("the cookie session after revoking its refresh token: /api/me = %d; want 200", got)
		}
		fresh := p.issueTokens(s)
		p.bearerOK("a token issued after the revocation", fresh.access)
		p.refreshOK(fresh.refresh)
		p.bearerOK("another session's access token", bystander.access)
		p.refreshOK(bystander.refresh)
		p.revokeOK("the same refresh token again", second.refresh, "refresh_token")
	})
	t.Run("access token", func(t *testing.T) {
		p := p.forTest(t)
		s := p.login(email)
		one, two := p.issueTokens(s), p.issueTokens(s)
		p.revokeOK("an access token", one.access, "access_token")
		p.bearerDead("a revoked access token", one.access)
		p.bearerOK("another access token of the session", two.access)
		if got := p.meStatus(s); got != http.StatusOK {
			t.Errorf("the cookie session after revoking an access token: /api/me = %d; want 200", got)
		}
		p.revokeOK("the same access token again", one.access, "")
	})
	t.Run("wrong or no hint", func(t *testing.T) {
		p := p.forTest(t)
		a, b, c := p.issueTokens(p.login(email)), p.issueTokens(p.login(email)), p.issueTokens(p.login(email))
		p.revokeOK("a refresh token hinted as access token", a.refresh, "access_token")
		p.refreshDead("a refresh token revoked under the wrong hint", a.refresh)
		p.revokeOK("an access token hinted as refresh token", b.access, "refresh_token")
		p.bearerDead("an access token revoked under the wrong hint", b.access)
		p.revokeOK("a refresh token without a hint", c.refresh, "")
		p.refreshDead("a refresh token revoked without a hint", c.refresh)
	})
	t.Run("unknown, malformed and forged tokens", func(t *testing.T) {
		p := p.forTest(t)
		live := p.issueTokens(secret)
		// The live token's own claims under an attacker's signature: a
		// server that revoked by jti or sid without verifying would let
		// anyone who knows a session id end it.
		_, attacker, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		j := parseJWT(t, live.access)
		forged := forgeJWT(t, j.header, j.claims, func(in []byte) []byte { return ed25519.Sign(attacker, in) })
		for name, tok := range map[string]string{
			"unknown": "no-such-token", "JWT-shaped garbage": "a.b.c", "10 KB": strings.Repeat("x", 10240),
			"non-ASCII": "ümlaut", "forged with a live token's claims": forged,
		} {
			p.revokeOK(name, tok, "")
			p.revokeOK(name+" hinted", tok, "access_token")
		}
		p.bearerOK("the live token after revoking lookalikes", live.access)
		p.refreshOK(live.refresh)
		if got := p.meStatus(secret); got != http.StatusOK {
			t.Errorf("the session after revoking unknown tokens: /api/me = %d; want 200", got)
		}
	})
	t.Run("no token", func(t *testing.T) {
		wantOAuthError(t, "revoke with no parameters", p.forTest(t).postForm("/oauth/revoke", url.Values{}), "invalid_request")
		wantOAuthError(t, "revoke with only a hint", p.forTest(t).postForm("/oauth/revoke", url.Values{"token_type_hint": {"access_token"}}), "invalid_request")
	})
	// Five live tokens were revoked above (a repeat may or may not count).
	if n := p.auditCount(email, "token.revoked"); n < 5 {
		t.Errorf("token.revoked events = %d; want one for each of the 5 live tokens revoked", n)
	}
}

// dieFixture is one user with two sessions: A acts, B holds tokens.
type dieFixture struct {
	email, a, b, idA, idB string
}

// adopt takes the rotated secret a response gives the acting session A
// (sign out everywhere else, password, email and concern rotate it).
func (f *dieFixture) adopt(res *response) *response {
	if c := sessionCookie(res.Response); c != nil && c.Value != "" {
		f.a = c.Value
	}
	return res
}

// TestTokensDieWithSession: whatever ends a session ends its tokens at once:
// the still-unexpired access token gets 401 on the very next request and the
// refresh token gets invalid_grant. Where the acting session A survives but
// the user's token version is bumped (sign out everywhere else, password or
// email change), A's earlier tokens die too and tokens issued afterwards,
// with A's rotated secret, work; where only B is ended, A's tokens are
// untouched.
func TestTokensDieWithSession(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const (
		work        = "work"
		die         = "die"
		unspecified = ""
	)
	rows := []struct {
		name      string
		act       func(p *portal, f *dieFixture) *response // nil answer for the CLI
		status    int
		aSignedIn bool   // A's cookie still works
		aTokens   string // what becomes of the tokens A held before
	}{
		{"B signs out", func(p *portal, f *dieFixture) *response {
			return p.do(request{method: "POST", path: "/api/logout", cookie: f.b})
		}, 200, true, work},
		{"A ends B", func(p *portal, f *dieFixture) *response {
			return p.do(request{method: "DELETE", path: "/api/sessions/" + f.idB, cookie: f.a})
		}, 204, true, work},
		{"sign out everywhere else", func(p *portal, f *dieFixture) *response {
			return f.adopt(p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.a, body: map[string]any{"keepCurrent": true}}))
		}, 200, true, die},
		{"sign out everywhere", func(p *portal, f *dieFixture) *response {
			return p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: f.a, body: map[string]any{"keepCurrent": false}})
		}, 200, false, die},
		{"password change", func(p *portal, f *dieFixture) *response {
			return f.adopt(p.do(request{method: "POST", path: "/api/account/password", cookie: f.a,
				body: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}}))
		}, 200, true, die},
		{"email change", func(p *portal, f *dieFixture) *response {
			return f.adopt(p.do(request{method: "POST", path: "/api/account/email", cookie: f.a,
				body: map[string]any{"password": testPassword, "newEmail": "new-" + f.email}}))
		}, 200, true, die}, // the contract: the same revocation as a password change
		{"report a concern", func(p *portal, f *dieFixture) *response {
			return f.adopt(p.do(request{method: "POST", path: "/api/account/report-concern", cookie: f.a, body: map[string]any{"note": "not me"}}))
		}, 200, true, unspecified}, // "every other session and token": A's own earlier tokens are not pinned
		{"CLI user disable", func(p *portal, f *dieFixture) *response {
			p.cliOK("", "user", "disable", f.email)
			return nil
		}, 0, false, die},
		{"CLI user passwd", func(p *portal, f *dieFixture) *response {
			p.cliOK(newPassword+"\n", "user", "passwd", f.email, "--password-stdin")
			return nil
		}, 0, false, die},
		{"CLI session revoke ID", func(p *portal, f *dieFixture) *response {
			p.cliOK("", "session", "revoke", f.idB)
			return nil
		}, 0, true, work},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel() // each row has a user of its own
			p := p.forTest(t)
			f := &dieFixture{email: fmt.Sprintf("die%d@example.com", i)}
			p.addUser(f.email)
			f.a, f.b = p.login(f.email), p.login(f.email)
			f.idA, f.idB = p.sessionID(f.a), p.sessionID(f.b)
			ta, tb := p.issueTokens(f.a), p.issueTokens(f.b)
			tb = p.refreshOK(tb.refresh) // a family with a spent member and a live one
			p.bearerOK("B's access token before", tb.access)

			if res := row.act(p, f); res != nil && res.StatusCode != row.status {
				t.Fatalf("%s = %d %s; want %d", row.name, res.StatusCode, res.Body, row.status)
			}
			p.bearerDead("B's access token right after "+row.name, tb.access)
			p.refreshDead("B's refresh token after "+row.name, tb.refresh)

			want := http.StatusUnauthorized
			if row.aSignedIn {
				want = http.StatusOK
			}
			if got := p.meStatus(f.a); got != want {
				t.Errorf("A's cookie after %s: /api/me = %d; want %d", row.name, got, want)
			}
			switch row.aTokens {
			case work:
				if got := p.bearerOK("A's access token", ta.access); got != f.idA {
					t.Errorf("A's access token shows session %q; want %s", got, f.idA)
				}
				p.refreshOK(ta.refresh)
			case die:
				p.bearerDead("A's earlier access token after "+row.name, ta.access)
				p.refreshDead("A's earlier refresh token after "+row.name, ta.refresh)
			}
			if row.aSignedIn {
				fresh := p.issueTokens(f.a)
				if got := p.bearerOK("a token A issued after "+row.name, fresh.access); got != p.sessionID(f.a) {
					t.Errorf("A's new token shows session %q; want A's", got)
				}
				p.refreshOK(fresh.refresh)
			}
		})
	}
}

// TestBearerForwardAuthAfterSignOut: the reverse-proxy check accepts a bearer
// token and refuses it on the very next request after its session signs out.
func TestBearerForwardAuthAfterSignOut(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	const email = "fab@example.com"
	p.addUser(email)
	secret := p.login(email)
	tok := p.issueTokens(secret)
	hdr := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/", "Accept": "application/json",
		"Authorization": "Bearer " + tok.access}
	res := p.do(request{method: "GET", path: "/api/authz/forward-auth", header: hdr})
	if res.StatusCode != http.StatusOK || res.Header.Get("Remote-Email") != email {
		t.Fatalf("forward-auth with a valid bearer token = %d, Remote-Email %q; want 200 and %s",
			res.StatusCode, res.Header.Get("Remote-Email"), email)
	}
	if res := p.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d", res.StatusCode)
	}
	res = p.do(request{method: "GET", path: "/api/authz/forward-auth", header: hdr})
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Remote-User") != "" {
		t.Errorf("forward-auth with a signed-out bearer token = %d, Remote-User %q; want 401 and none",
			res.StatusCode, res.Header.Get("Remote-User"))
	}
}

// TestBearerRejected: /api/me refuses, with 401 unauthenticated and a Bearer
// challenge, every token that is not an untampered one this portal signed:
// other algorithms (none, HS256 keyed with the public key, RS256), keys the
// token brings itself (jwk, jku), altered signatures or claims, another
// instance's token, garbage, and other schemes. Expiry is proved in
// TestTokenExpiry. A wrong typ or aud under a valid signature cannot be
// made from outside (it needs the private key); the accesstoken package's
// unit tests cover those.
func TestBearerRejected(t *testing.T) {
	p := startPortal(t, "")
	other := startPortal(t, "") // another lacop instance, with its own keys
	const email = "vic@example.com"
	p.addUser(email)
	p.addUser("eve@example.com")
	secret := p.login(email)
	eve := p.userID(p.login("eve@example.com"))
	pair := p.issueTokens(secret)
	valid := pair.access
	if p.bearerOK("the untampered token", valid) == "" {
		t.Fatal("the untampered token does not work; nothing below would mean anything")
	}
	other.addUser(email)
	foreign := other.issueTokens(other.login(email)).access

	j := parseJWT(t, valid)
	kid, _ := j.header["kid"].(string)
	keys := p.jwks()
	pub := publicKey(t, keys, kid)
	attackerPub, attacker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(attackerPub)}
	byAttacker := func(in []byte) []byte { return ed25519.Sign(attacker, in) }
	hs256 := func(key []byte) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	garbage := func([]byte) []byte {
		b := make([]byte, 256)
		rand.Read(b)
		return b
	}
	header := func(alg string, extra ...any) map[string]any {
		h := map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == nil {
				delete(h, extra[i].(string))
			} else {
				h[extra[i].(string)] = extra[i+1]
			}
		}
		return h
	}
	parts := strings.Split(valid, ".")
	resigned := func(claims map[string]any) string { // new claims, the real signature
		return parts[0] + "." + segment(t, claims) + "." + parts[2]
	}
	flipped := append([]byte(nil), j.sig...)
	flipped[10] ^= 0x01
	ver := claimInt(t, j.claims, "ver")
	exp := claimInt(t, j.claims, "exp")
	anotherSig := strings.Split(p.issueTokens(secret).access, ".")[2]
	fparts := strings.Split(foreign, ".")
	fj := parseJWT(t, foreign)

	rows := []struct {
		name, authorization string
		challenge           bool // a Bearer token was sent, so a Bearer challenge is due
	}{
		{"alg none", forgeJWT(t, header("none"), j.claims, nil), true},
		{"alg NONE", forgeJWT(t, header("NONE"), j.claims, nil), true},
		{"alg none, two segments", segment(t, header("none")) + "." + parts[1], true},
		{"alg none with the real signature", segment(t, header("none")) + "." + parts[1] + "." + parts[2], true},
		{"HS256 keyed with the public key", forgeJWT(t, header("HS256"), j.claims, hs256(pub)), true},
		{"HS256 keyed with the JWKS x text", forgeJWT(t, header("HS256"), j.claims, hs256([]byte(b64.EncodeToString(pub)))), true},
		{"RS256 with a garbage signature", forgeJWT(t, header("RS256"), j.claims, garbage), true},
		{"embedded jwk, kid its thumbprint", forgeJWT(t, header("EdDSA", "jwk", attackerJWK, "kid", thumbprint(attackerPub)), j.claims, byAttacker), true},
		{"embedded jwk, the real kid", forgeJWT(t, header("EdDSA", "jwk", attackerJWK), j.claims, byAttacker), true},
		{"embedded jwk, no kid", forgeJWT(t, header("EdDSA", "jwk", attackerJWK, "kid", nil), j.claims, byAttacker), true},
		{"jku to another server", forgeJWT(t, header("EdDSA", "jku", "http://127.0.0.1:1/jwks", "kid", thumbprint(attackerPub)), j.claims, byAttacker), true},
		{"the real kid, another key", forgeJWT(t, header("EdDSA"), j.claims, byAttacker), true},
		{"one signature byte flipped", parts[0] + "." + parts[1] + "." + b64.EncodeToString(flipped), true},
		{"signature of another real token", parts[0] + "." + parts[1] + "." + anotherSig, true},
		{"no signature", parts[0] + "." + parts[1] + ".", true},
		{"real token with a trailing character", valid + "A", true},
		{"sub changed to another user", resigned(withClaim(j.claims, "sub", eve)), true},
		{"ver raised", resigned(withClaim(j.claims, "ver", ver+1)), true},
		{"ver lowered", resigned(withClaim(j.claims, "ver", ver-1)), true},
		{"lvl raised", resigned(withClaim(j.claims, "lvl", 2)), true},
		{"exp a year later", resigned(withClaim(j.claims, "exp", exp+365*24*3600)), true},
		{"another instance's token", foreign, true},
		{"another instance's token relabelled with our kid", segment(t, withClaim(fj.header, "kid", kid)) + "." + fparts[1] + "." + fparts[2], true},
		{"garbage", "garbage", true},
		{"three empty segments", "..", true},
		{"JWT-shaped garbage", "eyJ.eyJ.sig", true},
		{"10 KB token", strings.Repeat("A", 10240), true},
		{"10 KB payload", parts[0] + "." + strings.Repeat("A", 10240) + "." + parts[2], true},
	}
	for _, row := range rows {
		wantBearerRefused(t, row.name, p.bearerMe("Bearer "+row.authorization), row.challenge)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + testPassword))
	for name, authorization := range map[string]string{
		"Basic with the right password": "Basic " + basic,
		"the token with no scheme":      valid,
	} {
		wantBearerRefused(t, name, p.bearerMe(authorization), false)
	}
	// A Bearer header with no token is a malformed request (RFC 6750 3.1).
	wantError(t, "Bearer with no token", p.bearerMe("Bearer"), http.StatusBadRequest, "invalid_request")
	// RFC 6750 2.3 query tokens are not accepted: they leak into logs and
	// Referer headers.
	wantBearerRefused(t, "access_token in the query",
		p.do(request{method: "GET", path: "/api/me?access_token=" + url.QueryEscape(valid)}), false)

	p.bearerOK("the untampered token after the forgeries", valid)
}

// TestTokensNeverLogged: issuing, using, refreshing, revoking and reusing
// tokens, with debug logging on, puts no access token, no refresh token and
// no JWT signature into the portal's output, the audit log or the user's
// activity, while the audit log does record each kind of token event.
func TestTokensNeverLogged(t *testing.T) {
	p := startPortal(t, "log:\n  level: debug\n")
	const email = "log@example.com"
	p.addUser(email)
	secret := p.login(email)
	a := p.issueTokens(secret)
	b := p.refreshOK(a.refresh)
	p.bearerOK("a rotated token", b.access)
	c := p.issueTokens(p.login(email)) // revoking its refresh token ends its session's family, not a's
	p.revokeOK("an access token", c.access, "access_token")
	p.bearerDead("a revoked access token", c.access)
	p.revokeOK("a refresh token", c.refresh, "refresh_token")
	p.refreshDead("a revoked refresh token", c.refresh)
	wantBearerRefused(t, "a tampered token", p.bearerMe("Bearer "+b.access+"A"), true)
	_, act := p.activity(secret, "")
	p.refreshDead("a spent refresh token", a.refresh) // reuse: ends the session
	p.bearerDead("an access token of the ended session", b.access)
	time.Sleep(100 * time.Millisecond) // let the last log lines land

	places := map[string]string{
		"portal output": p.out.String(),
		"lacop audit":   p.auditOutput("--limit", "10000"),
		"activity":      string(act.Body),
	}
	var needles []string
	for _, pair := range []tokenPair{a, b, c} {
		needles = append(needles, pair.access, pair.refresh, pair.access[strings.LastIndex(pair.access, ".")+1:])
		for _, part := range strings.Split(pair.refresh, ".") {
			if len(part) >= 16 {
				needles = append(needles, part)
			}
		}
	}
	for where, text := range places {
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s contains token material %q", where, n)
			}
		}
	}
	for _, typ := range []string{"token.issued", "token.refreshed", "token.revoked", "token.reuse_detected"} {
		if p.auditCount(email, typ) < 1 {
			t.Errorf("lacop audit has no %s event for %s", typ, email)
		}
	}
}
