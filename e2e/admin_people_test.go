package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// cliJSON runs a lacop command that prints JSON and decodes it into v.
func (p *portal) cliJSON(v any, args ...string) {
	p.t.Helper()
	out, err := p.cli("", args...)
	if err != nil {
		p.t.Fatalf("lacop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		p.t.Fatalf("lacop %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cliFails runs a lacop command that must fail, and checks its message.
func (p *portal) cliFails(want string, args ...string) {
	p.t.Helper()
	out, err := p.cli("", args...)
	if err == nil || !strings.Contains(out, want) {
		p.t.Errorf("lacop %s: %v\n%s\nwant a failure saying %q", strings.Join(args, " "), err, out, want)
	}
}

type cliUser struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Admin    bool     `json:"admin"`
	Groups   []string `json:"groups"`
	Disabled bool     `json:"disabled"`
}

func (p *portal) cliUsers(args ...string) []string {
	p.t.Helper()
	var v struct{ Users []cliUser }
	p.cliJSON(&v, append([]string{"user", "list", "--json"}, args...)...)
	var emails []string
	for _, u := range v.Users {
		emails = append(emails, u.Email)
	}
	return emails
}

// TestPeopleCLI: an operator lists people with filters, re-enables a
// disabled person, changes groups, makes and unmakes an admin (which ends
// that person's sessions), cannot leave no administrator, and deletes a
// person: everything of theirs ends, the email is free, the trail keeps it.
func TestPeopleCLI(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("root@example.com", "--admin")
	p.addUser("ann@example.com", "--group", "dev,ops")
	p.addUser("bob@example.com", "--group", "dev")
	p.addUser("cy@example.com")

	if got := p.cliUsers(); !slices.Equal(got, []string{"ann@example.com", "bob@example.com", "cy@example.com", "root@example.com"}) {
		t.Errorf("user list = %q; want everyone by email", got)
	}
	if got := p.cliUsers("--admins"); !slices.Equal(got, []string{"root@example.com"}) {
		t.Errorf("user list --admins = %q", got)
	}
	if got := p.cliUsers("--group", "dev"); !slices.Equal(got, []string{"ann@example.com", "bob@example.com"}) {
		t.Errorf("user list --group dev = %q", got)
	}
	table := p.cliOK("", "user", "list")
	if !strings.HasPrefix(table, "EMAIL") || !strings.Contains(table, "ann@example.com") || !strings.Contains(table, "dev,ops") {
		t.Errorf("user list table:\n%s", table)
	}

	// Disable, then enable: the person signs in again.
	p.cliOK("", "user", "disable", "cy@example.com")
	if got := p.cliUsers("--disabled"); !slices.Equal(got, []string{"cy@example.com"}) {
		t.Errorf("user list --disabled = %q", got)
	}
	if res := p.loginAs("cy@example.com", testPassword, nil, false); res.StatusCode == http.StatusOK {
		t.Fatalf("a disabled person signed in")
	}
	if out := p.cliOK("", "user", "enable", "cy@example.com"); !strings.Contains(out, "enabled cy@example.com") {
		t.Errorf("user enable: %s", out)
	}
	cy := p.login("cy@example.com")

	// Groups: replaced, seen by the next request; a bad name changes nothing.
	p.cliOK("", "user", "set-groups", "cy@example.com", "ops", "qa")
	if u, _ := p.me(cy); !slices.Equal(anyStrings(u["groups"]), []string{"ops", "qa"}) {
		t.Errorf("groups after set-groups = %v; want [ops qa]", u["groups"])
	}
	p.cliFails("not a valid group name", "user", "set-groups", "cy@example.com", "two words")
	p.cliFails("empty group name", "user", "set-groups", "cy@example.com", "a,,b")
	if u, _ := p.me(cy); !slices.Equal(anyStrings(u["groups"]), []string{"ops", "qa"}) {
		t.Errorf("groups after refused set-groups = %v; want [ops qa] still", u["groups"])
	}
	p.cliOK("", "user", "set-groups", "cy@example.com")
	if u, _ := p.me(cy); len(anyStrings(u["groups"])) != 0 {
		t.Errorf("groups after set-groups with none = %v", u["groups"])
	}

	// Admin: given, then taken, which ends the person's sessions.
	p.cliOK("", "user", "set-admin", "cy@example.com", "true")
	if u, _ := p.me(cy); u["admin"] != true {
		t.Errorf("admin after set-admin true = %v", u["admin"])
	}
	if got := p.meStatus(cy); got != http.StatusOK {
		t.Errorf("becoming an admin ended the session: %d", got)
	}
	p.cliOK("", "user", "set-admin", "cy@example.com", "false")
	if got := p.meStatus(cy); got != http.StatusUnauthorized {
		t.Errorf("after set-admin false, the former admin's session = %d; want 401", got)
	}
	p.cliFails("say true or false", "user", "set-admin", "cy@example.com", "maybe")
	p.cliFails("last administrator", "user", "set-admin", "root@example.com", "false")
	p.cliFails("last administrator", "user", "delete", "root@example.com")
	if got := p.cliUsers("--admins"); !slices.Equal(got, []string{"root@example.com"}) {
		t.Errorf("admins after refusals = %q", got)
	}

	// Delete: sessions end, the email is free, the audit trail keeps it.
	bob := p.login("bob@example.com")
	bobID := p.userID(bob)
	if out := p.cliOK("", "user", "delete", "bob@example.com"); !strings.Contains(out, "deleted bob@example.com") || !strings.Contains(out, "1 session") {
		t.Errorf("user delete: %s", out)
	}
	if got := p.meStatus(bob); got != http.StatusUnauthorized {
		t.Errorf("the deleted person's session = %d; want 401", got)
	}
	if got := p.cliUsers(); slices.Contains(got, "bob@example.com") {
		t.Errorf("user list after delete = %q", got)
	}
	p.cliFails("no user with email bob@example.com", "user", "delete", "bob@example.com")
	var audit struct {
		Events []struct {
			Type      string            `json:"type"`
			UserID    string            `json:"userId"`
			UserEmail string            `json:"userEmail"`
			Detail    map[string]string `json:"detail"`
		}
	}
	p.cliJSON(&audit, "audit", "--json", "--type", "user.deleted")
	if len(audit.Events) != 1 || audit.Events[0].UserID != bobID || audit.Events[0].Detail["email"] != "bob@example.com" ||
		audit.Events[0].UserEmail != "bob@example.com (deleted)" {
		t.Errorf("user.deleted events: %+v", audit.Events)
	}
	if out := p.cliOK("", "audit", "--type", "login.succeeded"); !strings.Contains(out, "bob@example.com (deleted)") || strings.Contains(out, bobID) {
		t.Errorf("audit names the deleted person by email, not id:\n%s", out)
	}
	p.addUser("bob@example.com")
	if newBob := p.login("bob@example.com"); p.userID(newBob) == bobID {
		t.Errorf("the new bob has the deleted bob's id")
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := []string{}
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestAuditReadable: lacop audit prints emails and browsers, short rows;
// --wide the raw record; --json both.
func TestAuditReadable(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("ann@example.com")
	const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	res := p.loginAs("ann@example.com", testPassword, map[string]string{"User-Agent": ua}, false)
	id := p.userID(sessionCookie(res.Response).Value)
	out, err := p.cli("", "audit", "--type", "login.succeeded")
	if err != nil {
		t.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "ann@example.com") || !strings.Contains(lines[1], "Firefox on Linux") ||
		strings.Contains(lines[1], id) || strings.Contains(lines[1], "Gecko") {
		t.Errorf("audit:\n%s\nwant the email and the browser, not the id or the raw agent", out)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 200 {
			t.Errorf("audit row of %d characters:\n%s", n, l)
		}
	}
	wide := p.auditOutput("--type", "login.succeeded") // --wide
	if !strings.Contains(wide, id) || !strings.Contains(wide, ua) {
		t.Errorf("audit --wide:\n%s\nwant the id and the raw agent", wide)
	}
	var v struct {
		Events []struct {
			UserAgent string `json:"userAgent"`
			Browser   string `json:"browser"`
			UserEmail string `json:"userEmail"`
		}
	}
	p.cliJSON(&v, "audit", "--json", "--type", "login.succeeded")
	if len(v.Events) != 1 || v.Events[0].UserAgent != ua || v.Events[0].Browser != "Firefox on Linux" || v.Events[0].UserEmail != "ann@example.com" {
		t.Errorf("audit --json: %+v", v.Events)
	}
	var sessions struct {
		Sessions []struct {
			UserEmail string `json:"userEmail"`
			Browser   string `json:"browser"`
		}
	}
	p.cliJSON(&sessions, "session", "list", "--json")
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].UserEmail != "ann@example.com" || sessions.Sessions[0].Browser != "Firefox on Linux" {
		t.Errorf("session list --json: %+v", sessions.Sessions)
	}
}

// TestBans: a throttling ban on an address and one on an account are
// listed and lifted from the command line and the admin API; a lift is
// recorded, and what was banned signs in again at once.
func TestBans(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "server:\n  trusted_proxies: [127.0.0.1/32]\nregulation:\n  max_failures: 3\n  max_failures_per_ip: 3\n  window: 1m\n  ban: 10m\n")
	p.addUser("root@example.com", "--admin")
	p.addUser("ann@example.com")
	p.addUser("bob@example.com")
	admin := p.login("root@example.com")
	from := map[string]string{"X-Forwarded-For": "203.0.113.9"}
	for range 3 {
		p.loginAs("ann@example.com", "wrong-password-1", from, false)
	}
	if res := p.loginAs("bob@example.com", testPassword, from, false); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("from the banned address: %d; want 429", res.StatusCode)
	}
	// Bob's account from addresses that stay under their own limit.
	for i := range 3 {
		p.loginAs("bob@example.com", "wrong-password-2", map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i+1)}, false)
	}
	elsewhere := map[string]string{"X-Forwarded-For": "192.0.2.50"}
	if res := p.loginAs("bob@example.com", testPassword, elsewhere, false); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the banned account: %d; want 429", res.StatusCode)
	}

	var list struct {
		Bans []struct{ Kind, Subject string }
	}
	p.cliJSON(&list, "bans", "list", "--json")
	has := func(kind, subject string) bool {
		return slices.ContainsFunc(list.Bans, func(b struct{ Kind, Subject string }) bool { return b.Kind == kind && b.Subject == subject })
	}
	if !has("address", "203.0.113.9") || !has("account", "bob@example.com") {
		t.Fatalf("bans list: %+v; want the address and bob's account", list.Bans)
	}
	if table := p.cliOK("", "bans", "list"); !strings.Contains(table, "203.0.113.9") || !strings.Contains(table, "password") {
		t.Errorf("bans list table:\n%s", table)
	}
	api := p.adminList(admin, "/api/admin/bans", "bans")
	if len(api) != len(list.Bans) {
		t.Errorf("GET /api/admin/bans = %v; want the %d the CLI lists", api, len(list.Bans))
	}

	// The address from the CLI; the account from the API.
	if out := p.cliOK("", "bans", "lift", "203.0.113.9"); !strings.Contains(out, "lifted the address ban on 203.0.113.9") {
		t.Errorf("bans lift: %s", out)
	}
	p.cliFails("no ban in force", "bans", "lift", "203.0.113.9")
	p.cliFails("neither an address nor an email", "bans", "lift", "not a thing")
	if res := p.loginAs("cy@example.com", "x", from, false); res.StatusCode == http.StatusTooManyRequests {
		t.Errorf("the lifted address is still refused")
	}
	res := p.do(request{method: "POST", path: "/api/admin/bans/lift", cookie: admin, body: map[string]any{"target": "BOB@example.com"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), `"kind":"account"`) {
		t.Fatalf("lift bob's ban = %d %s", res.StatusCode, res.Body)
	}
	if res := p.loginAs("bob@example.com", testPassword, elsewhere, false); res.StatusCode != http.StatusOK {
		t.Errorf("bob after the lift: %d %s; want 200", res.StatusCode, res.Body)
	}
	res = p.do(request{method: "POST", path: "/api/admin/bans/lift", cookie: admin, body: map[string]any{"target": "bob@example.com"}})
	wantError(t, "lift again", res, http.StatusNotFound, "not_found")
	if ev := p.auditEvents("--type", "ban.lifted"); len(ev) != 2 {
		t.Errorf("ban.lifted events:\n%s\nwant two", strings.Join(ev, "\n"))
	}
}

