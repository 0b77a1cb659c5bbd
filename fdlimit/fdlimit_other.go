//go:build !unix

package fdlimit

// Raise reports 0: this platform has no RLIMIT_NOFILE to raise or read,
// and callers fall back to their defaults.
func Raise() (uint64, error) { return 0, nil }
