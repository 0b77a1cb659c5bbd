package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// adminAppsAnswer is GET /api/admin/apps.
type adminAppsAnswer struct {
	Apps []struct {
		ID                     string   `json:"id"`
		Name                   string   `json:"name"`
		Public                 bool     `json:"public"`
		Consent                string   `json:"consent"`
		RedirectURIs           []string `json:"redirectUris"`
		PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
		BackchannelLogoutURI   string   `json:"backchannelLogoutUri"`
		FrontchannelLogoutURI  string   `json:"frontchannelLogoutUri"`
		Scopes                 []string `json:"scopes"`
		Groups                 []string `json:"groups"`
		Sessions               int      `json:"sessions"`
		People                 []struct {
			UserID   string    `json:"userId"`
			Email    string    `json:"email"`
			Sessions int       `json:"sessions"`
			Since    time.Time `json:"since"`
		} `json:"people"`
	} `json:"apps"`
	Deliveries map[string]int      `json:"deliveries"`
	Pending    []adminAppsDelivery `json:"pending"`
	Failed     []adminAppsDelivery `json:"failed"`
}

type adminAppsDelivery struct {
	App       string    `json:"app"`
	Kind      string    `json:"kind"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError"`
	CreatedAt time.Time `json:"createdAt"`
	NextAt    time.Time `json:"nextAttemptAt"`
}

// people is an app's signed-in people as email → sessions.
func (a adminAppsAnswer) people(appID string) map[string]int {
	out := map[string]int{}
	for _, app := range a.Apps {
		if app.ID == appID {
			for _, p := range app.People {
				out[p.Email] = p.Sessions
			}
		}
	}
	return out
}

// deliveryFor is the first row of list for the app named name, or nil.
func deliveryFor(list []adminAppsDelivery, name string) *adminAppsDelivery {
	for i := range list {
		if list[i].App == name {
			return &list[i]
		}
	}
	return nil
}

// hashClientSecret runs lacop oidc hash-secret, as an operator makes the
// configuration's secret.
func hashClientSecret(t *testing.T, secret string) string {
	t.Helper()
	cmd := exec.Command(binary, "oidc", "hash-secret")
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(secret + "\n")
	out, err := cmd.Output()
	hash := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("lacop oidc hash-secret = %q, %v", out, err)
	}
	return hash
}

// addUsers runs lacop user add for each of users (an email and flags) at
// once: each pays for a process start and a password hash.
func addUsers(t *testing.T, p *portal, users ...[]string) {
	t.Helper()
	errs := make([]error, len(users))
	outs := make([]string, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			outs[i], errs[i] = p.cli(testPassword+"\n", append([]string{"user", "add", u[0], "--password-stdin"}, u[1:]...)...)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("user add %s: %v\n%s", users[i][0], err, outs[i])
		}
	}
}

