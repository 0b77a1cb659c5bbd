package e2e

import (
	"net/http"
	"net/url"
	"testing"
)

// deepLinks are targets with percent-encodings the contract keeps byte for
// byte: after sign-in the person lands exactly there.
var deepLinks = []string{
	"https://app.example.com/search?q=two%20words",
	"https://app.example.com/docs/a%2Fb",
	"https://app.example.com/caf%C3%A9/men%C3%BC?x=%C3%A9#%C3%A9",
	"https://app.example.com/sale/50%25?next=%25",
	"https://app.example.com/?next=%2F%2Fapp.example.com%2Fx",
	"https://app.example.com/a/%5Cb?q=a+b%26c",
	"/help?q=two%20words",
	"/docs/a%2Fb",
	"/?next=%25",
	"/caf%C3%A9",
}

// TestDeepLinksSurviveSignIn: a deep link given as targetURL or rd comes
// back exactly, in the JSON sign-in's redirect, in the form sign-in's
// Location, from the login page of a signed-in person, after the second
// factor, and from sign-out.
func TestDeepLinksSurviveSignIn(t *testing.T) {
	t.Parallel()
	p := startPortal(t, redirectConfig)
	p.addUser("dee@example.com")
	p.addUser("two@example.com")
	a := p.enrolTOTP(p.login("two@example.com")).auth
	for _, link := range deepLinks {
		res := p.do(request{method: "POST", path: "/api/login", body: map[string]any{
			"email": "dee@example.com", "password": testPassword, "targetURL": link}})
		if got := res.json(t)["redirect"]; res.StatusCode != http.StatusOK || got != link {
			t.Errorf("POST /api/login targetURL %q = %d, redirect %q; want 200, redirect exactly the target", link, res.StatusCode, got)
		}

		res = p.do(request{method: "POST", path: "/login", header: formHeader,
			body: url.Values{"email": {"dee@example.com"}, "password": {testPassword}, "rd": {link}}.Encode()})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != link {
			t.Errorf("POST /login rd %q = %d to %q; want 303 to exactly the target", link, res.StatusCode, loc)
		}
		secret := sessionCookie(res.Response).Value

		res = p.do(request{method: "GET", path: "/login?rd=" + url.QueryEscape(link), cookie: secret})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != link {
			t.Errorf("GET /login?rd=%q signed in = %d to %q; want 303 to exactly the target", link, res.StatusCode, loc)
		}

		res = p.do(request{method: "POST", path: "/logout", cookie: secret, header: formHeader, body: url.Values{"rd": {link}}.Encode()})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != link {
			t.Errorf("POST /logout rd %q = %d to %q; want 303 to exactly the target", link, res.StatusCode, loc)
		}
	}

	// Through the second factor: the form keeps rd to the end.
	link := deepLinks[0]
	res := p.do(request{method: "POST", path: "/login", header: formHeader,
		body: url.Values{"email": {"two@example.com"}, "password": {testPassword}, "rd": {link}}.Encode()})
	half := sessionCookie(res.Response).Value
	step := res.Header.Get("Location")
	if want := "/login/second-factor?rd=" + url.QueryEscape(link); step != want {
		t.Fatalf("sign-in owing the second factor to %q; want %q", step, want)
	}
	u, _ := url.Parse(step)
	res = p.do(request{method: "POST", path: "/login/second-factor", cookie: half, header: formHeader,
		body: url.Values{"code": {a.next()}, "rd": {u.Query().Get("rd")}}.Encode()})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != link {
		t.Errorf("second factor with rd %q = %d to %q; want 303 to exactly the target", link, res.StatusCode, loc)
	}
}

// TestDeepLinkFromForwardAuth: the original URL forward-auth puts in the
// login link comes back exactly after signing in.
func TestDeepLinkFromForwardAuth(t *testing.T) {
	t.Parallel()
	p := startPortal(t, redirectConfig)
	p.addUser("fwd@example.com")
	const original = "https://app.example.com/search?q=two%20words&path=a%2Fb"
	res := p.forwardAuth("GET", original, map[string]string{"Accept": "text/html"})
	wantLoginRedirect(t, "forward-auth, signed out", res, "https://auth.example.com", original)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	rd := loc.Query().Get("rd")
	res = p.do(request{method: "POST", path: "/login", header: formHeader,
		body: url.Values{"email": {"fwd@example.com"}, "password": {testPassword}, "rd": {rd}}.Encode()})
	if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != original {
		t.Errorf("sign-in with forward-auth's rd = %d to %q; want 303 to %q", res.StatusCode, got, original)
	}
}
