package redis

import (
	"context"
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// listen holds one subscription to channel until it fails or ctx ends:
// subscribed is called once Redis confirms it, handle with every message's
// payload. A subscription silent for check is pinged, and one whose ping
// goes unanswered as long again is taken for dead.
func (c *Client) listen(ctx context.Context, channel string, check time.Duration, subscribed func(), handle func(payload string)) error {
	ps := c.rdb.Subscribe(ctx, channel)
	defer ps.Close()
	// Receive does not watch ctx; closing the subscription ends it.
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, check)
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && errors.As(err, &ne) && ne.Timeout() && !pinged:
			pinged = true
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				subscribed()
			}
		case *goredis.Message:
			handle(m.Payload)
		}
	}
}
