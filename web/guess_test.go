package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

func TestGuessLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	g := newGuessLimiter(3, time.Minute, func() time.Time { return now })
	for i := 1; i <= 2; i++ {
		if g.miss("203.0.113.1") {
			t.Fatalf("miss %d banned; want a ban only at the 3rd", i)
		}
	}
	if _, ok := g.admit("203.0.113.1"); !ok {
		t.Fatal("not admitted after 2 misses; want admitted")
	}
	if !g.miss("203.0.113.1") {
		t.Fatal("3rd miss did not ban")
	}
	// Banned: one lookup per window/limit (20s), none at once.
	if until, ok := g.admit("203.0.113.1"); ok || !until.Equal(now.Add(20*time.Second)) {
		t.Errorf("admit right after the ban = %v, retry at %v; want false, retry at %v", ok, until, now.Add(20*time.Second))
	}
	if _, ok := g.admit("203.0.113.2"); !ok {
		t.Error("another client is not admitted")
	}
	now = now.Add(20 * time.Second)
	if _, ok := g.admit("203.0.113.1"); !ok {
		t.Error("banned client not admitted once its spacing passed")
	}
	if _, ok := g.admit("203.0.113.1"); ok {
		t.Error("banned client admitted twice in one spacing")
	}
	now = now.Add(40 * time.Second)
	if _, ok := g.admit("203.0.113.1"); !ok {
		t.Error("not admitted after the ban")
	}
	if g.miss("203.0.113.1") {
		t.Error("the first miss of a new window banned")
	}
}

func TestGuessLimiterBoundedMemory(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	g := newGuessLimiter(3, time.Minute, func() time.Time { return now })
	for i := 0; i < maxTracked+10; i++ {
		g.miss(fmt.Sprintf("2001:db8::%x", i))
	}
	if n := len(g.counts); n > maxTracked {
		t.Errorf("tracking %d addresses; want at most %d", n, maxTracked)
	}
}

func TestCookieMemory(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	m := newCookieMemory(func() time.Time { return now })
	a, b := m.key("secret-a"), m.key("secret-b")
	m.live(a, now.Add(time.Hour))
	m.ended(b) // never seen live: stays unknown
	m.live(m.key("past"), now.Add(-time.Second))
	for _, tt := range []struct {
		name        string
		k           cookieKey
		known, dead bool
	}{
		{"live", a, true, false},
		{"ended unseen", b, false, false},
		{"already over", m.key("past"), false, false},
	} {
		if known, dead := m.state(tt.k); known != tt.known || dead != tt.dead {
			t.Errorf("state(%s) = %v, %v; want %v, %v", tt.name, known, dead, tt.known, tt.dead)
		}
	}
	m.ended(a)
	if known, dead := m.state(a); !known || !dead {
		t.Errorf("state after ended = %v, %v; want true, true", known, dead)
	}
	now = now.Add(time.Hour)
	if known, _ := m.state(a); known {
		t.Error("remembered past the session's end")
	}
}

// TestCheckCookieUnderBan: with the client banned, a cookie handed out or
// seen live is still looked up and served; a cookie of a session that ended
// is answered 401 without counting; unknown cookies get 429.
func TestCheckCookieUnderBan(t *testing.T) {
	s, _, a := newTestServer(t)
	s.guesses = newGuessLimiter(2, time.Minute, a.Now)
	ctx := context.Background()
	if _, err := a.CreateUser(ctx, auth.NewUser{Email: "nat@example.com", Password: "a-long-enough-passphrase"}, "", auth.Client{}); err != nil {
		t.Fatal(err)
	}
	signIn := func() string {
		r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"email":"nat@example.com","password":"a-long-enough-passphrase"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			if c.Name == s.cookieName {
				return c.Value
			}
		}
		t.Fatalf("sign-in = %d, no cookie", w.Code)
		return ""
	}
	me := func(secret string) int {
		r := httptest.NewRequest("GET", "/api/me", nil)
		r.AddCookie(&http.Cookie{Name: s.cookieName, Value: secret})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	live, ended := signIn(), signIn()
	if code := me(ended); code != http.StatusOK {
		t.Fatalf("/api/me = %d", code)
	}
	if err := a.Logout(ctx, ended, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	// Stale cookies do not count, however often they come back.
	for i := 0; i < 5; i++ {
		if code := me(ended); code != http.StatusUnauthorized {
			t.Fatalf("ended cookie, try %d = %d; want 401", i, code)
		}
	}
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		if code := me(strings.Repeat(string(rune('a'+i)), 43)); code != want {
			t.Errorf("unknown cookie %d = %d; want %d", i, code, want)
		}
	}
	if code := me(live); code != http.StatusOK {
		t.Errorf("live cookie from the banned client = %d; want 200", code)
	}
	if id, err := s.checkCookie(ctx, ended, auth.Client{IP: "192.0.2.1"}); id != nil || lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED {
		t.Errorf("ended cookie from another client = %v, %v; want 401", id, err)
	}
}
