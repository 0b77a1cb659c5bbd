package e2e

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/passkey/passkeytest"
)

// Passkeys over HTTP, with passkeytest's software authenticator in place
// of a browser: everything a browser test cannot bend (origins, RP IDs,
// challenges, counters) is bent here.

// passkeyConfig lets the refusals below be many without a ban (throttling
// is checked on its own).
const passkeyConfig = "public_url: https://auth.example.com\nregulation:\n  max_failures: 100\n  max_failures_per_ip: 100\n"
const passkeyOrigin = "https://auth.example.com"

const ceremonyCookieName = "__Host-lacop_passkey"

// ceremony is one passkey ceremony begun: the options the browser got and
// the cookie that names it.
type ceremony struct {
	opts   []byte
	cookie string
}

// beginCeremony posts to an options endpoint and returns the options and
// the ceremony cookie.
func beginCeremony(t *testing.T, p *portal, path, session string, body any) ceremony {
	t.Helper()
	res := p.do(request{method: "POST", path: path, cookie: session, body: body})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s; want 200", path, res.StatusCode, res.Body)
	}
	for _, c := range res.Cookies() {
		if c.Name == ceremonyCookieName && c.Value != "" {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("ceremony cookie %+v; want HttpOnly, Secure, SameSite=Strict", c)
			}
			leaks.secret("passkey ceremony", c.Value)
			return ceremony{opts: res.Body, cookie: c.Value}
		}
	}
	t.Fatalf("POST %s set no ceremony cookie: %v", path, res.Header["Set-Cookie"])
	return ceremony{}
}

// finishCeremony posts an answer with the ceremony's cookie.
func finishCeremony(p *portal, method, path, session string, cer ceremony, body map[string]any) *response {
	p.t.Helper()
	h := map[string]string{}
	if cer.cookie != "" {
		h["Cookie"] = ceremonyCookieName + "=" + cer.cookie
	}
	return p.do(request{method: method, path: path, cookie: session, body: body, header: h})
}

// addPasskey registers a passkey from a for the session's person and
// returns its id. A session at one factor rises with it, under a new
// secret: *session is updated.
func addPasskey(t *testing.T, p *portal, session *string, a *passkeytest.Authenticator, name string) (string, *passkeytest.Credential) {
	t.Helper()
	cer := beginCeremony(t, p, "/api/account/passkeys/options", *session, map[string]any{"password": testPassword})
	answer, cred, err := a.Register(cer.opts, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	res := finishCeremony(p, "POST", "/api/account/passkeys", *session, cer, map[string]any{"name": name, "credential": json.RawMessage(answer)})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register passkey: %d %s", res.StatusCode, res.Body)
	}
	if c := sessionCookie(res.Response); c != nil {
		*session = c.Value
	}
	var got struct {
		Passkey struct{ ID, Name string }
	}
	if err := json.Unmarshal(res.Body, &got); err != nil || got.Passkey.ID == "" || got.Passkey.Name != name {
		t.Fatalf("register passkey answered %s; want the passkey named %q", res.Body, name)
	}
	return got.Passkey.ID, cred
}

// passkeyLogin signs in without a password and returns the response.
func passkeyLogin(t *testing.T, p *portal, a *passkeytest.Authenticator, c *passkeytest.Credential, ch passkeytest.Ceremony) *response {
	t.Helper()
	cer := beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	answer, err := a.Assert(cer.opts, c, ch)
	if err != nil {
		t.Fatal(err)
	}
	return finishCeremony(p, "POST", "/api/passkeys/login", "", cer, map[string]any{"credential": json.RawMessage(answer)})
}

// signedIn returns the session secret a sign-in response set, failing
// unless it answered 200 at level 2.
func signedIn(t *testing.T, res *response) string {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("passkey sign-in = %d %s; want 200", res.StatusCode, res.Body)
	}
	if lvl := res.json(t)["authLevel"]; lvl != float64(2) {
		t.Errorf("passkey sign-in at level %v; want 2", lvl)
	}
	c := sessionCookie(res.Response)
	if c == nil {
		t.Fatal("passkey sign-in set no session cookie")
	}
	return c.Value
}

