//go:build unix

package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise sets the soft RLIMIT_NOFILE to the hard limit and returns the soft
// limit in force afterwards. Go's os package already does this at start
// on most systems; Raise does not rely on it, and it reads the figure that
// lacop's connection caps are derived from. Where the hard limit cannot be
// taken as it is (macOS refuses "unlimited"), the limit stays as it was and
// the error says why.
func Raise() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("fdlimit: read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur >= lim.Max {
		return uint64(lim.Cur), nil
	}
	soft := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return uint64(soft), fmt.Errorf("fdlimit: raise RLIMIT_NOFILE from %d to %d: %w", soft, lim.Max, err)
	}
	return uint64(lim.Max), nil
}
