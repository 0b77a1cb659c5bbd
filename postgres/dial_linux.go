package postgres

import (
	"golang.org/x/sys/unix"
	"syscall"
	"time"
)

// userTimeout sets TCP_USER_TIMEOUT: a connection whose sent data stays
// unacknowledged for d fails, so a query to a server that vanished behind
// a silent network fails in d instead of after TCP's many retries.
func userTimeout(d time.Duration) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
		})
		if err != nil {
			return err
		}
		return serr
	}
}
