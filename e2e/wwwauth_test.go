package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// parseChallenge reads a WWW-Authenticate value holding one challenge
// (RFC 9110 11.6.1): the scheme and its auth-params, quoted strings
// unquoted. ok is false for anything that does not parse.
func parseChallenge(v string) (scheme string, params map[string]string, ok bool) {
	scheme, rest, _ := strings.Cut(v, " ")
	params = map[string]string{}
	rest = strings.TrimLeft(rest, " ")
	for rest != "" {
		name, after, found := strings.Cut(rest, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !found || name == "" || strings.ContainsAny(name, " ,\"") {
			return "", nil, false
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return "", nil, false
			}
			value, rest = after[1:1+end], after[2+end:]
		} else {
			value, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		if _, dup := params[name]; dup {
			return "", nil, false
		}
		params[name] = value
		rest = strings.TrimLeft(rest, " ")
		if rest == "" || rest == "," {
			break
		}
		if rest[0] != ',' {
			return "", nil, false
		}
		rest = strings.TrimLeft(rest[1:], " ")
	}
	return scheme, params, scheme != ""
}

// wantChallenge checks that a 401 or 400 carries exactly one WWW-Authenticate
// Bearer challenge for realm "lacop" whose error is code ("" for none: RFC
// 6750 3.1 says a request with no credentials gets no error code), with
// error_description only beside an error.
func wantChallenge(t *testing.T, what string, res *response, code string) {
	t.Helper()
	all := res.Header.Values("WWW-Authenticate")
	if len(all) != 1 {
		t.Errorf("%s: WWW-Authenticate %q; want one Bearer challenge", what, all)
		return
	}
	scheme, params, ok := parseChallenge(all[0])
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		t.Errorf("%s: WWW-Authenticate %q; want a Bearer challenge", what, all[0])
		return
	}
	if params["realm"] != "lacop" {
		t.Errorf("%s: WWW-Authenticate %q; want realm=\"lacop\"", what, all[0])
	}
	if params["error"] != code {
		t.Errorf("%s: WWW-Authenticate %q: error %q; want %q", what, all[0], params["error"], code)
	}
	if _, described := params["error_description"]; described && code == "" {
		t.Errorf("%s: WWW-Authenticate %q: error_description without an error", what, all[0])
	}
}

// TestUnauthorizedChallenges: every 401, from the API and from the pages
// (a wrong password on the login form), carries a Bearer challenge (RFC
// 9110 15.5.2: a 401 without one is malformed); one for a request with no
// credentials has no error code, one for a bad token says invalid_token.
func TestUnauthorizedChallenges(t *testing.T) {
	p := startPortal(t, "")
	const email = "chal@example.com"
	p.addUser(email)
	secret := p.login(email)
	pair := p.issueTokens(secret)
	p.addUser("chal2fa@example.com")
	half := func() string {
		p.enrolTOTP(p.login("chal2fa@example.com"))
		return p.halfLogin("chal2fa@example.com")
	}()

	refusals := []request{
		{method: "GET", path: "/api/me"},
		{method: "GET", path: "/api/sessions"},
		{method: "GET", path: "/api/events"},
		{method: "GET", path: "/api/account/activity"},
		{method: "POST", path: "/api/tokens"},
		{method: "POST", path: "/api/sessions/revoke-all", body: map[string]any{}},
		{method: "GET", path: "/api/admin/users"},
		{method: "GET", path: "/api/me", cookie: strings.Repeat("A", 43)}, // a cookie of no session
		{method: "GET", path: "/api/me", cookie: half},                    // owes the second factor
		{method: "POST", path: "/api/login", body: map[string]any{"email": email, "password": "not-the-password"}},
		{method: "POST", path: "/api/login/second-factor", cookie: half, body: map[string]any{"code": "000000"}},
		// Pages answer a wrong password or code 401 too.
		{method: "POST", path: "/login", header: formHeader, body: "email=" + email + "&password=not-the-password"},
		{method: "POST", path: "/login/second-factor", cookie: half, header: formHeader, body: "code=000000"},
	}
	for _, r := range refusals {
		res := p.do(r)
		what := r.method + " " + r.path
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s = %d %s; want 401", what, res.StatusCode, res.Body)
			continue
		}
		wantChallenge(t, what, res, "")
	}
	wantForwardRefused(t, "forward-auth with no credentials", p.forwardAuth("GET", "https://app.example.com/", acceptJSON), "")
	res := p.authRequest("GET", "https://app.example.com/", nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("auth-request with no credentials = %d; want 401", res.StatusCode)
	}
	wantChallenge(t, "auth-request with no credentials", res, "")

	bad := pair.access + "A"
	res = p.bearerMe("Bearer " + bad)
	wantBearerRefused(t, "/api/me with a bad token", res, true)
	wantChallenge(t, "/api/me with a bad token", res, "invalid_token")
	for name, header := range map[string]map[string]string{
		"a bad token":                           bearerHeader(bad),
		"a bad token, from a browser":           mergeHeaders(bearerHeader(bad), acceptHTML),
		"a bad token and a live session cookie": mergeHeaders(bearerHeader(bad), cookieHeader(cookieName, secret)),
	} {
		wantForwardRefused(t, "forward-auth with "+name, p.forwardAuth("GET", "https://app.example.com/", header), "invalid_token")
		res := p.authRequest("GET", "https://app.example.com/", header)
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Remote-User") != "" {
			t.Errorf("auth-request with %s = %d; want 401", name, res.StatusCode)
		}
		wantChallenge(t, "auth-request with "+name, res, "invalid_token")
	}
	p.bearerOK("the good token after all that", pair.access)
}

