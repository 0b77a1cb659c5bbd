package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuditEscapesColumns: a User-Agent is the client's text; lacop audit
// shows its control characters (C1 such as CSI, bidi overrides, tabs that
// would shift the columns, bytes that are not UTF-8) as visible escapes,
// and ordinary Unicode as it is.
func TestAuditEscapesColumns(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("uma@example.com")
	ua := "agent\tcsi\u009b2J rlo\u202eevil lri\u2066x ls\u2028y bad\xff é"
	if res := p.loginAs("uma@example.com", testPassword, map[string]string{"User-Agent": ua}, false); res.StatusCode != http.StatusOK {
		t.Fatalf("login = %d %s", res.StatusCode, res.Body)
	}
	out := p.auditOutput("--type", "login.succeeded")
	for _, raw := range []string{"\t", "\u009b", "\u202e", "\u2066", "\u2028", "\xff"} {
		if strings.Contains(out, raw) {
			t.Errorf("audit prints %q raw:\n%s", raw, out)
		}
	}
	for _, esc := range []string{`agent\tcsi\u009b2J rlo\u202eevil lri\u2066x ls\u2028y bad\xff é`} {
		if !strings.Contains(out, esc) {
			t.Errorf("audit output lacks %s:\n%s", esc, out)
		}
	}
}

// TestNameRefusesControls: a name with NUL, other control characters, bidi
// controls or line separators is refused with a clear error, from the CLI
// and from the admin API alike; ordinary names pass.
func TestNameRefusesControls(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	for i, name := range []string{"Eve\u202eLIVE", "a\x1b[31mb", "a\u0085b", "a\u2067b", "a\u2029b", "a\tb"} {
		out, err := p.cli(testPassword+"\n", "user", "add", "n"+string(rune('a'+i))+"@example.com", "--password-stdin", "--name", name)
		if err == nil || !strings.Contains(out, "Name") || !strings.Contains(out, "control") {
			t.Errorf("user add --name %q: %v %q; want the name refused", name, err, out)
		}
	}
	p.addUser("zoe@example.com", "--name", "Zoë Ñúñez-O'Neil", "--admin")
	admin := p.login("zoe@example.com")
	for _, body := range []map[string]any{
		{"email": "nul@example.com", "name": "a\x00b", "password": testPassword},
		{"email": "rlo@example.com", "name": "\u202eevil", "password": testPassword},
		{"email": "grp@example.com", "name": "G", "password": testPassword, "groups": []string{"dev\u202e"}},
	} {
		res := p.do(request{method: "POST", path: "/api/admin/users", cookie: admin, body: body})
		wantError(t, "admin create "+body["email"].(string), res, http.StatusBadRequest, "invalid_request")
	}
}

// TestConcernNoteRefusesControls: the report-concern note reaches the admin
// pages and lacop audit; it may have line breaks but no control or bidi
// characters, and a refused note ends nothing.
func TestConcernNoteRefusesControls(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ned@example.com")
	a, b := p.login("ned@example.com"), p.login("ned@example.com")
	res := p.do(request{method: "POST", path: "/api/account/report-concern", cookie: a, body: map[string]any{"note": "not me\u202e!"}})
	wantError(t, "a note with a bidi override", res, http.StatusBadRequest, "invalid_request")
	if p.meStatus(b) != http.StatusOK {
		t.Error("a refused report ended the other session")
	}
	res = p.do(request{method: "POST", path: "/api/account/report-concern", cookie: a, body: map[string]any{"note": "not me\r\nsaw a sign-in\tfrom far away"}})
	if res.StatusCode != http.StatusOK {
		t.Errorf("a note with line breaks = %d %s; want 200", res.StatusCode, res.Body)
	}
}
