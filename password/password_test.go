package password

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"unicode/utf8"
)

// cheap are parameters that make tests fast; only TestDefaultParams pays
// for the real cost.
var cheap = Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewHasher(cheap, 0)
	ctx := context.Background()
	for _, pw := range []string{
		"",
		"correct horse battery staple",
		"日本語のパスワードです!",
		"with\x00nul and $dollar$ signs",
		strings.Repeat("long", 256),
	} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q) error: %v", pw, err)
		}
		if got, err := h.Verify(ctx, pw, enc); !got || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v; want true, nil", pw, enc, got, err)
		}
		wrong := pw + "x"
		if got, err := h.Verify(ctx, wrong, enc); got || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v; want false, nil", wrong, enc, got, err)
		}
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := NewHasher(cheap, 0)
	a, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: %q; want different salts", a)
	}
}

func TestHashFormat(t *testing.T) {
	h := NewHasher(cheap, 0)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	if len(parts) != 6 {
		t.Fatalf("Hash = %q; want 6 $-separated parts", enc)
	}
	if got, want := strings.Join(parts[:4], "$"), "$argon2id$v=19$m=1024,t=1,p=1"; got != want {
		t.Errorf("Hash prefix = %q; want %q", got, want)
	}
	// Raw (unpadded) standard base64 of 16 and 32 bytes.
	if got, want := len(parts[4]), 22; got != want {
		t.Errorf("salt %q has length %d; want %d", parts[4], got, want)
	}
	if got, want := len(parts[5]), 43; got != want {
		t.Errorf("key %q has length %d; want %d", parts[5], got, want)
	}
}

// TestDefaultParams is the one test that pays for DefaultParams, to prove
// they work end to end.
func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	if want := (Params{Time: 3, Memory: 65536, Threads: 2, KeyLen: 32, SaltLen: 16}); p != want {
		t.Fatalf("DefaultParams() = %+v; want %+v", p, want)
	}
	h := NewHasher(p, 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=65536,t=3,p=2$"; !strings.HasPrefix(enc, want) {
		t.Errorf("Hash = %q; want prefix %q", enc, want)
	}
	if got, err := h.Verify(ctx, "correct horse battery staple", enc); !got || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", got, err)
	}
	if h.NeedsRehash(enc) {
		t.Errorf("NeedsRehash(%q) = true; want false", enc)
	}
}