// TestMalformedBearer: an Authorization: Bearer header whose token is
// missing, followed by more parts, or holds characters outside RFC 6750's
// b64token is a malformed request, not a bad token: 400 invalid_request
// with the same in the challenge (RFC 6750 3.1), at /api/me and at
// forward-auth. nginx's auth_request turns anything but 200, 401 and 403
// into 500, so auth-request answers it 401, still with invalid_request in
// the challenge. Several spaces after "Bearer" are what RFC 6750's 1*SP
// allows, and the scheme is case-insensitive (RFC 9110 11.1).
func TestMalformedBearer(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("mal@example.com")
	secret := p.login("mal@example.com")
	token := p.issueTokens(secret).access
	for _, row := range []struct{ name, authorization string }{
		{"no token", "Bearer"},
		{"no token, lower case", "bearer"},
		{"two tokens", "Bearer " + token + " " + token},
		{"a token and more", "Bearer " + token + " x"},
		{"a tab for the space", "Bearer\t" + token},
		{"a trailing comma", "Bearer " + token + ","},
		{"a quoted token", "Bearer \"" + token + "\""},
		{"an @ in the token", "Bearer " + token + "@"},
		{"= inside the token", "Bearer tok=en"},
		{"only padding", "Bearer =="},
		{"non-ASCII", "Bearer ümlaut"},
		{"auth-params", "Bearer realm=\"lacop\""},
		{"a semicolon", "Bearer a;b"},
	} {
		h := map[string]string{"Authorization": row.authorization}
		res := p.do(request{method: "GET", path: "/api/me", cookie: secret, header: h})
		wantError(t, "/api/me with "+row.name, res, http.StatusBadRequest, "invalid_request")
		wantChallenge(t, "/api/me with "+row.name, res, "invalid_request")
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("/api/me with %s: Cache-Control = %q; want no-store", row.name, cc)
		}

		res = p.forwardAuth("GET", "https://app.example.com/", mergeHeaders(h, cookieHeader(cookieName, secret), acceptJSON))
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Remote-User") != "" {
			t.Errorf("forward-auth with %s = %d, Remote-User %q; want 400 and none", row.name, res.StatusCode, res.Header.Get("Remote-User"))
		}
		wantChallenge(t, "forward-auth with "+row.name, res, "invalid_request")
		res = p.authRequest("GET", "https://app.example.com/", mergeHeaders(h, cookieHeader(cookieName, secret)))
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Remote-User") != "" {
			t.Errorf("auth-request with %s = %d; want 401", row.name, res.StatusCode)
		}
		wantChallenge(t, "auth-request with "+row.name, res, "invalid_request")
	}
	for name, authorization := range map[string]string{
		"two spaces": "Bearer  " + token, "lower case": "bearer " + token, "upper case": "BEARER " + token,
	} {
		if res := p.bearerMe(authorization); res.StatusCode != http.StatusOK {
			t.Errorf("/api/me with the token after %s = %d %s; want 200", name, res.StatusCode, res.Body)
		}
	}
}