// TestPeopleAPI: the admin API's people powers and their refusals.
func TestPeopleAPI(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	p.addUser("root@example.com", "--admin")
	p.addUser("ann@example.com")
	for _, e := range []string{"p1@example.com", "p2@example.com", "p3@example.com"} {
		p.addUser(e, "--group", "paged")
	}
	root := p.login("root@example.com")
	rootID := p.userID(root)
	ann := p.login("ann@example.com")
	annID := p.userID(ann)

	// Paging and search.
	res := p.do(request{method: "GET", path: "/api/admin/users?group=paged&limit=2&offset=1", cookie: root})
	body := res.json(t)
	users, _ := body["users"].([]any)
	if res.StatusCode != http.StatusOK || body["total"] != float64(3) || len(users) != 2 {
		t.Errorf("paged list = %d %s; want total 3 and 2 users", res.StatusCode, res.Body)
	}
	if got := p.adminList(root, "/api/admin/users?q=ANN", "users"); len(got) != 1 || got[0]["email"] != "ann@example.com" {
		t.Errorf("search ANN = %v", got)
	}
	wantError(t, "bad limit", p.do(request{method: "GET", path: "/api/admin/users?limit=x", cookie: root}), http.StatusBadRequest, "invalid_request")

	// Edit name and groups; refuse a bad group.
	res = p.do(request{method: "PATCH", path: "/api/admin/users/" + annID, cookie: root, body: map[string]any{"name": "Ann Smith", "groups": []string{"ops"}}})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(res.Body), `"Ann Smith"`) {
		t.Fatalf("PATCH = %d %s", res.StatusCode, res.Body)
	}
	if u, _ := p.me(ann); u["name"] != "Ann Smith" || !slices.Equal(anyStrings(u["groups"]), []string{"ops"}) {
		t.Errorf("ann after the edit: %v", u)
	}
	res = p.do(request{method: "PATCH", path: "/api/admin/users/" + annID, cookie: root, body: map[string]any{"groups": []string{"a b"}}})
	wantError(t, "bad group", res, http.StatusBadRequest, "invalid_request")
	wantError(t, "malformed", p.do(request{method: "PATCH", path: "/api/admin/users/" + annID, cookie: root, body: "{"}), http.StatusBadRequest, "invalid_request")
	wantError(t, "unknown user", p.do(request{method: "PATCH", path: "/api/admin/users/nobody", cookie: root, body: map[string]any{"admin": true}}), http.StatusNotFound, "not_found")

	// Make ann an admin; she cannot delete herself; root takes his own
	// admin away: his other sessions end, this one lives on a new secret.
	if res := p.do(request{method: "PATCH", path: "/api/admin/users/" + annID, cookie: root, body: map[string]any{"admin": true}}); res.StatusCode != http.StatusOK {
		t.Fatalf("make ann admin = %d %s", res.StatusCode, res.Body)
	}
	wantError(t, "delete self", p.do(request{method: "DELETE", path: "/api/admin/users/" + annID, cookie: ann}), http.StatusForbidden, "forbidden")
	rootOther := p.login("root@example.com")
	res = p.do(request{method: "PATCH", path: "/api/admin/users/" + rootID, cookie: root, body: map[string]any{"admin": false}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("root drops admin = %d %s", res.StatusCode, res.Body)
	}
	c := sessionCookie(res.Response)
	if c == nil || c.Value == "" || c.Value == root {
		t.Fatalf("root's own session was not given a new secret: %v", res.Header["Set-Cookie"])
	}
	if got := p.meStatus(rootOther); got != http.StatusUnauthorized {
		t.Errorf("root's other session after dropping admin = %d; want 401", got)
	}
	if got := p.meStatus(root); got != http.StatusUnauthorized {
		t.Errorf("root's old secret = %d; want 401 (rotated)", got)
	}
	root = c.Value
	if u, _ := p.me(root); u["admin"] != false {
		t.Errorf("root is still an admin: %v", u)
	}
	wantError(t, "a former admin", p.do(request{method: "GET", path: "/api/admin/users", cookie: root}), http.StatusForbidden, "forbidden")

	// Ann is now the last admin: she cannot drop it.
	res = p.do(request{method: "PATCH", path: "/api/admin/users/" + annID, cookie: ann, body: map[string]any{"admin": false}})
	wantError(t, "last admin", res, http.StatusConflict, "conflict")

	// Delete root: his session ends, the account goes; enable a disabled one.
	res = p.do(request{method: "DELETE", path: "/api/admin/users/" + rootID, cookie: ann})
	if res.StatusCode != http.StatusOK || res.json(t)["revokedSessions"] != float64(1) {
		t.Fatalf("delete root = %d %s", res.StatusCode, res.Body)
	}
	if got := p.meStatus(root); got != http.StatusUnauthorized {
		t.Errorf("the deleted person's session = %d; want 401", got)
	}
	wantError(t, "get deleted", p.do(request{method: "GET", path: "/api/admin/users/" + rootID, cookie: ann}), http.StatusNotFound, "not_found")
	p1 := p.adminList(ann, "/api/admin/users?q=p1@", "users")[0]["id"].(string)
	if res := p.do(request{method: "POST", path: "/api/admin/users/" + p1 + "/disable", cookie: ann}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("disable = %d", res.StatusCode)
	}
	if got := p.adminList(ann, "/api/admin/users?disabled=1", "users"); len(got) != 1 || got[0]["id"] != p1 {
		t.Errorf("disabled list = %v", got)
	}
	if res := p.do(request{method: "POST", path: "/api/admin/users/" + p1 + "/enable", cookie: ann}); res.StatusCode != http.StatusNoContent {
		t.Fatalf("enable = %d %s", res.StatusCode, res.Body)
	}
	p.login("p1@example.com")
}

