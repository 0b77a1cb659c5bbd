// Package password hashes and verifies sign-in passwords with argon2id and
// judges whether a new password is strong enough to accept.
//
// Hashes are stored as PHC strings
// ($argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>) so that every stored hash
// carries the parameters it was made with: the cost can be raised later
// without breaking existing accounts, and [Hasher.NeedsRehash] tells callers
// when to upgrade a hash after a successful sign-in.
//
// Argon2id is deliberately expensive in memory and CPU, so a [Hasher] limits
// how many hashes run at once; a burst of sign-in attempts then queues
// instead of exhausting the machine. The package never logs anything, so no
// password or hash can leak through it into log files.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. They are stored in every hash, so
// changing them affects only hashes made afterwards; older hashes keep
// verifying with the parameters they were made with.
type Params struct {
	Time    uint32 // iterations
	Memory  uint32 // KiB
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams returns t=3, m=64 MiB (65536 KiB), p=2, a 32-byte key and a
// 16-byte salt. These follow the second option of RFC 9106 (section 4), meant
// for machines that cannot spare 2 GiB per hash, with p=2 rather than 4 to
// suit small self-hosted machines; the 128-bit salt and 256-bit key are the
// sizes that RFC recommends.
func DefaultParams() Params {
	return Params{
		Time:    3,
		Memory:  64 * 1024,
		Threads: 2,
		KeyLen:  32,
		SaltLen: 16,
	}
}

// Bounds on parameters accepted from a stored hash (and from NewHasher).
// They keep a corrupted or hostile stored hash from making Verify burn
// unbounded memory or CPU.
const (
	minTime    = 1
	maxTime    = 100
	minThreads = 1
	maxThreads = 64
	maxMemory  = 1 << 22 // KiB, i.e. 4 GiB
	// The minimum memory is 8 KiB per thread, the least argon2 allows.
	minMemoryPerThread = 8
	minKeyLen          = 16
	maxKeyLen          = 128
	minSaltLen         = 8
	maxSaltLen         = 64
)

// ErrMalformed is returned, wrapped with a more precise reason, by
// [Hasher.Verify] when the stored hash is not a PHC string this package
// accepts. Callers can tell with errors.Is a damaged stored hash, which needs
// attention, apart from a wrong password, which does not.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords, allowing at most a fixed number of
// argon2 computations at once so a burst of sign-ins cannot exhaust memory
// (each takes 64 MiB with DefaultParams) or CPU. Extra callers wait for a free
// slot. A Hasher is safe for concurrent use. Create one with NewHasher; the
// zero value cannot be used.
type Hasher struct {
	params Params
	// sem holds one token per argon2 computation in progress.
	sem chan struct{}
	// waiting counts callers waiting for a slot; past maxWaiting (when
	// set) a caller is refused with ErrBusy instead of queueing.
	waiting    atomic.Int64
	maxWaiting int64

	// busyMu orders the calls to onBusy; running counts computations.
	busyMu  sync.Mutex
	running int
	onBusy  func(busy bool)

	dummyOnce sync.Once
	dummy     string // PHC string that VerifyDummy verifies against

	// inSlot, if set, is called while a slot is held, just before the
	// argon2 computation. Tests use it to observe the concurrency cap.
	inSlot func()
}

// NewHasher returns a Hasher that makes new hashes with p and runs at most
// maxConcurrent argon2 computations at once (maxConcurrent < 1 means
// runtime.GOMAXPROCS(0), one per CPU the program may use, since more would
// only add memory without adding speed).
//
// NewHasher panics if p lies outside the bounds Verify accepts for stored
// hashes (for example Time 0 or more than 4 GiB of memory), because such a
// Hasher would write hashes that could never be verified and so lock users
// out; failing at start-up makes the configuration mistake plain.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := validate(p); err != nil {
		panic(fmt.Sprintf("password: NewHasher: invalid params: %v", err))
	}
	if maxConcurrent < 1 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{
		params: p,
		sem:    make(chan struct{}, maxConcurrent),
	}
}

