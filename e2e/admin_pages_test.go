package e2e

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// adminForm POSTs a form as the signed-in secret.
func (p *portal) adminForm(secret, path string, form url.Values) *response {
	p.t.Helper()
	return p.do(request{method: "POST", path: path, cookie: secret, header: formHeader, body: form.Encode()})
}

// TestAdminPages: the admin panel as a person uses it without JavaScript.
// Non-admins get 403 pages; the admin adds a user (a mistake keeps what was
// typed, never the password), ends that user's sessions and one session,
// filters the log by user, type and time, and downloads it as CSV with a
// reported concern flagged.
func TestAdminPages(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("boss@example.com", "--admin")
	p.addUser("pat@example.com")
	admin, pat := p.login("boss@example.com"), p.login("pat@example.com")

	for _, path := range []string{"/admin", "/admin/users", "/admin/sessions", "/admin/logs"} {
		if res := p.do(request{method: "GET", path: path, cookie: pat}); res.StatusCode != http.StatusForbidden {
			t.Errorf("non-admin GET %s = %d; want 403", path, res.StatusCode)
		}
	}
	if res := p.adminForm(pat, "/admin/users/x/disable", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("non-admin POST disable = %d; want 403", res.StatusCode)
	}
	if res := p.do(request{method: "GET", path: "/admin/users"}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous GET /admin/users = %d; want 303 to the login", res.StatusCode)
	}
	dash := p.do(request{method: "GET", path: "/", cookie: admin})
	if !strings.Contains(string(dash.Body), `href="/admin/users"`) {
		t.Error("the admin's sidebar has no Admin link")
	}
	if strings.Contains(string(p.do(request{method: "GET", path: "/", cookie: pat}).Body), `href="/admin/users"`) {
		t.Error("a non-admin's sidebar shows the Admin link")
	}

	// Add a user: a weak password comes back with the form filled in.
	res := p.adminForm(admin, "/admin/users", url.Values{"email": {"kim@example.com"}, "name": {"Kim Lee"},
		"password": {"short-pw"}, "groups": {"dev, ops"}})
	page := string(res.Body)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `value="kim@example.com"`) ||
		!strings.Contains(page, `value="Kim Lee"`) || !strings.Contains(page, `value="dev, ops"`) || strings.Contains(page, "short-pw") {
		t.Errorf("weak password = %d; want 422 with email, name and groups kept and the password not echoed", res.StatusCode)
	}
	if !strings.Contains(page, `role="alert"`) {
		t.Error("the form error is not announced")
	}
	res = p.adminForm(admin, "/admin/users", url.Values{"email": {"kim@example.com"}, "name": {"Kim Lee"},
		"password": {testPassword}, "groups": {"dev, ops"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users?done=created" {
		t.Fatalf("add user = %d %q; want 303 to /admin/users?done=created", res.StatusCode, res.Header.Get("Location"))
	}
	list := string(p.do(request{method: "GET", path: "/admin/users?done=created", cookie: admin}).Body)
	for _, want := range []string{"kim@example.com", "Kim Lee", ">dev<", ">ops<", "pat@example.com", "The user is created."} {
		if !strings.Contains(list, want) {
			t.Errorf("users page lacks %q", want)
		}
	}
	if res := p.adminForm(admin, "/admin/users", url.Values{"email": {"kim@example.com"}, "password": {testPassword}}); res.StatusCode != http.StatusConflict {
		t.Errorf("the same email again = %d; want 409 with the form", res.StatusCode)
	}

	// End all of pat's sessions.
	patID := p.userID(pat)
	if res := p.adminForm(admin, "/admin/users/"+patID+"/end-sessions", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("end-sessions = %d", res.StatusCode)
	}
	if p.meStatus(pat) != http.StatusUnauthorized {
		t.Error("pat's session survived End all sessions")
	}

	// All sessions, filtered; end one.
	k1, k2 := p.login("kim@example.com"), p.login("kim@example.com")
	kimID := p.userID(k1)
	sessions := string(p.do(request{method: "GET", path: "/admin/sessions?user=" + kimID, cookie: admin}).Body)
	if strings.Count(sessions, ">kim@example.com</a>") != 2 || strings.Contains(sessions, ">boss@example.com</a>") {
		t.Errorf("sessions filtered by kim: want her 2 sessions only:\n%s", sessions)
	}
	if res := p.adminForm(admin, "/admin/sessions/"+p.sessionID(k1)+"/end?user="+kimID, nil); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/admin/sessions?done=session&user="+kimID {
		t.Fatalf("end session = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if p.meStatus(k1) != http.StatusUnauthorized || p.meStatus(k2) != http.StatusOK {
		t.Error("ending one session: want that one dead and the other alive")
	}

	// A concern, then the log.
	if res := p.do(request{method: "POST", path: "/api/account/report-concern", cookie: k2, body: map[string]any{"note": "=HYPERLINK(\"x\")"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("report concern = %d", res.StatusCode)
	}
	logs := string(p.do(request{method: "GET", path: "/admin/logs?user=kim%40example.com", cookie: admin}).Body)
	if !strings.Contains(logs, "Reported concern") || !strings.Contains(logs, "security.concern_reported") || strings.Contains(logs, "pat@example.com") {
		t.Errorf("kim's log: want her events with the concern flagged, and nobody else's")
	}
	typed := string(p.do(request{method: "GET", path: "/admin/logs?type=user.created", cookie: admin}).Body)
	if strings.Contains(typed, ">login.succeeded</code>") || !strings.Contains(typed, ">user.created</code>") {
		t.Error("log filtered by type shows other types or misses user.created")
	}
	if empty := string(p.do(request{method: "GET", path: "/admin/logs?from=2999-01-01T00:00", cookie: admin}).Body); !strings.Contains(empty, "No events match.") {
		t.Error("log from the year 2999 is not empty")
	}
	if res := p.do(request{method: "GET", path: "/admin/logs?from=yesterday", cookie: admin}); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(string(res.Body), "From must be a date and time") {
		t.Errorf("log from=yesterday = %d; want 400 with the reason", res.StatusCode)
	}
	if none := string(p.do(request{method: "GET", path: "/admin/logs?user=ghost%40example.com", cookie: admin}).Body); !strings.Contains(none, "No events match.") {
		t.Error("log of an unknown email is not empty (it must not fall back to everyone's)")
	}

	res = p.do(request{method: "GET", path: "/admin/logs?user=kim%40example.com&format=csv", cookie: admin})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV = %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	if err != nil || len(records) < 4 || records[0][0] != "id" || records[0][2] != "type" {
		t.Fatalf("CSV = %v, %v; want a header and kim's events", records, err)
	}
	concern := false
	for _, rec := range records[1:] {
		if rec[3] != "kim@example.com" {
			t.Errorf("CSV row for %q; want only kim's", rec[3])
		}
		if rec[2] == "security.concern_reported" {
			concern = true
		}
		for _, cell := range rec {
			if strings.HasPrefix(cell, "=") || strings.HasPrefix(cell, "+") || strings.HasPrefix(cell, "@") {
				t.Errorf("CSV cell %q would be read as a formula", cell)
			}
		}
	}
	if !concern {
		t.Error("CSV lacks the reported concern")
	}

	// Cross-site posting is refused.
	k3 := p.login("kim@example.com")
	res = p.do(request{method: "POST", path: "/admin/users/" + kimID + "/disable", cookie: admin,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example.net"}})
	if res.StatusCode != http.StatusForbidden || p.meStatus(k3) != http.StatusOK {
		t.Errorf("cross-site disable = %d; want 403 and kim still signed in", res.StatusCode)
	}
}
