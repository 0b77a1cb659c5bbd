package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/sessioncache"
)

// forwardRequest is a forward-auth request for app.example.com/x.
func forwardRequest(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/api/authz/forward-auth", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-Method", "GET")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "app.example.com")
	r.Header.Set("X-Forwarded-Uri", "/x")
	r.Header.Set("Accept", "application/json")
	if cookie != "" {
		r.Header.Set("Cookie", "__Host-lacop_session="+cookie)
	}
	return r
}

// headerOnly is the cheapest ResponseWriter: it keeps the status only, so
// the benchmark measures lacop and not the recorder.
type headerOnly struct {
	h      http.Header
	status int
}

func (w *headerOnly) Header() http.Header         { return w.h }
func (w *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerOnly) WriteHeader(status int)      { w.status = status }

// BenchmarkForwardAuth is the in-process cost of one forward-auth decision
// through the whole handler stack (security headers, cross-origin check,
// router), beside an empty handler behind the same stack: the CPU the
// server spends beyond an empty handler. tools/fwdload measures the same
// over real HTTP.
func BenchmarkForwardAuth(b *testing.B) {
	s, _, a := newTestServer(b)
	if _, err := a.CreateUser(b.Context(), auth.NewUser{Email: "fwd@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		b.Fatal(err)
	}
	in, err := a.Login(b.Context(), auth.LoginRequest{Email: "fwd@example.com", Password: "a-long-enough-passphrase"})
	if err != nil {
		b.Fatal(err)
	}
	// The same server again, with the session cache cmd/lacop wires in.
	cs, _, ca := newTestServer(b)
	cache := sessioncache.New(&sessioncache.LocalEpoch{}, sessioncache.DefaultSize)
	ca.Sessions, ca.Users, ca.SecondFactors = cache.Sessions(ca.Sessions), cache.Users(ca.Users), cache.SecondFactors(ca.SecondFactors)
	if _, err := ca.CreateUser(b.Context(), auth.NewUser{Email: "fwd@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		b.Fatal(err)
	}
	cin, err := ca.Login(b.Context(), auth.LoginRequest{Email: "fwd@example.com", Password: "a-long-enough-passphrase"})
	if err != nil {
		b.Fatal(err)
	}
	empty := s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, bc := range []struct {
		name    string
		handler http.Handler
		cookie  string
		want    int
	}{
		{"empty", empty, "", http.StatusOK},
		{"authenticated", s, in.Secret, http.StatusOK},
		{"authenticated-cached", cs, cin.Secret, http.StatusOK},
		{"anonymous", s, "", http.StatusUnauthorized},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := forwardRequest(bc.cookie)
			w := &headerOnly{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.handler.ServeHTTP(w, r)
				if w.status != bc.want {
					b.Fatalf("status %d; want %d", w.status, bc.want)
				}
			}
		})
	}
}
