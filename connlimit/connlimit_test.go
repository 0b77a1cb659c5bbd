package connlimit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConn is an accepted connection from addr; it records its closing
// and reads give what was queued for it.
type fakeConn struct {
	net.Conn // nil: the methods not defined here are not used
	name     string
	addr     net.Addr
	mu       sync.Mutex
	closed   bool
	incoming []byte
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.addr }
func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}
func (c *fakeConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
func (c *fakeConn) Read(p []byte) (int, error) {
	n := copy(p, c.incoming)
	c.incoming = c.incoming[n:]
	return n, nil
}

// fakeListener hands out the connections pushed to it.
type fakeListener struct {
	conns chan net.Conn
}

func (l *fakeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, errors.New("closed")
	}
	return c, nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// bench drives a Listener on a fake clock.
type bench struct {
	t     *testing.T
	l     *Listener
	fake  *fakeListener
	now   time.Time
	conns map[string]*fakeConn // by name
	outer map[string]net.Conn  // what Accept returned, by name
}

func newBench(t *testing.T, cfg Config) *bench {
	b := &bench{t: t, fake: &fakeListener{conns: make(chan net.Conn, 1)},
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), conns: map[string]*fakeConn{}, outer: map[string]net.Conn{}}
	cfg.Now = func() time.Time { return b.now }
	b.l = New(b.fake, cfg)
	// The clock is fake: tests sweep by hand.
	b.l.schedule = func(time.Duration, func()) func() bool { return func() bool { return true } }
	t.Cleanup(func() { b.l.Close() })
	return b
}