func TestVerifyTampered(t *testing.T) {
	h := NewHasher(cheap, 0)
	ctx := context.Background()
	const pw = "correct horse battery staple"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	// flip changes the first character of s, which keeps valid canonical
	// base64 (only the last character carries padding bits).
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	join := func(params, salt, key string) string {
		return strings.Join([]string{"", "argon2id", "v=19", params, salt, key}, "$")
	}
	tests := []struct {
		name, enc string
	}{
		{"salt", join(parts[3], flip(parts[4]), parts[5])},
		{"key", join(parts[3], parts[4], flip(parts[5]))},
		{"time", join("m=1024,t=2,p=1", parts[4], parts[5])},
		{"memory", join("m=2048,t=1,p=1", parts[4], parts[5])},
		{"threads", join("m=1024,t=1,p=2", parts[4], parts[5])},
		{"shorter key", join(parts[3], parts[4], parts[5][:24])},
	}
	for _, tt := range tests {
		if got, err := h.Verify(ctx, pw, tt.enc); got || err != nil {
			t.Errorf("%s: Verify(%q, %q) = %v, %v; want false, nil", tt.name, pw, tt.enc, got, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	)
	valid := "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key
	tests := []struct {
		name, enc string
	}{
		{"empty", ""},
		{"argon2i", "$argon2i$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"upper-case variant", "$ARGON2ID$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", "$argon2id$v=16$m=1024,t=1,p=1$" + salt + "$" + key},
		{"version missing", "$argon2id$m=1024,t=1,p=1$" + salt + "$" + key},
		{"no leading $", "argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key},
		{"key missing", "$argon2id$v=19$m=1024,t=1,p=1$" + salt},
		{"empty key", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$"},
		{"extra field", valid + "$" + key},
		{"trailing $", valid + "$"},
		{"p missing", "$argon2id$v=19$m=1024,t=1$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=1024,t=1,p=1,keyid=x$" + salt + "$" + key},
		{"params reordered", "$argon2id$v=19$t=1,m=1024,p=1$" + salt + "$" + key},
		{"m huge", "$argon2id$v=19$m=4194305,t=1,p=1$" + salt + "$" + key},
		{"m overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"m very long", "$argon2id$v=19$m=99999999999999999999999,t=1,p=1$" + salt + "$" + key},
		{"m below 8*p", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"m leading zero", "$argon2id$v=19$m=01024,t=1,p=1$" + salt + "$" + key},
		{"m with sign", "$argon2id$v=19$m=+1024,t=1,p=1$" + salt + "$" + key},
		{"m empty", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"t=0", "$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key},
		{"t=101", "$argon2id$v=19$m=1024,t=101,p=1$" + salt + "$" + key},
		{"p=0", "$argon2id$v=19$m=1024,t=1,p=0$" + salt + "$" + key},
		{"p=65", "$argon2id$v=19$m=1024,t=1,p=65$" + salt + "$" + key},
		{"p=257 wraps uint8", "$argon2id$v=19$m=1024,t=1,p=257$" + salt + "$" + key},
		{"bad base64 salt", "$argon2id$v=19$m=1024,t=1,p=1$c29tZX!hbHRzb21lc2FsdA$" + key},
		{"bad base64 key", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key[:10] + "*" + key[11:]},
		{"url-safe base64", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + "-_" + key[2:]},
		{"padded base64", valid + "="},
		{"newline in base64", "$argon2id$v=19$m=1024,t=1,p=1$" + salt[:8] + "\n" + salt[8:] + "$" + key},
		{"non-canonical base64", "$argon2id$v=19$m=1024,t=1,p=1$" + salt[:21] + "B$" + key},
		{"salt too short", "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$" + key},
		{"salt too long", "$argon2id$v=19$m=1024,t=1,p=1$" + strings.Repeat("c2Fs", 22) + "$" + key},
		{"key too short", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$a2V5a2V5a2V5a2V5a2V5"},
		{"key too long", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + strings.Repeat("a2V5", 44)},
	}

	h := NewHasher(cheap, 1)
	// A malformed hash must be refused before any argon2 work starts.
	h.inSlot = func() { t.Errorf("argon2 ran for a malformed hash") }
	ctx := context.Background()
	for _, tt := range tests {
		got, err := h.Verify(ctx, "pw", tt.enc)
		if got || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify(%q) = %v, %v; want false, ErrMalformed", tt.name, tt.enc, got, err)
		}
		if !h.NeedsRehash(tt.enc) {
			t.Errorf("%s: NeedsRehash(%q) = false; want true", tt.name, tt.enc)
		}
		if err := CheckHash(tt.enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: CheckHash(%q) = %v; want ErrMalformed", tt.name, tt.enc, err)
		}
	}

	// The base of the cases above is itself well formed.
	if _, err := parse(valid); err != nil {
		t.Errorf("parse(%q) = %v; want nil", valid, err)
	}
}

// TestCheckHash: what Hash writes passes, with any parameters Verify
// accepts; what is not a hash at all (the plaintext form config allows for
// client secrets, a bare secret) does not. TestVerifyMalformed has the
// damaged hashes.
func TestCheckHash(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Params{cheap, {Time: 2, Memory: 2048, Threads: 4, KeyLen: 16, SaltLen: 8}} {
		enc, err := NewHasher(p, 0).Hash(ctx, "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckHash(enc); err != nil {
			t.Errorf("CheckHash(%q) = %v; want nil", enc, err)
		}
	}
	for _, enc := range []string{"$plaintext$s3cret", "s3cret", "$argon2id$"} {
		if err := CheckHash(enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("CheckHash(%q) = %v; want ErrMalformed", enc, err)
		}
	}
	// The message says what is wrong with the hash, never what it holds.
	const secretish = "$argon2id$v=19$m=1024,t=1,p=1$hunter2hunter2$hunter2"
	if err := CheckHash(secretish); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("CheckHash(%q) = %v; want an error that does not repeat the string", secretish, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	enc, err := NewHasher(cheap, 0).Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Params)) Params {
		p := cheap
		f(&p)
		return p
	}
	tests := []struct {
		name string
		p    Params
		want bool
	}{
		{"same", cheap, false},
		{"time", with(func(p *Params) { p.Time = 2 }), true},
		{"memory", with(func(p *Params) { p.Memory = 2048 }), true},
		{"threads", with(func(p *Params) { p.Threads = 2 }), true},
		{"key length", with(func(p *Params) { p.KeyLen = 64 }), true},
		{"salt length", with(func(p *Params) { p.SaltLen = 32 }), true},
		{"default", DefaultParams(), true},
	}
	for _, tt := range tests {
		if got := NewHasher(tt.p, 0).NeedsRehash(enc); got != tt.want {
			t.Errorf("%s: NeedsRehash(%q) with %+v = %v; want %v", tt.name, enc, tt.p, got, tt.want)
		}
	}
}

// TestConcurrencyCap runs many Hash and Verify calls at once through a
// Hasher allowing one at a time and records the most computations ever seen
// running together.
func TestConcurrencyCap(t *testing.T) {
	h := NewHasher(cheap, 1)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	var running, maxRunning, calls atomic.Int32
	h.inSlot = func() {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		calls.Add(1)
		// Give other goroutines every chance to get in alongside.
		for range 100 {
			runtime.Gosched()
		}
		running.Add(-1)
	}

	const workers = 8
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			ctx := context.Background()
			if i%2 == 0 {
				if _, err := h.Hash(ctx, "pw"); err != nil {
					t.Errorf("Hash error: %v", err)
				}
			} else {
				if ok, err := h.Verify(ctx, "pw", enc); !ok || err != nil {
					t.Errorf("Verify = %v, %v; want true, nil", ok, err)
				}
			}
		})
	}
	wg.Wait()
	if got, want := calls.Load(), int32(workers); got != want {
		t.Errorf("argon2 computations = %d; want %d", got, want)
	}
	if got, want := maxRunning.Load(), int32(1); got != want {
		t.Errorf("most computations at once = %d; want %d", got, want)
	}
}

// TestConcurrencyCapExact uses synctest to check deterministically that
// exactly maxConcurrent computations run at once while more callers wait,
// and that the waiting callers all go on once slots are freed.
func TestConcurrencyCapExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, callers = 3, 7
		h := NewHasher(cheap, limit)
		release := make(chan struct{})
		var entered atomic.Int32
		h.inSlot = func() {
			entered.Add(1)
			<-release
		}
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if _, err := h.Hash(context.Background(), "pw"); err != nil {
					t.Errorf("Hash error: %v", err)
				}
			})
		}
		synctest.Wait() // every caller is now blocked: in the hook or waiting for a slot
		if got, want := entered.Load(), int32(limit); got != want {
			t.Errorf("computations running while slots are held = %d; want %d", got, want)
		}
		close(release)
		wg.Wait()
		if got, want := entered.Load(), int32(callers); got != want {
			t.Errorf("computations after release = %d; want %d", got, want)
		}
	})
}