// backchannelReceiver answers every back-channel logout with status and
// body, and counts them.
func backchannelReceiver(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.FormValue("logout_token") != "" {
			n.Add(1)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestAdminApps: the admin panel's apps page and API show each configured
// app's configuration but never its secret, who is signed in to it through
// which sessions, and the back-channel logouts that did not go through:
// those being retried (a 503, a closed port) with the app's last answer,
// and those given up after a refusal (4xx). Only admins see it.
func TestAdminApps(t *testing.T) {
	t.Parallel()
	wikiSecret, notesSecret := randomToken()+randomToken(), randomToken()+randomToken()
	leaks.secret("client secret", wikiSecret)
	leaks.secret("client secret", notesSecret)
	wikiHash := hashClientSecret(t, wikiSecret)

	down, downHits := backchannelReceiver(t, http.StatusServiceUnavailable, "down for maintenance")
	refusing, refusedHits := backchannelReceiver(t, http.StatusBadRequest, "unknown sid")
	closed := "http://" + freeAddr(t) + "/backchannel" // nobody listens there

	// Redirect URIs nobody serves: the code is read from lacop's redirect.
	const (
		wikiRedirect  = "http://127.0.0.1:1/wiki/callback"
		boardRedirect = "http://localhost:1/board/callback"
		notesRedirect = "http://[::1]:1/notes/callback"
	)
	p := startPortal(t, fmt.Sprintf(`oidc:
  backchannel_retry: 1h
  clients:
    - id: wiki
      name: Team Wiki
      secret: %q
      redirect_uris: [%q]
      post_logout_redirect_uris: [http://127.0.0.1:1/wiki/]
      backchannel_logout_uri: %s/backchannel
      backchannel_logout_session_required: true
      scopes: [openid, profile, email, offline_access]
    - id: board
      name: Status Board
      public: true
      redirect_uris: [%q]
      backchannel_logout_uri: %s
      frontchannel_logout_uri: http://localhost:1/board/frontchannel
      groups: [staff]
    - id: notes
      name: Notes
      secret: "$plaintext$%s"
      consent: implicit
      redirect_uris: [%q]
      backchannel_logout_uri: %s/backchannel
`, wikiHash, wikiRedirect, down.URL, boardRedirect, closed, notesSecret, notesRedirect, refusing.URL))
	addUsers(t, p, []string{"root@example.com", "--admin"}, []string{"ann@example.com", "--group", "staff"},
		[]string{"bob@example.com", "--group", "staff"})
	admin := p.login("root@example.com")
	meta := p.providerMetadata()

	// Who may look: an admin only.
	for _, path := range []string{"/api/admin/apps", "/admin/apps"} {
		res := p.do(request{method: "GET", path: path})
		if path == "/api/admin/apps" && res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s = %d; want 401", path, res.StatusCode)
		}
		if loc := res.Header.Get("Location"); path == "/admin/apps" && (res.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/login")) {
			t.Errorf("anonymous GET %s = %d to %q; want a redirect to the login page", path, res.StatusCode, loc)
		}
	}

	// Bob signs in to all three apps through one session; Ann to the wiki
	// through two sessions (two devices) and to the board through one.
	bob := newUserAgent(t, p, "bob@example.com")
	bob.signInToApp(meta, "wiki", wikiSecret, wikiRedirect)
	bob.signInToApp(meta, "board", "", boardRedirect)
	bob.signInToApp(meta, "notes", notesSecret, notesRedirect)
	annPhone, annLaptop := newUserAgent(t, p, "ann@example.com"), newUserAgent(t, p, "ann@example.com")
	annPhone.signInToApp(meta, "wiki", wikiSecret, wikiRedirect)
	annLaptop.signInToApp(meta, "wiki", wikiSecret, wikiRedirect)
	annLaptop.signInToApp(meta, "board", "", boardRedirect)

	for _, path := range []string{"/api/admin/apps", "/admin/apps"} {
		if res := p.do(request{method: "GET", path: path, cookie: annLaptop.lacopCookie()}); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin = %d; want 403", path, res.StatusCode)
		}
	}

	secrets := []string{wikiSecret, notesSecret, wikiHash, wikiHash[strings.LastIndex(wikiHash, "$")+1:], "$plaintext$", "argon2id"}
	noSecrets := func(what string, body []byte) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(string(body), s) || strings.Contains(html.UnescapeString(string(body)), s) {
				t.Errorf("%s shows a client secret or its hash (%.16q…)", what, s)
			}
		}
	}
	adminApps := func() (adminAppsAnswer, *response) {
		t.Helper()
		res := p.do(request{method: "GET", path: "/api/admin/apps", cookie: admin})
		var v adminAppsAnswer
		if res.StatusCode != http.StatusOK || json.Unmarshal(res.Body, &v) != nil {
			t.Fatalf("GET /api/admin/apps as an admin = %d %s", res.StatusCode, res.Body)
		}
		return v, res
	}

	v, res := adminApps()
	noSecrets("GET /api/admin/apps", res.Body)
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("GET /api/admin/apps Cache-Control = %q; want no-store", cc)
	}
	var ids []string
	for _, a := range v.Apps {
		ids = append(ids, a.ID)
	}
	if !slices.Equal(ids, []string{"wiki", "board", "notes"}) {
		t.Fatalf("apps = %q; want wiki, board, notes in configuration order", ids)
	}
	wiki, board, notes := v.Apps[0], v.Apps[1], v.Apps[2]
	if wiki.Name != "Team Wiki" || wiki.Public || wiki.Consent != "implicit" ||
		!slices.Equal(wiki.RedirectURIs, []string{wikiRedirect}) ||
		!slices.Equal(wiki.PostLogoutRedirectURIs, []string{"http://127.0.0.1:1/wiki/"}) ||
		wiki.BackchannelLogoutURI != down.URL+"/backchannel" || wiki.FrontchannelLogoutURI != "" ||
		!slices.Equal(wiki.Scopes, []string{"openid", "profile", "email", "offline_access"}) || len(wiki.Groups) != 0 {
		t.Errorf("wiki as listed: %+v", wiki)
	}
	if board.Name != "Status Board" || !board.Public || !slices.Equal(board.RedirectURIs, []string{boardRedirect}) ||
		board.BackchannelLogoutURI != closed || board.FrontchannelLogoutURI != "http://localhost:1/board/frontchannel" ||
		!slices.Equal(board.Groups, []string{"staff"}) || len(board.Scopes) == 0 || len(board.PostLogoutRedirectURIs) != 0 {
		t.Errorf("board as listed: %+v", board)
	}
	if notes.Name != "Notes" || notes.Public || notes.BackchannelLogoutURI != refusing.URL+"/backchannel" {
		t.Errorf("notes as listed: %+v", notes)
	}
	wantPeople := map[string]map[string]int{
		"wiki":  {"bob@example.com": 1, "ann@example.com": 2},
		"board": {"bob@example.com": 1, "ann@example.com": 1},
		"notes": {"bob@example.com": 1},
	}
	wantSessions := map[string]int{"wiki": 3, "board": 2, "notes": 1}
	for _, a := range v.Apps {
		if got := v.people(a.ID); !maps.Equal(got, wantPeople[a.ID]) {
			t.Errorf("%s: people signed in = %v; want %v", a.ID, got, wantPeople[a.ID])
		}
		if a.Sessions != wantSessions[a.ID] {
			t.Errorf("%s: sessions = %d; want %d", a.ID, a.Sessions, wantSessions[a.ID])
		}
		for _, person := range a.People {
			if person.UserID == "" || person.Since.IsZero() || time.Since(person.Since) > time.Minute {
				t.Errorf("%s: person %+v; want a user id and a recent since", a.ID, person)
			}
		}
	}

	page := p.do(request{method: "GET", path: "/admin/apps", cookie: admin})
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/apps as an admin = %d", page.StatusCode)
	}
	noSecrets("/admin/apps", page.Body)
	text := html.UnescapeString(string(page.Body))
	for _, want := range []string{"Team Wiki", "Status Board", "Notes", wikiRedirect, boardRedirect, down.URL + "/backchannel",
		"bob@example.com", "ann@example.com", "members of staff", "public (PKCE, no secret)", "confidential (client secret)"} {
		if !strings.Contains(text, want) {
			t.Errorf("/admin/apps does not show %q", want)
		}
	}

	// Bob signs out: each of his three apps is sent a back-channel logout.
	// The wiki's receiver answers 503 and the board's port is closed: both
	// are retried, with their last answer shown; the notes app refuses
	// (400), which is not retried but given up at once.
	if res := p.do(request{method: "POST", path: "/api/logout", cookie: bob.lacopCookie()}); res.StatusCode != http.StatusOK {
		t.Fatalf("bob's sign-out = %d %s", res.StatusCode, res.Body)
	}
	var wikiRow, boardRow, notesRow *adminAppsDelivery
	ok := waitFor(20*time.Second, func() bool {
		v, _ = adminApps()
		wikiRow, boardRow, notesRow = deliveryFor(v.Pending, "Team Wiki"), deliveryFor(v.Pending, "Status Board"), deliveryFor(v.Failed, "Notes")
		// Two attempts at the wiki: it was retried, and the notes app's
		// refusal has had the time to be retried too, had it been.
		return wikiRow != nil && wikiRow.Attempts >= 2 && boardRow != nil && boardRow.Attempts >= 1 && notesRow != nil
	})
	if !ok {
		t.Fatalf("after bob's sign-out the deliveries are pending %+v, failed %+v; want the wiki's retried twice, the board's tried, the notes' given up", v.Pending, v.Failed)
	}
	if !strings.Contains(wikiRow.LastError, "503") || !strings.Contains(wikiRow.LastError, "down for maintenance") || !wikiRow.NextAt.After(wikiRow.CreatedAt) {
		t.Errorf("wiki's pending logout %+v; want the last answer (503, with its body) and a later next attempt", *wikiRow)
	}
	if !strings.Contains(boardRow.LastError, "connection refused") || !boardRow.NextAt.After(boardRow.CreatedAt) {
		t.Errorf("board's pending logout %+v; want connection refused and a later next attempt", *boardRow)
	}
	if notesRow.Attempts != 1 || !strings.Contains(notesRow.LastError, "400") || !strings.Contains(notesRow.LastError, "unknown sid") {
		t.Errorf("notes' given-up logout %+v; want one attempt and its 400 answer", *notesRow)
	}
	if deliveryFor(v.Pending, "Notes") != nil || deliveryFor(v.Failed, "Team Wiki") != nil || deliveryFor(v.Failed, "Status Board") != nil {
		t.Errorf("deliveries in the wrong list: pending %+v, failed %+v", v.Pending, v.Failed)
	}
	if v.Deliveries["pending"] < 2 || v.Deliveries["failed"] != 1 {
		t.Errorf("delivery counts = %v; want at least 2 pending and 1 failed", v.Deliveries)
	}
	if n := refusedHits.Load(); n != 1 {
		t.Errorf("the refusing app was sent %d logouts; want 1 (a 4xx is not retried)", n)
	}
	if n := downHits.Load(); n < 2 {
		t.Errorf("the app answering 503 was sent %d logouts; want at least 2 (retried)", n)
	}
	// Bob is no longer signed in to any app; Ann still is.
	wantPeople = map[string]map[string]int{
		"wiki":  {"ann@example.com": 2},
		"board": {"ann@example.com": 1},
		"notes": {},
	}
	for _, a := range v.Apps {
		if got := v.people(a.ID); !maps.Equal(got, wantPeople[a.ID]) {
			t.Errorf("after bob's sign-out, %s: people = %v; want %v", a.ID, got, wantPeople[a.ID])
		}
	}

	page = p.do(request{method: "GET", path: "/admin/apps", cookie: admin})
	text = html.UnescapeString(string(page.Body))
	for _, want := range []string{"503 Service Unavailable: down for maintenance", "connection refused", "400 Bad Request: unknown sid"} {
		if !strings.Contains(text, want) {
			t.Errorf("/admin/apps does not show the last answer %q", want)
		}
	}
	noSecrets("/admin/apps after sign-out", page.Body)

	// (The CLI warns first about the plaintext secret: count event lines.)
	var failed []string
	for _, line := range strings.Split(p.auditOutput("--user", "bob@example.com", "--type", "oidc.logout_failed"), "\n") {
		if auditType(line) == "oidc.logout_failed" {
			failed = append(failed, line)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], `client="notes"`) || !strings.Contains(failed[0], "400 Bad Request") {
		t.Errorf("bob's oidc.logout_failed events = %q; want one, for notes, with its answer", failed)
	}
}