// ErrBusy is Hash's and Verify's answer when every slot is taken and
// the queue for one is full: under a flood of sign-ins an answer that says
// "try again in a moment" at once is better than one that waits with
// everyone else, and the cores stay free for requests that need no hash.
var ErrBusy = errors.New("password: too many password checks waiting")

// LimitQueue makes callers that would wait behind n others refuse with
// ErrBusy (n < 1: wait however many wait, the default). Call it before
// the Hasher is used; it returns h.
func (h *Hasher) LimitQueue(n int) *Hasher {
	h.maxWaiting = int64(max(n, 0))
	return h
}

// OnBusy makes h call f(true) when a computation starts while none runs,
// and f(false) when the last one running ends, one call at a time and in
// that order. The server uses it to give the Go scheduler a spare
// processor while argon2 fills the cores, so a request that needs no hash
// is not queued behind one (see cmd/lacop). Call it before the Hasher is
// used; it returns h.
func (h *Hasher) OnBusy(f func(busy bool)) *Hasher {
	h.onBusy = f
	return h
}

// Hash returns a PHC string:
// $argon2id$v=19$m=65536,t=3,p=2$<salt b64 raw std>$<key b64 raw std>,
// with a fresh random salt, so that equal passwords get different hashes and
// the string alone is enough to verify the password later. It waits for a
// slot, honouring ctx cancellation (it then returns ctx.Err()), so that a
// request whose client has gone away does not keep waiting.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	// crypto/rand.Read never fails; it crashes the program if the
	// system's random source is broken.
	_, _ = rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded. It uses
// the parameters stored in encoded (not h's), so hashes made before a change
// of parameters keep working, and compares keys in constant time, so the
// time taken does not reveal how much of the key matched. A malformed encoded
// string returns an error wrapping ErrMalformed. Like Hash, it waits for a
// slot and returns ctx.Err() if ctx ends first.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	d, err := parse(encoded)
	if err != nil {
		return false, err
	}
	key, err := h.derive(ctx, password, d.salt, d.params)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// h's (cost, key length or salt length), so callers can re-hash the password
// they have just verified and so upgrade old hashes on sign-in. A malformed
// encoded string also needs a rehash and reports true.
func (h *Hasher) NeedsRehash(encoded string) bool {
	d, err := parse(encoded)
	if err != nil {
		return true
	}
	return d.params != h.params
}

// CheckHash reports whether encoded is a PHC argon2id string that Verify
// accepts: the exact form Hash writes, with parameters inside the bounds
// Verify allows. It runs no argon2, so configuration that holds hashes
// (client secrets) can be checked when it is loaded rather than failing,
// as an unverifiable secret, on the first sign-in. The error wraps
// ErrMalformed and says what is wrong without repeating encoded.
func CheckHash(encoded string) error {
	_, err := parse(encoded)
	return err
}