// TestCancelWhileWaiting fills every slot, starts Hash and Verify calls that
// must wait, and cancels their context while they wait.
func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(cheap, 1)
		enc, err := h.Hash(context.Background(), "pw")
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		var entered atomic.Int32
		h.inSlot = func() {
			entered.Add(1)
			<-release
		}
		holder := make(chan error)
		go func() {
			_, err := h.Hash(context.Background(), "pw")
			holder <- err
		}()
		synctest.Wait() // the holder is inside the only slot

		ctx, cancel := context.WithCancel(context.Background())
		hashErr := make(chan error)
		verifyErr := make(chan error)
		go func() {
			_, err := h.Hash(ctx, "pw")
			hashErr <- err
		}()
		go func() {
			_, err := h.Verify(ctx, "pw", enc)
			verifyErr <- err
		}()
		synctest.Wait() // both are blocked waiting for the slot
		if got, want := entered.Load(), int32(1); got != want {
			t.Fatalf("computations running = %d; want %d", got, want)
		}
		cancel()
		if err := <-hashErr; !errors.Is(err, context.Canceled) {
			t.Errorf("Hash while waiting, then cancelled = %v; want %v", err, context.Canceled)
		}
		if err := <-verifyErr; !errors.Is(err, context.Canceled) {
			t.Errorf("Verify while waiting, then cancelled = %v; want %v", err, context.Canceled)
		}

		close(release)
		if err := <-holder; err != nil {
			t.Errorf("Hash holding the slot = %v; want nil", err)
		}
		if got, want := entered.Load(), int32(1); got != want {
			t.Errorf("computations = %d; want %d (cancelled calls must not compute)", got, want)
		}
	})
}

