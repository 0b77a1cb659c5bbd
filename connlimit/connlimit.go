// Package connlimit caps the connections a server holds open, in total and
// per client, so that idle keep-alive connections cannot use up the
// process's file descriptors and lock new clients out (20,000 idle
// connections once did: new clients timed out).
//
// A connection is waiting while it has no request in progress: just
// accepted and silent, or kept alive after an answer (http.Server's
// ConnState hook says which, and the first byte of a request ends the
// wait). When a cap is reached, the connection that has waited longest is
// closed to make room — of the same client when that client's cap is
// reached — and the new one is refused only when every connection is
// busy. Closing a waiting connection costs its client a reconnect (HTTP
// clients retry on a closed keep-alive connection); refusing the new one
// instead would let whoever holds idle connections keep everyone else out.
// Past three quarters of the total cap, waiting connections are closed
// once they have waited PressureIdle, instead of the server's IdleTimeout.
package connlimit

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config says how many connections a Listener lets be open.
type Config struct {
	// Max is the most connections open at once; at least 1.
	Max int
	// MaxPerClient is the most connections of one client; 0 means Max.
	MaxPerClient int
	// Client names the client a connection from addr belongs to, and
	// whether MaxPerClient applies to it: it does not to a trusted proxy,
	// whose one address carries every client's requests. Nil means the
	// remote IP address, capped.
	Client func(addr net.Addr) (client string, capped bool)
	// PressureIdle is how long a connection may wait once three quarters
	// of Max are open; 0 means one second.
	PressureIdle time.Duration
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Logger hears of refused connections, at most once a minute; nil
	// logs nothing.
	Logger *slog.Logger
}

// Listener is a net.Listener that keeps within Config's caps. Its
// ConnState must be the http.Server's ConnState hook.
type Listener struct {
	net.Listener
	cfg        Config
	perClient  int
	pressureAt int

	mu      sync.Mutex
	open    int
	clients map[string]*client
	waiting queue // every waiting *conn, longest waiting first
	// stop cancels the scheduled sweep; nil when none is scheduled, which
	// is while not under pressure or with no connection waiting.
	stop   func() bool
	closed bool
	// schedule runs f after d; tests replace it to sweep by hand.
	schedule func(d time.Duration, f func()) (stop func() bool)
	refused  int       // since the last log line about it
	logged   time.Time // when refusals were last logged
}

// client is the connections of one client.
type client struct {
	open    int
	waiting queue
}

// New returns ln within the caps of cfg.
func New(ln net.Listener, cfg Config) *Listener {
	cfg.Max = max(cfg.Max, 1)
	if cfg.MaxPerClient <= 0 || cfg.MaxPerClient > cfg.Max {
		cfg.MaxPerClient = cfg.Max
	}
	if cfg.Client == nil {
		cfg.Client = remoteIP
	}
	if cfg.PressureIdle <= 0 {
		cfg.PressureIdle = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Listener{
		Listener: ln, cfg: cfg, perClient: cfg.MaxPerClient,
		pressureAt: (cfg.Max*3 + 3) / 4, // three quarters, rounded up
		clients:    make(map[string]*client),
		waiting:    queue{link: inAll},
		schedule:   func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
	}
}

// Max returns the total cap and the per-client cap in force.
func (l *Listener) Max() (total, perClient int) { return l.cfg.Max, l.perClient }

func remoteIP(addr net.Addr) (string, bool) {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String(), true
	}
	return addr.String(), true
}

// Accept returns the next connection there is room for, closing waiting
// connections to make room and refusing (closing at once) those there is
// no room for.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := l.admit(nc); c != nil {
			return c, nil
		}
		nc.Close()
	}
}

// admit counts nc in, or returns nil when there is no room.
func (l *Listener) admit(nc net.Conn) *conn {
	key, capped := l.cfg.Client(nc.RemoteAddr())
	now := l.cfg.Now()
	l.mu.Lock()
	cl := l.clients[key]
	if cl == nil {
		cl = &client{waiting: queue{link: inClient}}
	}
	var victims []*conn
	if capped && cl.open >= l.perClient {
		v := cl.waiting.head
		if v == nil {
			l.refuse(now)
			l.mu.Unlock()
			return nil
		}
		l.unwait(v)
		victims = append(victims, v)
	}
	// The victims are still counted until they are closed below.
	if l.open-len(victims) >= l.cfg.Max {
		v := l.waiting.head
		if v == nil {
			l.refuse(now)
			l.mu.Unlock()
			return nil
		}
		l.unwait(v)
		victims = append(victims, v)
	}
	c := &conn{Conn: nc, l: l, key: key, client: cl}
	l.clients[key] = cl
	l.open++
	cl.open++
	l.wait(c, now) // silent until its first request
	l.mu.Unlock()
	for _, v := range victims {
		v.Close()
	}
	return c
}

