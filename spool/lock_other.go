//go:build !unix

package spool

import "os"

// lock is the process's own mutex only where advisory file locks are not
// available: there one process at a time should spool to the file.
func lock(*os.File) (unlock func(), err error) { return func() {}, nil }