func TestCancelledBeforeCall(t *testing.T) {
	h := NewHasher(cheap, 4) // slots are free
	h.inSlot = func() { t.Errorf("argon2 ran for a cancelled context") }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled ctx) error = %v; want %v", err, context.Canceled)
	}
	const enc = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	if ok, err := h.Verify(ctx, "pw", enc); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled ctx) = %v, %v; want false, %v", ok, err, context.Canceled)
	}
	h.VerifyDummy(ctx, "pw")
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(cheap, 1)
	var computations atomic.Int32
	h.inSlot = func() { computations.Add(1) }
	for i := range 3 {
		h.VerifyDummy(context.Background(), "any password")
		// Each call costs exactly one argon2 computation, like Verify.
		if got, want := computations.Load(), int32(i+1); got != want {
			t.Errorf("computations after %d VerifyDummy calls = %d; want %d", i+1, got, want)
		}
	}
	d, err := parse(h.dummy)
	if err != nil {
		t.Fatalf("parse(dummy %q) = %v; want nil", h.dummy, err)
	}
	if d.params != h.params {
		t.Errorf("dummy params = %+v; want %+v", d.params, h.params)
	}
}

func TestVerifyDummyConcurrent(t *testing.T) {
	h := NewHasher(cheap, 2)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { h.VerifyDummy(context.Background(), "pw") })
	}
	wg.Wait()
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"time 0", Params{Time: 0, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}},
		{"threads 0", Params{Time: 1, Memory: 1024, Threads: 0, KeyLen: 32, SaltLen: 16}},
		{"memory too small", Params{Time: 1, Memory: 8, Threads: 2, KeyLen: 32, SaltLen: 16}},
		{"memory too large", Params{Time: 1, Memory: 1<<22 + 1, Threads: 1, KeyLen: 32, SaltLen: 16}},
		{"short key", Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 8, SaltLen: 16}},
		{"short salt", Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 4}},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewHasher(%+v) did not panic; want panic", tt.name, tt.p)
				}
			}()
			NewHasher(tt.p, 1)
		}()
	}
}

func TestCheck(t *testing.T) {
	const email = "alice.smith@example.com"
	tests := []struct {
		password, email string
		want            string // substring of the reason; "" means accepted
	}{
		// Accepted.
		{"correct horse battery staple", email, ""},
		{"Tr0ub4dor&3-xyz", email, ""},
		{"mañana sol 1987", email, ""},
		{"日本語のパスワードです!", email, ""},                      // 12 runes
		{"zebra-lamp-91-quiet", "", ""},                  // no email known
		{"alibaba and the caves", "ali@example.com", ""}, // local part under 4 characters
		{"purple-monkey-dishwasher", email, ""},
		{strings.Repeat("ab1", 341) + "c", email, ""}, // exactly 1024 bytes

		// Length.
		{"", email, "at least 12 characters"},
		{"short", email, "at least 12 characters"},
		{"elevenchars", email, "at least 12 characters"},
		{"日本語のパスワードです", email, "at least 12 characters"}, // 11 runes, 33 bytes
		{strings.Repeat("ab1", 341) + "cd", email, "at most 1024 bytes"},

		// Repetition and sequences.
		{"aaaaaaaaaaaa", email, "repeat"},
		{"AAAAAAaaaaaa", email, "repeat"},
		{"éééééééééééé", email, "repeat"},
		{"123456789012", email, "sequence"},
		{"abcdefghijkl", email, "sequence"},
		{"ABCDEFGHIJKLMNOP", email, "sequence"},
		{"zyxwvutsrqpo", email, "sequence"},
		{"210987654321", email, "sequence"},
		{"qwertyuiopasdf", email, "sequence"},

		// Common passwords, in any case.
		{"password1234", email, "too common"},
		{"Password1234", email, "too common"},
		{"ILOVEYOU1234", email, "too common"},
		{"1q2w3e4r5t6y", email, "too common"},

		// Email.
		{"my alice.smith password", email, "email"},
		{"ALICE.SMITH rocks forever", email, "email"},
		{"alice.smith@example.com!", email, "email"},
		{"yo bo@x.io is my address", "Bo@X.io", "email"},
		{"my alice.smith password", "  Alice.Smith@Example.com ", "email"},
	}
	for _, tt := range tests {
		err := Check(tt.password, tt.email)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%q, %q) = %v; want nil", tt.password, tt.email, err)
			}
			continue
		}
		if !errors.Is(err, ErrWeak) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%q, %q) = %v; want ErrWeak with %q", tt.password, tt.email, err, tt.want)
		}
	}
}