// refuse notes a refused connection, and logs refusals at most once a
// minute, so a flood does not flood the log too.
func (l *Listener) refuse(now time.Time) {
	l.refused++
	if l.cfg.Logger == nil || now.Sub(l.logged) < time.Minute {
		return
	}
	l.cfg.Logger.Warn("connections refused: every connection is busy and a connection cap is reached (server.max_connections, server.max_connections_per_ip)",
		"refused", l.refused, "open", l.open, "max_connections", l.cfg.Max, "max_connections_per_ip", l.perClient)
	l.refused, l.logged = 0, now
}

// ConnState is the http.Server's ConnState hook: it tells waiting
// connections (StateIdle) from busy ones.
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	c := l.find(nc)
	if c == nil {
		return
	}
	switch state {
	case http.StateIdle:
		l.mu.Lock()
		l.wait(c, l.cfg.Now())
		l.mu.Unlock()
	case http.StateActive, http.StateHijacked:
		l.busy(c)
	}
}

// find returns the conn of l under nc, which may be wrapped (a *tls.Conn).
func (l *Listener) find(nc net.Conn) *conn {
	for {
		if c, ok := nc.(*conn); ok && c.l == l {
			return c
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
}

// Close stops accepting. Open connections are the server's to close.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// wait marks c waiting since now. l.mu is held.
func (l *Listener) wait(c *conn, now time.Time) {
	if c.gone || c.queued {
		return
	}
	c.since = now
	c.queued = true
	l.waiting.push(c)
	c.client.waiting.push(c)
	c.waiting.Store(true)
	l.arm(now)
}

// unwait marks c busy. l.mu is held.
func (l *Listener) unwait(c *conn) {
	if !c.queued {
		return
	}
	c.waiting.Store(false)
	l.waiting.remove(c)
	c.client.waiting.remove(c)
	c.queued = false
}

func (l *Listener) busy(c *conn) {
	l.mu.Lock()
	l.unwait(c)
	l.mu.Unlock()
}

// release counts c out when it is closed.
func (l *Listener) release(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unwait(c)
	c.gone = true
	l.open--
	c.client.open--
	if c.client.open == 0 {
		delete(l.clients, c.key)
	}
}

// underPressure reports whether waiting connections get PressureIdle only.
// l.mu is held.
func (l *Listener) underPressure() bool { return l.open >= l.pressureAt }

// arm schedules a sweep for when the longest-waiting connection has waited
// PressureIdle, if the listener is under pressure and none is scheduled.
// l.mu is held.
func (l *Listener) arm(now time.Time) {
	if l.closed || l.stop != nil || !l.underPressure() || l.waiting.head == nil {
		return
	}
	first := l.waiting.head
	l.stop = l.schedule(max(0, first.since.Add(l.cfg.PressureIdle).Sub(now)), l.sweep)
}

// sweep closes the connections that have waited PressureIdle, longest
// waiting first, until the pressure is off, and schedules the next sweep.
func (l *Listener) sweep() {
	now := l.cfg.Now()
	l.mu.Lock()
	l.stop = nil
	var stale []*conn
	for l.open-len(stale) >= l.pressureAt {
		c := l.waiting.head
		if c == nil || now.Sub(c.since) < l.cfg.PressureIdle {
			break
		}
		l.unwait(c)
		stale = append(stale, c)
	}
	l.mu.Unlock()
	for _, c := range stale {
		c.Close()
	}
	// Armed once they are counted out, so as to see the pressure left.
	l.mu.Lock()
	l.arm(l.cfg.Now())
	l.mu.Unlock()
}

// The two queues a waiting connection is in: every waiting connection, and
// its client's. Their links live in the conn itself, so that a request's
// wait costs no allocation.
const (
	inAll = iota
	inClient
)

// queue is a first-in first-out list of waiting conns, linked through
// their links[link]. Guarded by l.mu.
type queue struct {
	link       int
	head, tail *conn
}

// link is a conn's place in one queue.
type link struct{ prev, next *conn }

func (q *queue) push(c *conn) {
	l := &c.links[q.link]
	l.prev, l.next = q.tail, nil
	if q.tail != nil {
		q.tail.links[q.link].next = c
	} else {
		q.head = c
	}
	q.tail = c
}

func (q *queue) remove(c *conn) {
	l := &c.links[q.link]
	if l.prev != nil {
		l.prev.links[q.link].next = l.next
	} else {
		q.head = l.next
	}
	if l.next != nil {
		l.next.links[q.link].prev = l.prev
	} else {
		q.tail = l.prev
	}
	l.prev, l.next = nil, nil
}

// conn is an admitted connection.
type conn struct {
	net.Conn
	l      *Listener
	key    string
	client *client
	// waiting mirrors queued, for Read to check without the lock.
	waiting atomic.Bool

	// Guarded by l.mu.
	since  time.Time
	queued bool    // in l.waiting and client.waiting
	links  [2]link // its places there: links[inAll], links[inClient]
	gone   bool

	closeOnce sync.Once
	closeErr  error
}

// Read ends the wait at the first byte of a request, before the server
// has read enough of it to say so, so that a request on its way is never
// taken for an idle connection.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.waiting.Load() {
		c.l.busy(c)
	}
	return n, err
}

// Close closes the connection and counts it out, once.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.l.release(c)
	})
	return c.closeErr
}
