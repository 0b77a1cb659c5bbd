package connlimit

// Ceiling bounds the default total cap: past it, memory (some 10–20 KiB a
// connection) rather than descriptors would run out first, and a portal
// behind a reverse proxy never needs as many. A configured cap may be
// higher, within the descriptor limit.
const Ceiling = 16384

// Default returns the total cap for a process that may have fileLimit
// files open (0: unknown, as on platforms without such a limit): what the
// limit leaves for connections, up to Ceiling.
func Default(fileLimit uint64) int {
	if fileLimit == 0 {
		return Ceiling
	}
	return min(room(fileLimit), Ceiling)
}

// MaxFor returns the total cap to use when configured is configured (0:
// the default) and the process may have fileLimit files open; lowered
// reports a configured cap the limit leaves no room for, which would let
// connections use up the descriptors again.
func MaxFor(configured int, fileLimit uint64) (total int, lowered bool) {
	switch {
	case configured <= 0:
		return Default(fileLimit), false
	case fileLimit != 0 && configured > room(fileLimit):
		return room(fileLimit), true
	}
	return configured, false
}

// room is what fileLimit leaves for connections: an eighth of it, and at
// least 128 descriptors, stay for everything else the process opens (the
// database and its journal, the PostgreSQL and Redis pools, the audit
// spool, the listener).
func room(fileLimit uint64) int {
	n := int64(min(fileLimit, 1<<40))
	return int(max(1, n-max(128, n/8)))
}

// DefaultPerClient returns the per-client cap for a total cap of total: an
// eighth, so that no one client takes every slot, but at least 32 (a
// browser alone opens six connections, and an office behind one address
// many more), and never above total.
func DefaultPerClient(total int) int {
	return min(total, max(total/8, 32))
}