// connect admits a connection named name from ip ("10.0.0.1"), as Accept
// does; it reports whether it was let in. Refused ones are closed.
func (b *bench) connect(name, ip string) bool {
	b.t.Helper()
	fc := &fakeConn{name: name, addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	b.conns[name] = fc
	c := b.l.admit(fc)
	if c == nil {
		fc.Close()
		return false
	}
	b.outer[name] = c
	return true
}

func (b *bench) state(name string, s http.ConnState) { b.l.ConnState(b.outer[name], s) }

// serve makes name's connection answer one request and wait again.
func (b *bench) serve(name string) {
	b.state(name, http.StateActive)
	b.state(name, http.StateIdle)
}

// closedOnes lists the names of the connections closed so far.
func (b *bench) closedOnes() []string {
	var names []string
	for name, c := range b.conns {
		if c.isClosed() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (b *bench) want(step string, closed ...string) {
	b.t.Helper()
	if got := b.closedOnes(); !slices.Equal(got, closed) && !(len(got) == 0 && len(closed) == 0) {
		b.t.Errorf("%s: closed %q; want %q", step, got, closed)
	}
}

func (b *bench) open() int {
	b.l.mu.Lock()
	defer b.l.mu.Unlock()
	return b.l.open
}

// TestPerClientCap: a client at its cap has its longest-waiting
// connection closed for a new one, never another client's; with none
// waiting, the new one is refused; an uncapped client (a trusted proxy)
// goes up to the total.
func TestPerClientCap(t *testing.T) {
	b := newBench(t, Config{Max: 10, MaxPerClient: 3, Client: func(a net.Addr) (string, bool) {
		ip := a.(*net.TCPAddr).IP.String()
		return ip, ip != "10.0.0.9"
	}})
	for _, n := range []string{"a1", "a2", "a3"} {
		if !b.connect(n, "10.0.0.1") {
			t.Fatalf("%s refused under the cap", n)
		}
		b.serve(n)
		b.now = b.now.Add(time.Second)
	}
	b.connect("b1", "10.0.0.2")
	b.want("under the caps")
	// a2 waits longest once a1 is busy.
	b.state("a1", http.StateActive)
	if !b.connect("a4", "10.0.0.1") {
		t.Fatalf("a4 refused with a2 and a3 waiting")
	}
	b.want("fourth of a client", "a2")
	// a1 busy, a3 waiting, a4 new and silent: a3 waited longer.
	b.connect("a5", "10.0.0.1")
	b.want("fifth", "a2", "a3")
	// a4 sends its first bytes: busy. a5 is now the one waiting.
	b.conns["a4"].incoming = []byte("GET")
	b.outer["a4"].Read(make([]byte, 8))
	b.connect("a6", "10.0.0.1")
	b.want("sixth", "a2", "a3", "a5")
	// a1, a4, a6 all busy: refused.
	b.conns["a6"].incoming = []byte("G")
	b.outer["a6"].Read(make([]byte, 8))
	if b.connect("a7", "10.0.0.1") {
		t.Errorf("a7 let in with every connection of its client busy")
	}
	b.want("refused", "a2", "a3", "a5", "a7")
	if !b.connect("b2", "10.0.0.2") {
		t.Errorf("another client refused while 10.0.0.1 is at its cap")
	}
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5"} {
		if !b.connect(n, "10.0.0.9") {
			t.Errorf("trusted proxy's %s refused under the total cap", n)
		}
		b.state(n, http.StateActive)
	}
	if got := b.open(); got != 10 {
		t.Errorf("open = %d; want 10", got)
	}
	// b1 and b2 have sent nothing: the longest silent goes for p6.
	if !b.connect("p6", "10.0.0.9") {
		t.Errorf("trusted proxy's p6 refused with b1 and b2 silent")
	}
	b.want("total", "a2", "a3", "a5", "a7", "b1")
	b.state("b2", http.StateActive)
	b.state("p6", http.StateActive)
	if b.connect("p7", "10.0.0.9") {
		t.Errorf("trusted proxy's p7 let in past the total cap with all ten busy")
	}
	b.want("total, all busy", "a2", "a3", "a5", "a7", "b1", "p7")
	// Closing counts out, once.
	b.outer["a1"].Close()
	b.outer["a1"].Close()
	if got := b.open(); got != 9 {
		t.Errorf("open after one close = %d; want 9", got)
	}
}

// TestTotalCap: at the total cap the connection waiting longest, of any
// client, is closed for a new one.
func TestTotalCap(t *testing.T) {
	b := newBench(t, Config{Max: 4})
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"} {
		name := string(rune('a' + i))
		b.connect(name, ip)
		b.serve(name)
		b.now = b.now.Add(time.Second)
	}
	b.serve("a") // a answered again: b waits longest now
	if !b.connect("e", "10.0.0.5") {
		t.Fatalf("e refused with four waiting")
	}
	b.want("fifth", "b")
	for _, n := range []string{"a", "c", "d", "e"} {
		b.state(n, http.StateActive)
	}
	if b.connect("f", "10.0.0.6") {
		t.Errorf("f let in with four busy at a cap of four")
	}
	b.want("all busy", "b", "f")
	b.state("d", http.StateHijacked)
	b.state("c", http.StateIdle)
	b.connect("g", "10.0.0.7")
	b.want("after c waits again", "b", "c", "f")
}

// TestPressure: past three quarters of the cap, connections that have
// waited PressureIdle are closed, longest first, until the count is below
// the mark; younger ones, and busy ones, stay.
func TestPressure(t *testing.T) {
	b := newBench(t, Config{Max: 8, PressureIdle: time.Second})
	for i := range 5 {
		name := string(rune('a' + i))
		b.connect(name, "10.0.0.1")
		b.serve(name)
		b.now = b.now.Add(100 * time.Millisecond)
	}
	b.now = b.now.Add(5 * time.Second)
	b.l.sweep()
	b.want("5 of 8, under the mark of 6")
	b.connect("f", "10.0.0.2")
	b.serve("f")
	b.connect("g", "10.0.0.2")
	b.state("g", http.StateActive)
	b.state("a", http.StateActive)
	// 7 open: a and g busy, f waiting 0 s, b–e waiting over 5 s.
	b.l.sweep()
	b.want("7 of 8", "b", "c")
	if got := b.open(); got != 5 {
		t.Errorf("open after the sweep = %d; want 5 (under the mark)", got)
	}
	b.connect("h", "10.0.0.3")
	b.now = b.now.Add(999 * time.Millisecond)
	b.l.sweep()
	b.want("6 of 8, h silent for less than a second", "b", "c", "d")
	b.now = b.now.Add(2 * time.Millisecond)
	b.l.sweep()
	b.want("5 of 8 after d", "b", "c", "d")

	// Under pressure, connections younger than PressureIdle stay.
	y := newBench(t, Config{Max: 4, PressureIdle: time.Second})
	for _, n := range []string{"a", "b", "c"} {
		y.connect(n, "10.0.0.1")
		y.now = y.now.Add(100 * time.Millisecond)
	}
	y.l.sweep()
	y.want("3 of 4, all younger than a second")
	y.now = y.now.Add(750 * time.Millisecond) // a: 1.05 s, b: 0.95 s
	y.l.sweep()
	y.want("3 of 4, a past a second", "a")
}

// TestPressureTimer: under pressure the sweep runs by itself, on the real
// clock, without anything else happening.
func TestPressureTimer(t *testing.T) {
	fake := &fakeListener{conns: make(chan net.Conn, 4)}
	l := New(fake, Config{Max: 4, PressureIdle: 10 * time.Millisecond})
	defer l.Close()
	var cs []*fakeConn
	for i := range 3 {
		c := &fakeConn{addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, byte(i+1))}}
		fake.conns <- c
		if _, err := l.Accept(); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	// 3 of 4 is at the mark: one silent connection goes, then none.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		open := l.open
		l.mu.Unlock()
		if open < 3 {
			break
		}
	}
	if !cs[0].isClosed() || cs[1].isClosed() || cs[2].isClosed() {
		t.Errorf("closed %v %v %v; want the first only", cs[0].isClosed(), cs[1].isClosed(), cs[2].isClosed())
	}
}

