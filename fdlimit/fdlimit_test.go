//go:build unix

package fdlimit

import (
	"syscall"
	"testing"
)

// TestRaise: after Raise the soft limit is the hard limit, and Raise says
// so. The test lowers the soft limit first (a process may always lower
// it), so Raise has something to do, and puts it back at the end.
func TestRaise(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	low := orig
	low.Cur = min(orig.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	got, err := Raise()
	var now syscall.Rlimit
	if gerr := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); gerr != nil {
		t.Fatal(gerr)
	}
	if err != nil {
		// Only where the hard limit cannot be set as it is (macOS).
		if got != uint64(low.Cur) || now.Cur != low.Cur {
			t.Errorf("Raise() = %d, %v with soft limit %d; want the unchanged figure %d", got, err, now.Cur, low.Cur)
		}
		return
	}
	if got != uint64(orig.Max) || uint64(now.Cur) != uint64(orig.Max) {
		t.Errorf("Raise() = %d, soft limit now %d; want both the hard limit %d", got, now.Cur, orig.Max)
	}
	if again, err := Raise(); err != nil || again != got {
		t.Errorf("second Raise() = %d, %v; want %d, nil", again, err, got)
	}
}
