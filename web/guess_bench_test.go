package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/sessioncache"
)

// BenchmarkForwardAuthFlood is forward-auth under a flood of unknown
// cookies from one client: each a store miss while the client is not
// banned, none once it is; and what a live session from the banned client
// costs (the lookup as always, plus the cookie memory's hash and map read).
func BenchmarkForwardAuthFlood(b *testing.B) {
	s, _, a := newTestServer(b)
	cache := sessioncache.New(&sessioncache.LocalEpoch{}, sessioncache.DefaultSize)
	a.Sessions, a.Users, a.SecondFactors = cache.Sessions(a.Sessions), cache.Users(a.Users), cache.SecondFactors(a.SecondFactors)
	if _, err := a.CreateUser(b.Context(), auth.NewUser{Email: "fwd@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		b.Fatal(err)
	}
	in, err := a.Login(b.Context(), auth.LoginRequest{Email: "fwd@example.com", Password: "a-long-enough-passphrase"})
	if err != nil {
		b.Fatal(err)
	}
	// Requests are built beforehand, so only lacop's work is measured.
	junk := make([]*http.Request, 4096)
	for i := range junk {
		buf := make([]byte, 32)
		rand.Read(buf)
		junk[i] = forwardRequest(base64.RawURLEncoding.EncodeToString(buf))
	}
	live := forwardRequest(in.Secret)

	open := newGuessLimiter(1<<30, time.Minute, a.Now)
	banned := newGuessLimiter(1, time.Hour, a.Now)
	banned.miss(auth.AddressKey("127.0.0.1"))
	// The live session was used once before the flood began.
	s.guesses = open
	w := &headerOnly{h: http.Header{}}
	if s.ServeHTTP(w, live); w.status != http.StatusOK {
		b.Fatalf("live session: status %d", w.status)
	}
	for _, bc := range []struct {
		name    string
		limiter *guessLimiter
		request func(i int) *http.Request
		want    int
	}{
		{"unknown", open, func(i int) *http.Request { return junk[i%len(junk)] }, http.StatusUnauthorized},
		{"unknown-banned", banned, func(i int) *http.Request { return junk[i%len(junk)] }, http.StatusTooManyRequests},
		{"live-banned", banned, func(int) *http.Request { return live }, http.StatusOK},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s.guesses = bc.limiter
			w := &headerOnly{h: http.Header{}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clear(w.h)
				s.ServeHTTP(w, bc.request(i))
				i++
				if w.status != bc.want {
					b.Fatalf("status %d; want %d", w.status, bc.want)
				}
			}
		})
	}
}

// BenchmarkCookieMemory is what remembering cookies adds to every request
// with a cookie: the keyed hash and a map read.
func BenchmarkCookieMemory(b *testing.B) {
	m := newCookieMemory(time.Now)
	secret := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	m.live(m.key(secret), time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if known, _ := m.state(m.key(secret)); !known {
			b.Fatal("not known")
		}
	}
}
