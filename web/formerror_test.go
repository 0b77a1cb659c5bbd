package web

import (
	"testing"
	"time"
)

var waitTextTests = []struct {
	in   time.Duration
	want string
}{
	{0, "You can try again in a minute."},
	{-time.Second, "You can try again in a minute."},
	{time.Second, "You can try again in a minute."},
	{time.Minute, "You can try again in a minute."},
	{time.Minute + time.Second, "You can try again in 2 minutes."},
	{15 * time.Minute, "You can try again in 15 minutes."},
	{14*time.Minute + 30*time.Second, "You can try again in 15 minutes."},
}

func TestWaitText(t *testing.T) {
	for _, tt := range waitTextTests {
		if got := waitText(tt.in); got != tt.want {
			t.Errorf("waitText(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
