//go:build !unix

package sessioncache

// FileEpoch is an Epoch shared by every process that maps the same file;
// this platform has no shared mappings, so there is none.
type FileEpoch struct{ LocalEpoch }

// OpenFileEpoch fails here with ErrNoSharedEpoch: without an epoch shared
// between processes, a cache could serve a session the command line has
// just ended, so no process on this platform caches.
func OpenFileEpoch(path string) (*FileEpoch, error) {
	return nil, ErrNoSharedEpoch
}

// Close does nothing.
func (e *FileEpoch) Close() error { return nil }