// TestPeoplePages: the people powers through the admin pages, as a person
// uses them without JavaScript: search, the person's page, edit (a bad
// group keeps the person as they were), disable and enable, a delete that
// says what it ends and needs its box ticked, taking one's own admin away
// (this session lives on a new secret, the panel closes), the bans page,
// and a lockout page that says when to try again.
func TestPeoplePages(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "server:\n  trusted_proxies: [127.0.0.1/32]\nregulation:\n  max_failures: 2\n  window: 1m\n  ban: 10m\n")
	p.addUser("boss@example.com", "--admin")
	p.addUser("kim@example.com", "--group", "dev")
	p.addUser("lee@example.com", "--admin")
	admin, kim := p.login("boss@example.com"), p.login("kim@example.com")
	kimID := p.userID(kim)
	page := func(path string) string {
		t.Helper()
		res := p.do(request{method: "GET", path: path, cookie: admin})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
		return string(res.Body)
	}
	if list := page("/admin/users?q=KIM"); !strings.Contains(list, ">kim@example.com</a>") || strings.Contains(list, ">boss@example.com</a>") ||
		!strings.Contains(list, "Showing 1–1 of 1 person") {
		t.Errorf("search for KIM:\n%s", list)
	}
	person := page("/admin/users/" + kimID)
	for _, want := range []string{"kim@example.com", "1 live", "Deleting <strong>kim@example.com</strong>", "ends their 1 session", `action="/admin/users/` + kimID + `/delete"`} {
		if !strings.Contains(person, want) {
			t.Errorf("kim's page lacks %q", want)
		}
	}

	// Edit; a bad group is refused with the reason and changes nothing.
	res := p.adminForm(admin, "/admin/users/"+kimID+"/edit", url.Values{"name": {"Kim Lee"}, "groups": {"dev, ops"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users/"+kimID+"?done=saved" {
		t.Fatalf("edit = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if u, _ := p.me(kim); u["name"] != "Kim Lee" || !slices.Equal(anyStrings(u["groups"]), []string{"dev", "ops"}) {
		t.Errorf("kim after the edit: %v", u)
	}
	res = p.adminForm(admin, "/admin/users/"+kimID+"/edit", url.Values{"name": {"Kim"}, "groups": {"two words"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "not a valid group name") {
		t.Errorf("a bad group = %d; want 400 with the reason", res.StatusCode)
	}
	if u, _ := p.me(kim); !slices.Equal(anyStrings(u["groups"]), []string{"dev", "ops"}) {
		t.Errorf("a refused edit changed kim's groups: %v", u["groups"])
	}

	// Disable, enable.
	p.adminForm(admin, "/admin/users/"+kimID+"/disable", nil)
	if p.meStatus(kim) != http.StatusUnauthorized {
		t.Error("kim's session survived the disable")
	}
	if res := p.adminForm(admin, "/admin/users/"+kimID+"/enable", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable = %d", res.StatusCode)
	}
	kim = p.login("kim@example.com")

	// Delete: the box must be ticked.
	if res := p.adminForm(admin, "/admin/users/"+kimID+"/delete", nil); res.StatusCode != http.StatusBadRequest || p.meStatus(kim) != http.StatusOK {
		t.Errorf("delete without confirming = %d; want 400 and kim untouched", res.StatusCode)
	}
	res = p.adminForm(admin, "/admin/users/"+kimID+"/delete", url.Values{"confirm": {"1"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users?done=deleted" || p.meStatus(kim) != http.StatusUnauthorized {
		t.Errorf("delete = %d %q, kim's session %d", res.StatusCode, res.Header.Get("Location"), p.meStatus(kim))
	}

	// Taking one's own admin away: this session stays on a new secret, the
	// others end, and the panel is closed to them.
	other := p.login("boss@example.com")
	bossID := p.userID(admin)
	res = p.adminForm(admin, "/admin/users/"+bossID+"/edit", url.Values{"name": {""}, "groups": {""}})
	c := sessionCookie(res.Response)
	if res.StatusCode != http.StatusSeeOther || c == nil || c.Value == admin {
		t.Fatalf("dropping one's own admin = %d, cookie %v", res.StatusCode, res.Header["Set-Cookie"])
	}
	if p.meStatus(other) != http.StatusUnauthorized || p.meStatus(c.Value) != http.StatusOK {
		t.Errorf("after dropping admin: other session %d (want 401), this one %d (want 200)", p.meStatus(other), p.meStatus(c.Value))
	}
	if res := p.do(request{method: "GET", path: "/admin/users", cookie: c.Value}); res.StatusCode != http.StatusForbidden {
		t.Errorf("the panel for a former admin = %d; want 403", res.StatusCode)
	}

	// A lockout says when to try again; the bans page lists and lifts it.
	lee := p.login("lee@example.com")
	for range 2 {
		p.do(request{method: "POST", path: "/login", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.20"},
			body: url.Values{"email": {"zed@example.com"}, "password": {"wrong-password-1"}}.Encode()})
	}
	res = p.do(request{method: "POST", path: "/login", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.20"},
		body: url.Values{"email": {"zed@example.com"}, "password": {"wrong-password-1"}}.Encode()})
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(res.Body), "You can try again at ") || res.Header.Get("Retry-After") == "" {
		t.Errorf("the lockout page = %d, Retry-After %q; want 429 saying when to try again", res.StatusCode, res.Header.Get("Retry-After"))
	}
	bans := string(p.do(request{method: "GET", path: "/admin/bans", cookie: lee}).Body)
	if !strings.Contains(bans, "zed@example.com") || !strings.Contains(bans, `aria-label="Lift the ban on zed@example.com"`) {
		t.Errorf("bans page lacks zed's ban:\n%s", bans)
	}
	if res := p.adminForm(lee, "/admin/bans/lift", url.Values{"target": {"zed@example.com"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("lift = %d", res.StatusCode)
	}
	if res := p.adminForm(lee, "/admin/bans/lift", url.Values{"target": {"zed@example.com"}}); res.StatusCode != http.StatusNotFound ||
		!strings.Contains(string(res.Body), "No ban is in force on zed@example.com") {
		t.Errorf("lift again = %d; want 404 saying there is none", res.StatusCode)
	}
	if res := p.adminForm(lee, "/admin/bans/lift", url.Values{"target": {"nonsense"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("lift nonsense = %d; want 400", res.StatusCode)
	}
	if empty := string(p.do(request{method: "GET", path: "/admin/bans", cookie: lee}).Body); strings.Contains(empty, "zed@example.com") && !strings.Contains(empty, "Nothing is blocked now.") {
		t.Errorf("bans page after the lift still lists zed")
	}
}
