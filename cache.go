package lacop

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// CacheLeaseStore is the shared half of the protocol that lets instances
// sharing PostgreSQL or Redis cache sessions, users and denylist answers
// in memory and still refuse an ended session on the very next request
// (package sessioncache, Peers).
//
// An instance caches only while it holds a lease here. A change that ends
// something is followed by Invalidate, which counts it and names every
// instance whose lease is live at that moment; the change is answered only
// when each of them has acknowledged that its cache is empty of the old
// rows, or its lease has run out. Lease and Invalidate are atomic with
// respect to each other: a lease taken or renewed after an Invalidate reads
// that Invalidate's sequence number (and so empties its cache), and one
// taken before is in the Invalidate's list. That is what leaves no gap for
// an instance that renews while a change is being announced.
type CacheLeaseStore interface {
	// Lease renews instance's lease for ttl from now by the store's own
	// clock, or takes a new one when it has lapsed or never existed; live
	// says whether it was still valid. seq is the number of the latest
	// Invalidate, read in the same atomic step.
	Lease(ctx context.Context, instance string, ttl time.Duration) (live bool, seq uint64, err error)
	// ReleaseLease ends instance's lease at once (no error when none).
	ReleaseLease(ctx context.Context, instance string) error
	// Invalidate counts one invalidation, lists the leases live at that
	// moment with the time each has left by the store's clock, and sends
	// CacheMessage{Seq: seq, Instance: from} to every listener, in one
	// atomic step.
	Invalidate(ctx context.Context, from string) (seq uint64, live []CacheLease, err error)
	// AckCache sends CacheMessage{Ack: true, Seq: seq, Instance: instance}
	// to every listener: instance holds nothing cached from before seq.
	AckCache(ctx context.Context, instance string, seq uint64) error
	// ListenCache delivers every CacheMessage sent while it listens, in
	// the order sent, until the subscription fails or ctx ends, and
	// returns why. listening is called once the subscription is in place:
	// messages sent before are missed.
	ListenCache(ctx context.Context, listening func(), deliver func(CacheMessage)) error
}

// CacheLease is one live lease as Invalidate found it.
type CacheLease struct {
	Instance string
	// Left is how long the lease had to run when Invalidate read it.
	Left time.Duration
}

// CacheMessage is an invalidation (Ack false: everything cached before Seq
// must go) or an acknowledgement of one (Ack true: Instance has dropped
// everything up to Seq).
type CacheMessage struct {
	Ack      bool
	Seq      uint64
	Instance string
}

// String is the message as it travels: "i SEQ INSTANCE" for an
// invalidation, "a SEQ INSTANCE" for an acknowledgement.
func (m CacheMessage) String() string {
	kind := "i "
	if m.Ack {
		kind = "a "
	}
	return kind + strconv.FormatUint(m.Seq, 10) + " " + m.Instance
}

// ParseCacheMessage reads what String wrote; ok is false for anything else.
func ParseCacheMessage(s string) (m CacheMessage, ok bool) {
	kind, rest, ok1 := strings.Cut(s, " ")
	num, inst, ok2 := strings.Cut(rest, " ")
	seq, err := strconv.ParseUint(num, 10, 64)
	if !ok1 || !ok2 || err != nil || inst == "" || (kind != "i" && kind != "a") {
		return CacheMessage{}, false
	}
	return CacheMessage{Ack: kind == "a", Seq: seq, Instance: inst}, true
}
