package outbox_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/outbox"
)

// BenchmarkDrain3000 drains 3,000 deliveries to 3 receivers that answer at
// once (1,000 sessions of 3 apps ended together) through a sender on
// SQLite: the outbox's own cost per delivery, claim and finish included.
func BenchmarkDrain3000(b *testing.B) {
	for range b.N {
		b.StopTimer()
		store := newStore(b)
		var ds []*lacop.Delivery
		now := time.Now()
		for i := range 3000 {
			ds = append(ds, &lacop.Delivery{ID: fmt.Sprintf("d%05d", i), Kind: "test", Key: fmt.Sprintf("app%d", i%3),
				Payload: []byte("{}"), CreatedAt: now, NextAttemptAt: now})
		}
		if err := store.EnqueueDeliveries(context.Background(), ds...); err != nil {
			b.Fatal(err)
		}
		var sent atomic.Int32
		all := make(chan struct{})
		s := &outbox.Sender{Store: store, Poll: time.Hour, Handlers: map[string]outbox.Handler{
			"test": func(ctx context.Context, d *lacop.Delivery) error {
				if sent.Add(1) == 3000 {
					close(all)
				}
				return nil
			},
		}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- s.Run(ctx) }()
		<-all
		b.StopTimer()
		cancel()
		<-done
	}
}
