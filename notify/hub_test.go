package notify

import (
	"context"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func TestLocalDeliversToItsSessionOnly(t *testing.T) {
	n := NewLocal()
	a1, cancelA1 := n.Subscribe("a")
	a2, cancelA2 := n.Subscribe("a")
	b, cancelB := n.Subscribe("b")
	defer cancelA1()
	defer cancelA2()
	defer cancelB()
	if err := n.Publish(context.Background(), lacop.SessionEnded{SessionID: "a", Reason: "logout"}); err != nil {
		t.Fatal(err)
	}
	for i, ch := range []<-chan lacop.SessionEnded{a1, a2} {
		select {
		case ev := <-ch:
			if ev.Reason != "logout" {
				t.Errorf("subscriber %d got reason %q; want logout", i, ev.Reason)
			}
		case <-time.After(time.Second):
			t.Errorf("subscriber %d of a got nothing", i)
		}
	}
	select {
	case ev := <-b:
		t.Errorf("subscriber of b got %v", ev)
	default:
	}
}

func TestDeliverNeverBlocks(t *testing.T) {
	h := NewHub()
	_, cancel := h.Subscribe("a")
	defer cancel()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ { // nobody reads: the buffer holds one
			h.Deliver(lacop.SessionEnded{SessionID: "a"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Deliver blocked on a subscriber that does not read")
	}
}

func TestCancelForgets(t *testing.T) {
	h := NewHub()
	_, c1 := h.Subscribe("a")
	_, c2 := h.Subscribe("b")
	if got := h.Subscribers(); got != 2 {
		t.Fatalf("Subscribers() = %d; want 2", got)
	}
	c1()
	c1() // twice is harmless
	c2()
	if got := h.Subscribers(); got != 0 {
		t.Errorf("Subscribers() after cancel = %d; want 0", got)
	}
}
