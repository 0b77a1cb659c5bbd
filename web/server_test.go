package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/notify"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/redirect"
	"github.com/lacop/lacop/seal"
	"github.com/lacop/lacop/sqlite"
)

// newTestServer builds a Server on a real SQLite store in a temp dir.
func newTestServer(t testing.TB) (*Server, *sqlite.DB, *auth.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lacop.db"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	a := auth.NewService(auth.Config{InactivityTimeout: time.Hour, Lifetime: 2 * time.Hour, RememberMeLifetime: 3 * time.Hour,
		Regulation: auth.Regulation{MaxFailures: 5, MaxFailuresPerIP: 20, Window: time.Minute, Ban: time.Minute}},
		auth.Stores{Users: sqlite.NewUserStore(db), Sessions: sqlite.NewSessionStore(db), Audit: sqlite.NewAuditStore(db),
			Setup: sqlite.NewSetupStore(db), SecondFactors: sqlite.NewSecondFactorStore(db), Regulation: sqlite.NewRegulationStore(db),
			Tokens: sqlite.NewTokenStore(db), Keys: sqlite.NewKeyStore(db), Notify: notify.NewLocal()},
		password.NewHasher(password.Params{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}, 2), sealer, logger)
	pub, _ := url.Parse("http://127.0.0.1:9440")
	rp, _ := redirect.New(pub.String(), nil)
	rules, err := access.New("one_factor", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{PublicURL: pub, Access: rules, MaxUnknownCookies: 1 << 30}, a, rp, db.Ping, logger)
	if err != nil {
		t.Fatal(err)
	}
	return s, db, a
}

// TestUnreachableStoreRefuses: when the store cannot answer, every check
// answers 503 (or 401), never lets a request through.
func TestUnreachableStoreRefuses(t *testing.T) {
	s, db, a := newTestServer(t)
	ctx := context.Background()
	if _, err := a.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		t.Fatal(err)
	}
	in, err := a.Login(ctx, auth.LoginRequest{Email: "a@example.com", Password: "a-long-enough-passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.AddCookie(&http.Cookie{Name: "__Host-lacop_session", Value: in.Secret})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := serve("GET", "/api/me", ""); w.Code != http.StatusOK {
		t.Fatalf("/api/me with a live store = %d", w.Code)
	}
	db.Close()
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/api/me", ""},
		{"GET", "/", ""},
		{"GET", "/readyz", ""},
		{"POST", "/api/login", `{"email":"a@example.com","password":"a-long-enough-passphrase"}`},
		{"POST", "/api/logout", ""},
	} {
		w := serve(tt.method, tt.path, tt.body)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the store down = %d; want 503", tt.method, tt.path, w.Code)
		}
		if c := w.Result().Cookies(); len(c) != 0 {
			t.Errorf("%s %s with the store down set cookies %v", tt.method, tt.path, c)
		}
	}
}
