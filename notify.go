package lacop

import (
	"context"
	"time"
)

// SessionEnded announces that a session is over, so that open tabs and
// devices can be told at once.
type SessionEnded struct {
	SessionID string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	Reason    string    `json:"reason"`
	Time      time.Time `json:"time"`
}

// Notifier carries SessionEnded events to every lacop process that might
// hold a stream for the session: in-process, through the shared database, or
// through Redis pub/sub.
type Notifier interface {
	// Publish announces ended sessions. The sessions are already deleted; a
	// failure to publish only delays the news until streams re-check.
	Publish(ctx context.Context, events ...SessionEnded) error

	// Subscribe delivers events for sessionID until cancel is called. The
	// channel is buffered; a subscriber that does not read misses nothing
	// that matters, as one event ends its stream.
	Subscribe(sessionID string) (events <-chan SessionEnded, cancel func())
}
