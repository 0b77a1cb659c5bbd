//go:build unix

package sessioncache

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// FileEpoch is an Epoch shared by every process on one machine that opens
// the same file: the counter lives in a shared memory mapping of it, so
// `lacop session revoke` run beside `lacop serve` invalidates the server's
// cache before the command returns, with no store read on the hot path.
type FileEpoch struct {
	mem []byte
	n   *uint64
}

// OpenFileEpoch maps the epoch file at path (created 0600 when missing).
func OpenFileEpoch(path string) (*FileEpoch, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sessioncache: epoch file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sessioncache: epoch file: %w", err)
	}
	const size = 4096 // one page; the counter is its first 8 bytes
	if fi.Size() < size {
		if err := f.Truncate(size); err != nil {
			return nil, fmt.Errorf("sessioncache: epoch file: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sessioncache: map epoch file: %w", err)
	}
	return &FileEpoch{mem: mem, n: (*uint64)(unsafe.Pointer(&mem[0]))}, nil
}

// Load implements Epoch.
func (e *FileEpoch) Load() uint64 { return atomic.LoadUint64(e.n) }

// Bump implements Epoch.
func (e *FileEpoch) Bump() { atomic.AddUint64(e.n, 1) }

// Close unmaps the file.
func (e *FileEpoch) Close() error {
	if e.mem == nil {
		return errors.New("sessioncache: epoch closed twice")
	}
	err := syscall.Munmap(e.mem)
	e.mem, e.n = nil, nil
	return err
}