// oauthErrors are the "error" codes of RFC 6749 5.2 and RFC 7009 2.2.1.
var oauthErrors = map[string]bool{"invalid_request": true, "invalid_client": true, "invalid_grant": true,
	"unauthorized_client": true, "unsupported_grant_type": true, "invalid_scope": true, "unsupported_token_type": true}

// TestOAuthErrorFormat: every refusal from the OAuth endpoints, also those
// answered before the endpoint's own code runs (cross-origin 403, wrong
// method 405, oversized body 413), is an RFC 6749 5.2 error: a JSON object
// with an "error" code of that RFC, an "error_description" and no other
// fields, Cache-Control: no-store and Pragma: no-cache. None of them is a
// 401 (lacop authenticates no OAuth clients), so none needs a challenge.
func TestOAuthErrorFormat(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("fmt@example.com")
	refresh := p.issueTokens(p.login("fmt@example.com")).refresh
	big := "token=" + strings.Repeat("A", 70<<10)
	cross := mergeHeaders(formHeader, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	grant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()
	rows := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"token: no grant_type", request{method: "POST", path: "/oauth/token", header: formHeader, body: ""}, 400, "invalid_request"},
		{"token: password grant", request{method: "POST", path: "/oauth/token", header: formHeader, body: "grant_type=password"}, 400, "unsupported_grant_type"},
		{"token: unknown refresh token", request{method: "POST", path: "/oauth/token", header: formHeader, body: "grant_type=refresh_token&refresh_token=nope"}, 400, "invalid_grant"},
		{"token: JSON body", request{method: "POST", path: "/oauth/token", body: map[string]string{"grant_type": "refresh_token"}}, 400, "invalid_request"},
		{"token: cross-origin", request{method: "POST", path: "/oauth/token", header: cross, body: grant}, 403, "invalid_request"},
		{"token: GET", request{method: "GET", path: "/oauth/token"}, 405, "invalid_request"},
		{"token: oversized body", request{method: "POST", path: "/oauth/token", header: formHeader, body: big}, 413, "invalid_request"},
		{"revoke: no token", request{method: "POST", path: "/oauth/revoke", header: formHeader, body: ""}, 400, "invalid_request"},
		{"revoke: repeated token", request{method: "POST", path: "/oauth/revoke", header: formHeader, body: "token=a&token=b"}, 400, "invalid_request"},
		{"revoke: cross-origin", request{method: "POST", path: "/oauth/revoke", header: cross, body: "token=" + refresh}, 403, "invalid_request"},
		{"revoke: GET", request{method: "GET", path: "/oauth/revoke"}, 405, "invalid_request"},
		{"revoke: oversized body", request{method: "POST", path: "/oauth/revoke", header: formHeader, body: big}, 413, "invalid_request"},
	}
	for _, row := range rows {
		res := p.do(row.req)
		if res.StatusCode != row.status {
			t.Errorf("%s = %d %s; want %d", row.name, res.StatusCode, res.Body, row.status)
		}
		if cc, pragma := res.Header.Get("Cache-Control"), res.Header.Get("Pragma"); cc != "no-store" || pragma != "no-cache" {
			t.Errorf("%s: Cache-Control %q, Pragma %q; want no-store and no-cache", row.name, cc, pragma)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q; want application/json", row.name, ct)
		}
		var body map[string]any
		if err := json.Unmarshal(res.Body, &body); err != nil {
			t.Errorf("%s: body %q is not a JSON object: %v", row.name, res.Body, err)
			continue
		}
		code, _ := body["error"].(string)
		desc, _ := body["error_description"].(string)
		if code != row.code || !oauthErrors[code] || desc == "" || len(body) != 2 {
			t.Errorf("%s: body %s; want exactly {\"error\":%q,\"error_description\":…}", row.name, res.Body, row.code)
		}
		if wa := res.Header.Values("WWW-Authenticate"); res.StatusCode != http.StatusUnauthorized && len(wa) != 0 {
			t.Errorf("%s: WWW-Authenticate %q on a %d", row.name, wa, res.StatusCode)
		}
	}
	// None of it spent the refresh token.
	p.refreshOK(refresh)
}