// TestPasskeys: register behind the password, sign in without one, use a
// passkey as the second factor after one, and remove a passkey: exactly
// the sessions it signed in end, with their tokens, and others stay.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	p := startPortal(t, passkeyConfig)
	const ada = "ada@example.com"
	p.addUser(ada)
	first := p.login(ada)

	// The password guards registration.
	res := p.do(request{method: "POST", path: "/api/account/passkeys/options", cookie: first, body: map[string]any{"password": "wrong"}})
	if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden {
		t.Errorf("registration options with a wrong password = %d; want 401/403", res.StatusCode)
	}
	laptop := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	phone := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	laptopID, laptopCred := addPasskey(t, p, &first, laptop, "Laptop")
	// The second is added behind the first passkey instead of the
	// password: a confirm ceremony, answered by the laptop.
	conf := beginCeremony(t, p, "/api/account/passkeys/confirm/options", first, nil)
	answer, err := laptop.Assert(conf.opts, laptopCred, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	// A sign-in ceremony's answer does not confirm anything.
	login := beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	wrong, _ := laptop.Assert(login.opts, laptopCred, passkeytest.Ceremony{})
	if res := finishCeremony(p, "POST", "/api/account/passkeys/options", first, login, map[string]any{"credential": json.RawMessage(wrong)}); res.StatusCode == http.StatusOK {
		t.Errorf("a sign-in ceremony's answer confirmed adding a passkey: %d", res.StatusCode)
	}
	res = finishCeremony(p, "POST", "/api/account/passkeys/options", first, conf, map[string]any{"credential": json.RawMessage(answer)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("registration options behind a passkey = %d %s; want 200", res.StatusCode, res.Body)
	}
	var regCookie string
	for _, c := range res.Cookies() {
		if c.Name == ceremonyCookieName && c.Value != "" {
			regCookie = c.Value
		}
	}
	reg := ceremony{opts: res.Body, cookie: regCookie}
	regAnswer, phoneCred, err := phone.Register(reg.opts, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	res = finishCeremony(p, "POST", "/api/account/passkeys", first, reg, map[string]any{"name": "Phone", "credential": json.RawMessage(regAnswer)})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register the phone behind the laptop's passkey: %d %s", res.StatusCode, res.Body)
	}
	phoneID, _ := res.json(t)["passkey"].(map[string]any)["id"].(string)

	list := p.do(request{method: "GET", path: "/api/account/passkeys", cookie: first})
	var listed struct {
		Passkeys []struct {
			ID, Name   string
			CreatedAt  time.Time
			LastUsedAt *time.Time
		}
	}
	if err := json.Unmarshal(list.Body, &listed); err != nil || len(listed.Passkeys) != 2 || listed.Passkeys[0].Name != "Laptop" ||
		listed.Passkeys[0].CreatedAt.IsZero() || listed.Passkeys[0].LastUsedAt == nil || listed.Passkeys[1].LastUsedAt != nil {
		t.Fatalf("passkeys listed %s; want Laptop (used to confirm) then Phone (never used)", list.Body)
	}
	if strings.Contains(string(list.Body), "publicKey") || strings.Contains(string(list.Body), "credential") {
		t.Errorf("the list shows key material: %s", list.Body)
	}

	// Without a password, with either passkey.
	viaLaptop := signedIn(t, passkeyLogin(t, p, laptop, laptopCred, passkeytest.Ceremony{}))
	viaPhone := signedIn(t, passkeyLogin(t, p, phone, phoneCred, passkeytest.Ceremony{}))

	// After a password the session owes its second factor, and a passkey
	// pays it under a fresh secret.
	res = p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": ada, "password": testPassword}})
	if res.StatusCode != http.StatusOK || res.json(t)["secondFactorRequired"] != true {
		t.Fatalf("password sign-in with passkeys = %d %s; want secondFactorRequired", res.StatusCode, res.Body)
	}
	half := sessionCookie(res.Response).Value
	if got := p.meStatus(half); got == http.StatusOK {
		t.Errorf("/api/me of a half-signed-in session = %d; want refused", got)
	}
	cer := beginCeremony(t, p, "/api/login/second-factor/passkey/options", half, nil)
	answer, err = laptop.Assert(cer.opts, laptopCred, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	res = finishCeremony(p, "POST", "/api/login/second-factor/passkey", half, cer, map[string]any{"credential": json.RawMessage(answer)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("passkey as second factor = %d %s", res.StatusCode, res.Body)
	}
	stepped := sessionCookie(res.Response).Value
	if stepped == half || p.meStatus(stepped) != http.StatusOK || p.meStatus(half) == http.StatusOK {
		t.Errorf("after the passkey step: new secret %v, it works %d, the old one %d; want a fresh working secret and the old dead",
			stepped != half, p.meStatus(stepped), p.meStatus(half))
	}
	// A token of a session the laptop signed in.
	tok := p.do(request{method: "POST", path: "/api/tokens", cookie: viaLaptop})
	if tok.StatusCode != http.StatusOK {
		t.Fatalf("tokens: %d %s", tok.StatusCode, tok.Body)
	}
	access := tok.json(t)["accessToken"].(string)
	leaks.secret("access token", access)

	// The person is told what removing the laptop's passkey ends.
	res = p.do(request{method: "GET", path: "/api/account/passkeys/" + laptopID + "/sessions", cookie: first})
	var ending struct{ Sessions []struct{ ID string } }
	if err := json.Unmarshal(res.Body, &ending); err != nil || len(ending.Sessions) != 2 {
		t.Fatalf("sessions the laptop's passkey signed in: %s; want 2 (its sign-in and its second factor)", res.Body)
	}
	res = p.do(request{method: "DELETE", path: "/api/account/passkeys/" + laptopID, cookie: first, body: map[string]any{"password": testPassword}})
	if res.StatusCode != http.StatusOK || res.json(t)["ended"] != float64(2) {
		t.Fatalf("remove the laptop's passkey = %d %s; want 200, 2 ended", res.StatusCode, res.Body)
	}
	for name, s := range map[string]string{"signed in with it": viaLaptop, "second factor with it": stepped} {
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("session %s after removal: /api/me = %d; want 401", name, got)
		}
	}
	for name, s := range map[string]string{"password session": first, "signed in with the phone": viaPhone} {
		if got := p.meStatus(s); got != http.StatusOK {
			t.Errorf("session %s after removal: /api/me = %d; want 200", name, got)
		}
	}
	if got := p.do(request{method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Bearer " + access}}).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("access token of a session the removed passkey signed in = %d; want 401", got)
	}
	// The removed passkey signs in no more.
	if res := passkeyLogin(t, p, laptop, laptopCred, passkeytest.Ceremony{}); res.StatusCode == http.StatusOK {
		t.Errorf("sign-in with a removed passkey = %d; want refused", res.StatusCode)
	}
	ev := strings.Join(p.auditEvents("--user", ada), "\n")
	if all := p.auditOutput(); !strings.Contains(all, "passkey.failed") || !strings.Contains(all, "unknown_passkey") {
		t.Errorf("the refused sign-in with a removed passkey is not in the audit:\n%s", all)
	}
	for _, want := range []string{"passkey.registered", "passkey.removed", "second_factor.succeeded"} {
		if !strings.Contains(ev, want) {
			t.Errorf("audit has no %s:\n%s", want, ev)
		}
	}
	if !strings.Contains(ev, "passkey_removed") {
		t.Errorf("the ended sessions' audit events do not say passkey_removed:\n%s", ev)
	}

	// reset-2fa removes every passkey and ends every session.
	if out, err := p.cli("", "user", "reset-2fa", ada); err != nil {
		t.Fatalf("reset-2fa: %v\n%s", err, out)
	}
	if p.meStatus(viaPhone) != http.StatusUnauthorized {
		t.Error("a passkey session survived reset-2fa")
	}
	if res := passkeyLogin(t, p, phone, phoneCred, passkeytest.Ceremony{}); res.StatusCode == http.StatusOK {
		t.Errorf("sign-in with a passkey after reset-2fa = %d; want refused", res.StatusCode)
	}
	if res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": ada, "password": testPassword}}); res.json(t)["secondFactorRequired"] != false {
		t.Errorf("after reset-2fa the password sign-in still owes a second factor: %s", res.Body)
	}
	_ = phoneID
}

// TestPasskeyRefusals: what a browser cannot be made to send, the server
// refuses anyway — another origin, another RP ID, a replayed or foreign or
// expired challenge, a credential of another person, no user verification
// for a sign-in without a password, a counter that goes back.
func TestPasskeyRefusals(t *testing.T) {
	t.Parallel()
	p := startPortal(t, passkeyConfig)
	const ada, bob = "ada@example.com", "bob@example.com"
	p.addUser(ada)
	p.addUser(bob)
	adaKey := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	bobKey := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	adaSession, bobSession := p.login(ada), p.login(bob)
	_, adaCred := addPasskey(t, p, &adaSession, adaKey, "Ada's key")
	_, bobCred := addPasskey(t, p, &bobSession, bobKey, "Bob's key")

	refused := func(name string, res *response) {
		t.Helper()
		if res.StatusCode == http.StatusOK || sessionCookie(res.Response) != nil && sessionCookie(res.Response).Value != "" {
			t.Errorf("%s: %d %s; want refused without a session", name, res.StatusCode, res.Body)
		}
	}
	refused("another origin", passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{Origin: "https://evil.example.net"}))
	refused("a sibling's origin", passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{Origin: "https://app.example.com"}))
	refused("another RP ID", passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{RPID: "evil.example.net"}))
	refused("a challenge never issued", passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{Challenge: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))
	adaKey.UserVerified = false
	refused("no user verification without a password", passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{}))
	adaKey.UserVerified = true

	// Replayed: the same answer with the same ceremony, after it worked.
	cer := beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	answer, err := adaKey.Assert(cer.opts, adaCred, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"credential": json.RawMessage(answer)}
	signedIn(t, finishCeremony(p, "POST", "/api/passkeys/login", "", cer, body))
	refused("a replayed answer", finishCeremony(p, "POST", "/api/passkeys/login", "", cer, body))
	refused("an answer without its ceremony cookie", finishCeremony(p, "POST", "/api/passkeys/login", "", ceremony{}, body))

	// A credential of another person, claimed for Ada (user handle bent).
	cer = beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	bobCred.UserHandle = adaCred.UserHandle
	answer, _ = bobKey.Assert(cer.opts, bobCred, passkeytest.Ceremony{})
	refused("Bob's key with Ada's handle", finishCeremony(p, "POST", "/api/passkeys/login", "", cer, map[string]any{"credential": json.RawMessage(answer)}))

	// The second factor's challenge belongs to the session that asked.
	halfOf := func(email string) string {
		res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": email, "password": testPassword}})
		return sessionCookie(res.Response).Value
	}
	adaHalf, adaHalf2 := halfOf(ada), halfOf(ada)
	cer = beginCeremony(t, p, "/api/login/second-factor/passkey/options", adaHalf, nil)
	answer, _ = adaKey.Assert(cer.opts, adaCred, passkeytest.Ceremony{})
	refused("a challenge of another session", finishCeremony(p, "POST", "/api/login/second-factor/passkey", adaHalf2, cer, map[string]any{"credential": json.RawMessage(answer)}))
	// Bob's key as Ada's second factor.
	cer = beginCeremony(t, p, "/api/login/second-factor/passkey/options", adaHalf, nil)
	answer, _ = bobKey.Assert(cer.opts, bobCred, passkeytest.Ceremony{})
	refused("another person's passkey as second factor", finishCeremony(p, "POST", "/api/login/second-factor/passkey", adaHalf, cer, map[string]any{"credential": json.RawMessage(answer)}))
	// A login ceremony is not a second-factor ceremony.
	cer = beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	answer, _ = adaKey.Assert(cer.opts, adaCred, passkeytest.Ceremony{})
	refused("a sign-in ceremony used as second factor", finishCeremony(p, "POST", "/api/login/second-factor/passkey", adaHalf, cer, map[string]any{"credential": json.RawMessage(answer)}))

	// Expired: the ceremony's row says so (5 minutes are not waited for).
	cer = beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	answer, _ = adaKey.Assert(cer.opts, adaCred, passkeytest.Ceremony{})
	db, err := sql.Open("sqlite", "file:"+filepath.Join(p.DataDir, "lacop.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE links SET expires_at = ? WHERE kind = 'passkey_ceremony'`, time.Now().Add(-time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	refused("an expired challenge", finishCeremony(p, "POST", "/api/passkeys/login", "", cer, map[string]any{"credential": json.RawMessage(answer)}))

	// A counter that goes back: a copy of the key. Refused, recorded, and
	// the sessions the passkey signed in end.
	live := signedIn(t, passkeyLogin(t, p, adaKey, adaCred, passkeytest.Ceremony{}))
	cer = beginCeremony(t, p, "/api/passkeys/login/options", "", nil)
	answer, _ = adaKey.AssertCount(cer.opts, adaCred, 1, passkeytest.Ceremony{})
	refused("a counter that went back", finishCeremony(p, "POST", "/api/passkeys/login", "", cer, map[string]any{"credential": json.RawMessage(answer)}))
	if got := p.meStatus(live); got != http.StatusUnauthorized {
		t.Errorf("a session of the cloned passkey after the clone was seen: /api/me = %d; want 401", got)
	}
	ev := p.auditEvents("--user", ada)
	if !slices.ContainsFunc(ev, func(l string) bool { return strings.Contains(l, "passkey.clone_suspected") }) {
		t.Errorf("no passkey.clone_suspected in the audit:\n%s", strings.Join(ev, "\n"))
	}
	if !slices.ContainsFunc(ev, func(l string) bool { return strings.Contains(l, "passkey_cloned") }) {
		t.Errorf("the ended session's event does not say passkey_cloned:\n%s", strings.Join(ev, "\n"))
	}
	// Every refusal above was a passkey.failed, counted like wrong codes.
	if n := strings.Count(strings.Join(ev, "\n"), "passkey.failed"); n < 8 {
		t.Errorf("%d passkey.failed events for Ada; want one per refusal (at least 8)", n)
	}
}

// TestPasskeyAppsSeeHowSignedIn: an app's ID token says how the person
// signed in (RFC 8176 amr): a passkey alone, a password then a passkey, a
// password then a code, a password alone.
func TestPasskeyAppsSeeHowSignedIn(t *testing.T) {
	t.Parallel()
	app := newApp("alpha")
	p := startPortal(t, passkeyConfig+oidcConfig("", app))
	rp := discoverPortal(t, p).rp(t, app)
	const ada, bob = "ada@example.com", "bob@example.com"
	p.addUser(ada)
	p.addUser(bob)
	key := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	s := p.login(ada)
	addPasskey(t, p, &s, key, "Key")

	half := p.login(ada)
	cer := beginCeremony(t, p, "/api/login/second-factor/passkey/options", half, nil)
	answer, err := key.Assert(cer.opts, nil, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	res := finishCeremony(p, "POST", "/api/login/second-factor/passkey", half, cer, map[string]any{"credential": json.RawMessage(answer)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("passkey second factor: %d %s", res.StatusCode, res.Body)
	}
	for _, tt := range []struct {
		name, session string
		wantACR       string
		wantAMR       []any
	}{
		{"a passkey alone", signedIn(t, passkeyLogin(t, p, key, nil, passkeytest.Ceremony{})), "two_factor", []any{"hwk", "user", "mfa"}},
		{"a password, then a passkey", sessionCookie(res.Response).Value, "two_factor", []any{"pwd", "hwk", "mfa"}},
		{"a password alone", p.login(bob), "one_factor", []any{"pwd"}},
	} {
		b := newRPBrowser(t, p.URL, "")
		b.public = passkeyOrigin // the issuer's address reaches this portal
		b.adopt(tt.session)
		ar := rp.authorize(t, b, authParams{})
		if len(ar.pages) != 0 {
			t.Errorf("%s: the app's sign-in showed %v; want no page (signed in already)", tt.name, ar.pages)
			continue
		}
		got := rp.exchange(t, ar)
		if got.claims["acr"] != tt.wantACR || !slices.Equal(anySlice(got.claims["amr"]), tt.wantAMR) {
			t.Errorf("%s: acr, amr = %v, %v; want %s, %v", tt.name, got.claims["acr"], got.claims["amr"], tt.wantACR, tt.wantAMR)
		}
	}
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestPasskeyPasswordReset: a reset link alone does not take over an
// account whose second factor is a passkey: the passkey is asked, bound to
// that link, and then every session ends as for any reset.
func TestPasskeyPasswordReset(t *testing.T) {
	t.Parallel()
	p := startPortal(t, passkeyConfig)
	const ada = "ada@example.com"
	p.addUser(ada)
	key := &passkeytest.Authenticator{Origin: passkeyOrigin, UserVerified: true}
	s := p.login(ada)
	_, cred := addPasskey(t, p, &s, key, "Key")
	viaKey := signedIn(t, passkeyLogin(t, p, key, cred, passkeytest.Ceremony{}))

	link := func() string {
		out := p.cliOK("", "user", "reset-link", ada)
		m := resetLink.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("lacop user reset-link printed %q; want a link", out)
		}
		leaks.secret("reset link token", m[1])
		return m[1]
	}
	first := link()
	if res := completeReset(p, first, "a-new-long-password-1", nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "passkey") {
		t.Errorf("reset without the passkey = %d %s; want 400 asking for it", res.StatusCode, res.Body)
	}
	// A ceremony begun for another link does not serve this one.
	other := link() // voids the first
	cerOther := beginCeremony(t, p, "/api/password-reset/passkey/options", "", map[string]any{"token": other})
	answer, _ := key.Assert(cerOther.opts, cred, passkeytest.Ceremony{})
	third := link()
	res := finishCeremony(p, "POST", "/api/password-reset/complete", "", cerOther,
		map[string]any{"token": third, "newPassword": "a-new-long-password-1", "credential": json.RawMessage(answer)})
	if res.StatusCode == http.StatusOK {
		t.Errorf("a passkey ceremony of another link completed this one: %d %s", res.StatusCode, res.Body)
	}
	cer := beginCeremony(t, p, "/api/password-reset/passkey/options", "", map[string]any{"token": third})
	answer, _ = key.Assert(cer.opts, cred, passkeytest.Ceremony{})
	res = finishCeremony(p, "POST", "/api/password-reset/complete", "", cer,
		map[string]any{"token": third, "newPassword": "a-new-long-password-1", "credential": json.RawMessage(answer)})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reset with the passkey = %d %s; want 200", res.StatusCode, res.Body)
	}
	for name, sec := range map[string]string{"password session": s, "passkey session": viaKey} {
		if got := p.meStatus(sec); got != http.StatusUnauthorized {
			t.Errorf("%s after the reset: /api/me = %d; want 401", name, got)
		}
	}
	// The new password works, and still owes the passkey.
	res = p.do(request{method: "POST", path: "/api/login", body: map[string]any{"email": ada, "password": "a-new-long-password-1"}})
	if res.StatusCode != http.StatusOK || res.json(t)["secondFactorRequired"] != true {
		t.Errorf("sign-in with the new password = %d %s; want 200 owing the passkey", res.StatusCode, res.Body)
	}
}
