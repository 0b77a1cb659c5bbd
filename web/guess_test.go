package web

import (
	"fmt"
	"testing"
	"time"
)

func TestGuessLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	g := newGuessLimiter(3, time.Minute, func() time.Time { return now })
	for i := 1; i <= 2; i++ {
		if g.miss("203.0.113.1") {
			t.Fatalf("miss %d banned; want a ban only at the 3rd", i)
		}
	}
	if _, blocked := g.blocked("203.0.113.1"); blocked {
		t.Fatal("blocked after 2 misses; want allowed")
	}
	if !g.miss("203.0.113.1") {
		t.Fatal("3rd miss did not ban")
	}
	if until, blocked := g.blocked("203.0.113.1"); !blocked || !until.Equal(now.Add(time.Minute)) {
		t.Errorf("blocked = %v until %v; want true until %v", blocked, until, now.Add(time.Minute))
	}
	if _, blocked := g.blocked("203.0.113.2"); blocked {
		t.Error("another address is blocked")
	}
	now = now.Add(time.Minute)
	if _, blocked := g.blocked("203.0.113.1"); blocked {
		t.Error("still blocked after the ban")
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
