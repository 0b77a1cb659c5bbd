package e2e

import (
	"net/http"
	"strings"
	"testing"
)

const clearSiteData = `"cache", "cookies", "storage"`

// wantForgotten checks that a response ending the caller's own session
// tells the browser to forget it: the deleting cookie and Clear-Site-Data,
// as sign-out does.
func wantForgotten(t *testing.T, what string, res *response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s = %d %.200s; want %d", what, res.StatusCode, res.Body, status)
	}
	if got := res.Header.Get("Clear-Site-Data"); got != clearSiteData {
		t.Errorf("%s: Clear-Site-Data = %q; want %q", what, got, clearSiteData)
	}
	if c := sessionCookie(res.Response); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("%s: Set-Cookie %q; want the deleting session cookie", what, res.Header.Values("Set-Cookie"))
	}
}

// wantKept checks that a response leaves the caller's session (and the
// browser's data) alone.
func wantKept(t *testing.T, what string, res *response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s = %d %.200s; want %d", what, res.StatusCode, res.Body, status)
	}
	if got := res.Header.Get("Clear-Site-Data"); got != "" {
		t.Errorf("%s: Clear-Site-Data = %q; want none (the caller stays signed in)", what, got)
	}
	if c := sessionCookie(res.Response); c != nil && c.Value == "" {
		t.Errorf("%s: deleting cookie %q; the caller stays signed in", what, res.Header.Values("Set-Cookie"))
	}
}

// TestEndingOwnSessionClearsSiteData: every way a person or an admin ends
// the session they are using answers like sign-out, with the deleting
// cookie and Clear-Site-Data; ending someone else's does neither.
func TestEndingOwnSessionClearsSiteData(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("own@example.com")
	p.addUser("boss@example.com", "--admin")
	p.addUser("deputy@example.com", "--admin") // the last admin cannot disable themselves
	p.addUser("other@example.com")

	// The person's own API.
	s := p.login("own@example.com")
	other := p.login("own@example.com")
	wantKept(t, "DELETE /api/sessions/{other}", p.do(request{method: "DELETE", path: "/api/sessions/" + p.sessionID(other), cookie: s}), http.StatusNoContent)
	wantForgotten(t, "DELETE /api/sessions/{own}", p.do(request{method: "DELETE", path: "/api/sessions/" + p.sessionID(s), cookie: s}), http.StatusNoContent)
	s = p.login("own@example.com")
	wantKept(t, "revoke-all keepCurrent:true", p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s, body: map[string]any{"keepCurrent": true}}), http.StatusOK)
	s = p.login("own@example.com")
	wantForgotten(t, "revoke-all keepCurrent:false", p.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: s, body: map[string]any{"keepCurrent": false}}), http.StatusOK)

	// The person's own pages.
	s = p.login("own@example.com")
	wantForgotten(t, "POST /sessions/{own}/end", p.do(request{method: "POST", path: "/sessions/" + p.sessionID(s) + "/end", cookie: s, header: formHeader, body: ""}), http.StatusSeeOther)
	s = p.login("own@example.com")
	wantForgotten(t, "POST /sessions/end-all", p.do(request{method: "POST", path: "/sessions/end-all", cookie: s, header: formHeader, body: ""}), http.StatusSeeOther)

	// An admin acting on their own session or account.
	boss := p.login("boss@example.com")
	bossID := p.userID(boss)
	wantKept(t, "admin DELETE /api/admin/sessions/{someone else's}", p.do(request{method: "DELETE", path: "/api/admin/sessions/" + p.sessionID(p.login("other@example.com")), cookie: boss}), http.StatusNoContent)
	for _, c := range []struct {
		what   string
		req    func(secret string) request
		status int
	}{
		{"admin DELETE /api/admin/sessions/{own}", func(s string) request {
			return request{method: "DELETE", path: "/api/admin/sessions/" + p.sessionID(s), cookie: s}
		}, http.StatusNoContent},
		{"admin POST /api/admin/users/{self}/revoke-sessions", func(s string) request {
			return request{method: "POST", path: "/api/admin/users/" + bossID + "/revoke-sessions", cookie: s}
		}, http.StatusOK},
		{"admin DELETE /api/admin/users/{self}/totp", func(s string) request {
			return request{method: "DELETE", path: "/api/admin/users/" + bossID + "/totp", cookie: s}
		}, http.StatusNoContent},
		{"admin POST /admin/sessions/{own}/end", func(s string) request {
			return request{method: "POST", path: "/admin/sessions/" + p.sessionID(s) + "/end", cookie: s, header: formHeader, body: ""}
		}, http.StatusSeeOther},
		{"admin POST /admin/users/{self}/end-sessions", func(s string) request {
			return request{method: "POST", path: "/admin/users/" + bossID + "/end-sessions", cookie: s, header: formHeader, body: ""}
		}, http.StatusSeeOther},
		{"admin POST /admin/users/{self}/reset-2fa", func(s string) request {
			return request{method: "POST", path: "/admin/users/" + bossID + "/reset-2fa", cookie: s, header: formHeader, body: ""}
		}, http.StatusSeeOther},
		// Last: it disables the account.
		{"admin POST /api/admin/users/{self}/disable", func(s string) request {
			return request{method: "POST", path: "/api/admin/users/" + bossID + "/disable", cookie: s}
		}, http.StatusNoContent},
	} {
		s := p.login("boss@example.com")
		wantForgotten(t, c.what, p.do(c.req(s)), c.status)
		if got := p.meStatus(s); got != http.StatusUnauthorized {
			t.Errorf("%s: the admin's session still answers /api/me = %d; want 401", c.what, got)
		}
	}
}

// TestStaticListsNoDirectory: /static/ serves its files and nothing else;
// a directory is 404, never a listing or a redirect to one.
func TestStaticListsNoDirectory(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/static/style.css", http.StatusOK},
		{"/static/icons/icon-192.png", http.StatusOK},
		{"/static/", http.StatusNotFound},
		{"/static/icons/", http.StatusNotFound},
		{"/static/icons", http.StatusNotFound},
		{"/static/nope.css", http.StatusNotFound},
		{"/static/icons/nope.png", http.StatusNotFound},
		{"/static/style.css/", http.StatusNotFound},
	} {
		res := p.do(request{method: "GET", path: tt.path})
		if res.StatusCode != tt.want {
			t.Errorf("GET %s = %d (Location %q); want %d", tt.path, res.StatusCode, res.Header.Get("Location"), tt.want)
		}
		if body := string(res.Body); strings.Contains(body, `<a href="icons/"`) || strings.Contains(body, `<a href="style.css"`) || strings.Contains(body, "<pre>") {
			t.Errorf("GET %s lists a directory: %.200s", tt.path, body)
		}
	}
}