func TestCheckErrorText(t *testing.T) {
	got := Check("short", "")
	if want := "weak password: use at least 12 characters"; got == nil || got.Error() != want {
		t.Errorf("Check(%q) = %v; want %v", "short", got, want)
	}
}

func TestCommonList(t *testing.T) {
	if got := len(common); got < 200 {
		t.Errorf("common list has %d entries; want at least 200", got)
	}
	seen := make(map[string]bool)
	for line := range strings.Lines(commonList) {
		pw := strings.TrimSuffix(line, "\n")
		if pw != strings.TrimSpace(pw) || pw != strings.ToLower(pw) || utf8.RuneCountInString(pw) < minRunes {
			t.Errorf("common list entry %q: want lower case, trimmed, at least %d characters", pw, minRunes)
		}
		if seen[pw] {
			t.Errorf("common list entry %q appears twice", pw)
		}
		seen[pw] = true
		if err := Check(pw, ""); !errors.Is(err, ErrWeak) {
			t.Errorf("Check(%q) = %v; want %v", pw, err, ErrWeak)
		}
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatalf("Verify = %v, %v; want true, nil", ok, err)
		}
	}
}

// TestQueueLimit: with every slot taken and the queue full, Hash, Verify
// and VerifyDummy refuse at once with ErrBusy instead of waiting; those
// already queued still run.
func TestQueueLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHasher(cheap, 1).LimitQueue(1)
		enc, err := h.Hash(context.Background(), "pw")
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		h.inSlot = func() { <-release }
		holder, queued := make(chan error), make(chan error)
		go func() {
			_, err := h.Hash(context.Background(), "pw")
			holder <- err
		}()
		synctest.Wait() // the holder is in the only slot
		go func() {
			_, err := h.Verify(context.Background(), "pw", enc)
			queued <- err
		}()
		synctest.Wait() // one waits: the queue is full
		if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
			t.Errorf("Hash past the queue = %v; want ErrBusy", err)
		}
		if _, err := h.Verify(context.Background(), "pw", enc); !errors.Is(err, ErrBusy) {
			t.Errorf("Verify past the queue = %v; want ErrBusy", err)
		}
		if err := h.VerifyDummy(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
			t.Errorf("VerifyDummy past the queue = %v; want ErrBusy", err)
		}
		close(release)
		if err := <-holder; err != nil {
			t.Errorf("holder = %v", err)
		}
		if err := <-queued; err != nil {
			t.Errorf("the queued Verify = %v; want it to run", err)
		}
		if h.waiting.Load() != 0 {
			t.Errorf("waiting = %d after everything finished; want 0", h.waiting.Load())
		}
		h.inSlot = nil
		if _, err := h.Hash(context.Background(), "pw"); err != nil {
			t.Errorf("Hash once the slot is free = %v", err)
		}
	})
}

// TestOnBusy: f(true) when the first computation starts, f(false) when the
// last one ends, alternating, however many overlap.
func TestOnBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var calls []bool
		h := NewHasher(cheap, 2).OnBusy(func(b bool) {
			mu.Lock()
			calls = append(calls, b)
			mu.Unlock()
		})
		release := make(chan struct{})
		h.inSlot = func() { <-release }
		done := make(chan struct{})
		for range 2 {
			go func() {
				_, _ = h.Hash(context.Background(), "pw")
				done <- struct{}{}
			}()
		}
		synctest.Wait()
		mu.Lock()
		if len(calls) != 1 || !calls[0] {
			t.Errorf("with two computations running, calls = %v; want [true]", calls)
		}
		mu.Unlock()
		close(release)
		<-done
		<-done
		h.inSlot = nil
		if _, err := h.Hash(context.Background(), "pw"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []bool{true, false, true, false}; !slices.Equal(calls, want) {
			t.Errorf("calls = %v; want %v", calls, want)
		}
	})
}
