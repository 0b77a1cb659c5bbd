package sessioncache

import (
	"errors"
	"sync/atomic"
)

// ErrNoSharedEpoch is OpenFileEpoch's answer on a platform without shared
// memory mappings: run without the cache there.
var ErrNoSharedEpoch = errors.New("sessioncache: no shared epoch on this platform")

// Epoch counts changes to sessions and users. Every process that changes
// them bumps it after the change is committed; a cached read is valid only
// while the epoch is what it was before that read.
type Epoch interface {
	Load() uint64
	Bump()
}

// LocalEpoch is an Epoch for one process.
type LocalEpoch struct{ n atomic.Uint64 }

// Load implements Epoch.
func (e *LocalEpoch) Load() uint64 { return e.n.Load() }

// Bump implements Epoch.
func (e *LocalEpoch) Bump() { e.n.Add(1) }
