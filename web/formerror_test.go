package web

import (
	"testing"
	"time"
)

// base is a moment with seconds, to show that the clock time is rounded
// up to the minute (never earlier than the ban's end).
var base = time.Date(2026, 12, 6, 3, 13, 20, 0, time.UTC)

var waitTextTests = []struct {
	in   time.Duration
	want string
}{
	{0, "You can try again at 03:14 UTC, in a minute."},
	{-time.Second, "You can try again at 03:14 UTC, in a minute."},
	{time.Second, "You can try again at 03:14 UTC, in a minute."},
	{time.Minute, "You can try again at 03:15 UTC, in a minute."},
	{time.Minute + time.Second, "You can try again at 03:15 UTC, in 2 minutes."},
	{15 * time.Minute, "You can try again at 03:29 UTC, in 15 minutes."},
	{14*time.Minute + 30*time.Second, "You can try again at 03:28 UTC, in 15 minutes."},
	{40 * time.Second, "You can try again at 03:14 UTC, in a minute."},
}

func TestWaitText(t *testing.T) {
	for _, tt := range waitTextTests {
		if got := waitText(base, base.Add(tt.in)); got != tt.want {
			t.Errorf("waitText(+%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
