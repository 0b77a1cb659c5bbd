package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
)

// login stands for "sign in first": 302 to the login page from forward-auth
// (a browser navigation), 401 from nginx's auth-request.
const login = -1

// pathRules are the rules of issue 14: docs.example.com/public/ is open to
// all, app.example.com/admin to nobody, everything else needs a sign-in.
var pathRules = []access.Rule{
	{Domain: "docs.example.com", Policy: "bypass", Resources: []string{"/public/"}},
	{Domain: "app.example.com", Policy: "deny", Resources: []string{"/admin"}},
}

// hostilePaths are forwarded request targets and what an anonymous browser
// must get for them. A path the upstream would serve outside /public/ never
// gets 200; a path it would serve under /admin never gets past 403; a path
// upstreams read differently gets 400.
var hostilePaths = []struct {
	host, uri string
	want      int
}{
	// What is meant to pass, in plain and in harmless spellings.
	{"docs.example.com", "/public/ok.txt", http.StatusOK},
	{"docs.example.com", "/public/", http.StatusOK},
	{"docs.example.com", "/public/x?/../secret", http.StatusOK}, // the dots are in the query
	{"docs.example.com", "/%70ublic/ok.txt", http.StatusOK},     // an encoded letter is the letter
	{"docs.example.com", "/public/%7e/x", http.StatusOK},
	{"docs.example.com", "/public/./ok.txt", http.StatusOK},
	{"docs.example.com", "/public/%2e", http.StatusOK},
	{"docs.example.com", "/public/a/../ok.txt", http.StatusOK},
	{"docs.example.com", "/public/caf%C3%A9.txt", http.StatusOK}, // non-ASCII is not ambiguous
	{"docs.example.com", "/public/a%20b.txt", http.StatusOK},
	{"docs.example.com", "/public/ok.txt.", http.StatusOK},
	// Climbing out of /public/: the upstream serves /secret.
	{"docs.example.com", "/public/%2e%2e/secret", login},
	{"docs.example.com", "/public/%2E%2E/secret", login},
	{"docs.example.com", "/public/.%2e/secret", login},
	{"docs.example.com", "/public/%2e./secret", login},
	{"docs.example.com", "/public/../secret", login},
	{"docs.example.com", "/public/..;/secret", login}, // Tomcat, Jetty, Spring: /public/../secret
	{"docs.example.com", "/public/%2e%2e;/secret", login},
	{"docs.example.com", "/public/..;x=1/secret", login},
	{"docs.example.com", "/public/%2e%2e%3b/secret", login},
	{"docs.example.com", "/public;x/../secret", login},
	{"docs.example.com", "/public/x/../../secret", login},
	{"docs.example.com", "/public/ok.txt;/../../secret", login},
	{"docs.example.com", "/public/..", login},
	{"docs.example.com", "//public/../secret", login},
	{"docs.example.com", "/public", login},           // /public is not under /public/
	{"docs.example.com", "/PUBLIC/ok.txt", login},    // not the same resource where case matters
	{"docs.example.com", "/Public/../secret", login}, // case-insensitive upstreams included
	{"docs.example.com", "/secret.txt", login},
	// Ambiguous: refused rather than guessed.
	{"docs.example.com", "/public/%2e%2e%2fsecret", http.StatusBadRequest},
	{"docs.example.com", "/public/..%2Fsecret", http.StatusBadRequest},
	{"docs.example.com", "/public/..%2f..%2fsecret", http.StatusBadRequest},
	{"docs.example.com", "/public/..%5Csecret", http.StatusBadRequest},
	{"docs.example.com", `/public/..\secret`, http.StatusBadRequest},
	{"docs.example.com", `/public\..\secret.txt`, http.StatusBadRequest},
	{"docs.example.com", "/public/%252e%252e/secret", http.StatusBadRequest},   // decoded twice by some chains
	{"docs.example.com", "/public/%c0%ae%c0%ae/secret", http.StatusBadRequest}, // overlong UTF-8 for "."
	{"docs.example.com", "/public/%u002e%u002e/secret", http.StatusBadRequest}, // IIS's %u escapes
	{"docs.example.com", "/public/../../secret", http.StatusBadRequest},        // above the root
	{"docs.example.com", "/public//../secret", http.StatusBadRequest},          // ".." of an empty segment
	{"docs.example.com", "/public/..%20/secret", http.StatusBadRequest},        // Windows reads "..␠" as ".."
	{"docs.example.com", "/public/.../secret", http.StatusBadRequest},
	{"docs.example.com", "/public/%00/../secret", http.StatusBadRequest},
	{"docs.example.com", "/public/x%00.txt", http.StatusBadRequest},
	{"docs.example.com", "/public/x%0a", http.StatusBadRequest},
	{"docs.example.com", "/public/x%zz", http.StatusBadRequest},
	{"docs.example.com", "/public/x%4", http.StatusBadRequest},
	{"docs.example.com", "/public/x#/../../secret", http.StatusBadRequest}, // nginx passes '#' on; Go reads it as path
	// The deny rule, however /admin is spelt.
	{"app.example.com", "/admin", http.StatusForbidden},
	{"app.example.com", "/admin/", http.StatusForbidden},
	{"app.example.com", "/admin/users", http.StatusForbidden},
	{"app.example.com", "/administrator", http.StatusForbidden}, // a prefix is text (docs/configuration.md)
	{"app.example.com", "/%61dmin", http.StatusForbidden},
	{"app.example.com", "/%61%64%6d%69%6e", http.StatusForbidden},
	{"app.example.com", "/adm%69n/", http.StatusForbidden},
	{"app.example.com", "//admin", http.StatusForbidden},
	{"app.example.com", "///admin/x", http.StatusForbidden},
	{"app.example.com", "/./admin", http.StatusForbidden},
	{"app.example.com", "/%2e/admin", http.StatusForbidden},
	{"app.example.com", "/x/../admin", http.StatusForbidden},
	{"app.example.com", "/x/%2e%2e/admin", http.StatusForbidden},
	{"app.example.com", "/a/b/../../admin", http.StatusForbidden},
	{"app.example.com", "/;/admin", http.StatusForbidden}, // Tomcat: //admin
	{"app.example.com", "/;x=1/admin", http.StatusForbidden},
	{"app.example.com", "/.;/admin", http.StatusForbidden},
	{"app.example.com", "/x/..;/admin", http.StatusForbidden},
	{"app.example.com", "/Admin", http.StatusForbidden}, // IIS, Windows and macOS file systems
	{"app.example.com", "/ADMIN/x", http.StatusForbidden},
	{"app.example.com", "/%41dmin", http.StatusForbidden},
	{"app.example.com", "/admin;jsessionid=1", http.StatusForbidden},
	{"app.example.com", "/admin?x", http.StatusForbidden},
	{"app.example.com", "/admin.", http.StatusForbidden},
	{"app.example.com", "/admin%20", http.StatusForbidden},
	{"app.example.com", "/admin#", http.StatusBadRequest},
	{"app.example.com", "/admin%2f", http.StatusBadRequest},
	{"app.example.com", "/admin%00", http.StatusBadRequest},
	{"app.example.com", "/../admin", http.StatusBadRequest},
	{"app.example.com", "/%2e%2e/admin", http.StatusBadRequest},
	{"app.example.com", "/x/../../admin", http.StatusBadRequest},
	// Not /admin.
	{"app.example.com", "/", login},
	{"app.example.com", "/x/admin", login},
	{"app.example.com", "/x?/admin", login},
	{"app.example.com", "/admi", login},
	// Hosts: one trailing dot is the same host; anything else malformed is 400.
	{"app.example.com.", "/admin", http.StatusForbidden},
	{"APP.Example.COM:8443", "/admin", http.StatusForbidden},
	{"app.example.com..", "/admin", http.StatusBadRequest},
	{"app..example.com", "/admin", http.StatusBadRequest},
	{".app.example.com", "/admin", http.StatusBadRequest},
	{"app.example.com:99999", "/admin", http.StatusBadRequest},
	{strings.Repeat("a", 64) + ".example.com", "/", http.StatusBadRequest},
	{strings.Repeat("a", 63) + ".example.com", "/", login},
	{"[2001:db8::1]:443", "/", login},
	{"[2001:db8::1]", "/admin", login},
}

