//go:build unix

package spool

import (
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on f, shared with every process
// that spools to the same file.
func lock(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