// TestConnStateThroughTLS: the hook finds the connection under a
// *tls.Conn, as http.Server reports https connections.
func TestConnStateThroughTLS(t *testing.T) {
	b := newBench(t, Config{Max: 1})
	b.connect("a", "10.0.0.1")
	b.l.ConnState(tls.Server(b.outer["a"], &tls.Config{}), http.StateActive)
	if b.connect("b", "10.0.0.2") {
		t.Errorf("b let in at a cap of one, a busy behind TLS")
	}
	b.l.ConnState(tls.Server(b.outer["a"], &tls.Config{}), http.StateIdle)
	if !b.connect("c", "10.0.0.3") {
		t.Errorf("c refused, a waiting behind TLS")
	}
	b.want("", "a", "b")
	// A connection that is not the listener's is ignored.
	b.l.ConnState(&fakeConn{}, http.StateIdle)
}

// TestClientKeyIPv6: with a key that groups IPv6 by /64, a client cannot
// escape its cap by changing the low bits of its address.
func TestClientKeyIPv6(t *testing.T) {
	b := newBench(t, Config{Max: 10, MaxPerClient: 2, Client: func(a net.Addr) (string, bool) {
		ip := a.(*net.TCPAddr).AddrPort().Addr()
		if ip.Is6() && !ip.Is4In6() {
			return netip.PrefixFrom(ip, 64).Masked().String(), true
		}
		return ip.Unmap().String(), true
	}})
	for i, ip := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"} {
		name := string(rune('a' + i))
		if got := b.connect(name, ip); got != (i < 2) {
			t.Errorf("%s from %s let in = %v; want %v", name, ip, got, i < 2)
		}
		b.state(name, http.StateActive)
	}
	if !b.connect("d", "2001:db8:0:1::1") {
		t.Errorf("another /64 refused")
	}
}

func TestDefaults(t *testing.T) {
	for _, tt := range []struct {
		files     uint64
		total     int
		perClient int
	}{
		{0, Ceiling, Ceiling / 8},
		{256, 128, 32},
		{1024, 896, 112},
		{4096, 3584, 448},
		{20000, 16384, 2048},
		{1 << 20, 16384, 2048},
		{100, 1, 1},
	} {
		if got := Default(tt.files); got != tt.total {
			t.Errorf("Default(%d) = %d; want %d", tt.files, got, tt.total)
		}
		if got := DefaultPerClient(tt.total); got != tt.perClient {
			t.Errorf("DefaultPerClient(%d) = %d; want %d", tt.total, got, tt.perClient)
		}
	}
	for _, tt := range []struct {
		configured int
		files      uint64
		total      int
		lowered    bool
	}{
		{0, 1024, 896, false},
		{500, 1024, 500, false},
		{896, 1024, 896, false},
		{2000, 1024, 896, true},
		{50000, 1 << 20, 50000, false},
		{50000, 0, 50000, false},
	} {
		if got, lowered := MaxFor(tt.configured, tt.files); got != tt.total || lowered != tt.lowered {
			t.Errorf("MaxFor(%d, %d) = %d, %v; want %d, %v", tt.configured, tt.files, got, lowered, tt.total, tt.lowered)
		}
	}
}

// TestRefusalsLogged: refusals are logged at most once a minute.
func TestRefusalsLogged(t *testing.T) {
	var out strings.Builder
	b := newBench(t, Config{Max: 1})
	b.l.cfg.Logger = newTextLogger(&out)
	b.connect("a", "10.0.0.1")
	b.state("a", http.StateActive)
	for _, n := range []string{"b", "c", "d"} {
		b.connect(n, "10.0.0.2")
	}
	if got := strings.Count(out.String(), "connections refused"); got != 1 {
		t.Errorf("3 refusals in a moment logged %d times; want once:\n%s", got, out.String())
	}
	b.now = b.now.Add(time.Minute)
	b.connect("e", "10.0.0.2")
	if got := strings.Count(out.String(), "connections refused"); got != 2 || !strings.Contains(out.String(), "refused=3") {
		t.Errorf("a minute later: logged %d times; want twice, the second counting 3:\n%s", got, out.String())
	}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// BenchmarkKeepAliveRequest is what each request on a kept-alive
// connection costs the Listener: waiting after the answer, busy at the
// next request. It must not allocate.
func BenchmarkKeepAliveRequest(b *testing.B) {
	t := &testing.T{}
	bn := newBench(t, Config{Max: 100, MaxPerClient: 10})
	for i := range 8 {
		bn.connect(fmt.Sprint("c", i), "10.0.0.1")
		bn.state(fmt.Sprint("c", i), http.StateIdle)
	}
	c := bn.outer["c0"]
	b.ReportAllocs()
	for b.Loop() {
		bn.l.ConnState(c, http.StateActive)
		bn.l.ConnState(c, http.StateIdle)
	}
}