// VerifyDummy spends the same time as a Verify against a hash made with h's
// params, and reports nothing; use it when the account does not exist, so
// that a sign-in with an unknown email takes as long as one with a wrong
// password and timing does not reveal which emails have accounts.
//
// The dummy hash is made lazily, once, from random bytes in the PHC format of
// h's params. It needs no argon2 computation of its own: a random key cannot
// be told from an argon2 output, and Verify's cost depends only on the
// parameters, so the first call is no slower than the following ones and no
// password can match. Like Verify, it waits for a slot and gives up when ctx
// ends or the queue is full, and then says why, so a caller can answer an
// unknown account exactly as it answers a known one.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt := make([]byte, h.params.SaltLen)
		key := make([]byte, h.params.KeyLen)
		_, _ = rand.Read(salt)
		_, _ = rand.Read(key)
		h.dummy = encode(h.params, salt, key)
	})
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// derive runs argon2id while holding a slot. The slot is taken only around
// the computation itself, never while waiting on anything else.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	if h.sem == nil {
		panic("password: Hasher used without NewHasher")
	}
	// Check first: select picks at random among ready cases, and a
	// cancelled request should not start a computation just because a
	// slot happens to be free.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.sem <- struct{}{}:
	default:
		if err := h.wait(ctx); err != nil {
			return nil, err
		}
	}
	defer func() { <-h.sem }()
	if h.onBusy != nil {
		h.busy(1)
		defer h.busy(-1)
	}
	if h.inSlot != nil {
		h.inSlot()
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// busy counts a computation in (d 1) or out (d -1), telling onBusy when
// the count leaves or reaches zero.
func (h *Hasher) busy(d int) {
	h.busyMu.Lock()
	defer h.busyMu.Unlock()
	h.running += d
	if (d > 0 && h.running == 1) || (d < 0 && h.running == 0) {
		h.onBusy(h.running > 0)
	}
}

// wait queues for a slot, unless the queue is full.
func (h *Hasher) wait(ctx context.Context) error {
	defer h.waiting.Add(-1)
	if n := h.waiting.Add(1); h.maxWaiting > 0 && n > h.maxWaiting {
		return ErrBusy
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decoded is a parsed PHC string.
type decoded struct {
	params Params
	salt   []byte
	key    []byte
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// parse reads a PHC string strictly: only the exact form encode writes is
// accepted, with parameters inside the bounds above.
func parse(s string) (decoded, error) {
	var d decoded
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" {
		return d, malformed("want 5 fields separated by $")
	}
	if parts[1] != "argon2id" {
		return d, malformed("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return d, malformed("unsupported version")
	}

	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return d, malformed("want parameters m, t and p")
	}
	var vals [3]uint32
	for i, name := range [3]string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return d, malformed("want parameters m, t and p in that order")
		}
		n, err := parseDecimal(v)
		if err != nil {
			return d, malformed("bad parameter " + name)
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	// Check p before narrowing it to uint8.
	if p < minThreads || p > maxThreads {
		return d, malformed("parameter p out of range")
	}
	d.params = Params{Memory: m, Time: t, Threads: uint8(p)}

	var err error
	if d.salt, err = decodeB64(parts[4], maxSaltLen); err != nil {
		return d, malformed("bad salt")
	}
	if d.key, err = decodeB64(parts[5], maxKeyLen); err != nil {
		return d, malformed("bad key")
	}
	d.params.SaltLen = uint32(len(d.salt))
	d.params.KeyLen = uint32(len(d.key))
	if err := validate(d.params); err != nil {
		return d, malformed(err.Error())
	}
	return d, nil
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, reason)
}

// validate checks p against the bounds above.
func validate(p Params) error {
	switch {
	case p.Time < minTime || p.Time > maxTime:
		return fmt.Errorf("time %d not in [%d, %d]", p.Time, minTime, maxTime)
	case p.Threads < minThreads || p.Threads > maxThreads:
		return fmt.Errorf("threads %d not in [%d, %d]", p.Threads, minThreads, maxThreads)
	case p.Memory < minMemoryPerThread*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB not in [%d, %d]", p.Memory, minMemoryPerThread*uint32(p.Threads), maxMemory)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d not in [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d not in [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	}
	return nil
}

// parseDecimal parses a PHC decimal: ASCII digits only, no sign and no
// leading zeros, fitting in 32 bits.
func parseDecimal(s string) (uint32, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// decodeB64 decodes unpadded standard base64 of at most maxLen bytes. Only
// the canonical encoding is accepted: Go's decoder skips CR and LF and may
// accept non-zero trailing bits, which would let several strings stand for
// one hash.
func decodeB64(s string, maxLen int) ([]byte, error) {
	if len(s) > base64.RawStdEncoding.EncodedLen(maxLen) {
		return nil, errors.New("too long")
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64")
	}
	return b, nil
}