// pathServer is a test server with pathRules.
func pathServer(t testing.TB) (*Server, *auth.Service) {
	t.Helper()
	s, _, a := newTestServer(t)
	rules, err := access.New("one_factor", pathRules)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Access = rules
	return s, a
}

// TestHostilePaths asks forward-auth (Traefik, Caddy) and auth-request
// (nginx) about every hostile path as an anonymous browser.
func TestHostilePaths(t *testing.T) {
	s, _ := pathServer(t)
	for _, tt := range hostilePaths {
		for _, via := range []string{"forward-auth", "auth-request"} {
			r := httptest.NewRequest("GET", "/api/authz/"+via, nil)
			r.Header.Set("Accept", "text/html")
			if via == "forward-auth" {
				r.Header.Set("X-Forwarded-Proto", "https")
				r.Header.Set("X-Forwarded-Host", tt.host)
				r.Header.Set("X-Forwarded-Uri", tt.uri)
			} else {
				r.Header.Set("X-Original-URL", "https://"+tt.host+tt.uri)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			want := tt.want
			if want == login {
				want = map[string]int{"forward-auth": http.StatusFound, "auth-request": http.StatusUnauthorized}[via]
			}
			if w.Code != want {
				t.Errorf("%s %s%s = %d; want %d", via, tt.host, tt.uri, w.Code, want)
			}
		}
	}
}
