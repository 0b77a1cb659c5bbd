package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop/postgres/pgtest"
	"github.com/lacop/lacop/redis/redistest"
)

// outage is a store the test can take away and give back.
type outage interface {
	down()
	up()
}

// TestStoreDownFailsClosed: while PostgreSQL or Redis cannot be reached,
// under steady load, no forward-auth or API request gets 200 and /readyz is
// 503; once the store is back lacop serves again by itself, and every
// sign-out that was answered 200 is in the audit log.
//
// With storage.shared_cache on ("cached"), an instance answers from memory
// until it learns the store is gone: a store that closes its connections
// (a killed Redis, PostgreSQL cut) ends the cache's subscription, and the
// cache with it, when the instance reads that end. Requests sent within
// cacheNotices of the cut may still be answered 200 from memory (a session
// alive a moment ago, which no one can have ended since: an end needs the
// store, and this instance's acknowledgement or its lease to run out); none
// sent after. The test logs how long after the cut the last such 200 was sent.
func TestStoreDownFailsClosed(t *testing.T) {
	for _, cached := range []bool{false, true} {
		name, grace, extra := "", time.Duration(0), "  shared_cache: false\n"
		if cached {
			name, grace, extra = "cached/", cacheNotices, "  shared_cache: true\n"
		}
		t.Run(name+"postgres", func(t *testing.T) {
			pg := pgtest.NewDatabase(t)
			u, _ := url.Parse(pg)
			cut := startCutProxy(t, u.Host)
			u.Host = cut.addr
			p := startPortal(t, fmt.Sprintf("storage:\n  driver: postgres\n  postgres_url: %q\n", u.String())+extra)
			failsClosed(t, p, cut, grace)
		})
		t.Run(name+"redis", func(t *testing.T) {
			r := startRedis(t)
			p := startPortal(t, fmt.Sprintf("storage:\n  driver: postgres\n  postgres_url: %q\n  redis_url: %q\n",
				pgtest.NewDatabase(t), r.url)+extra)
			failsClosed(t, p, r, grace)
		})
	}
}

// cacheNotices bounds how long after a store closes its connections an
// instance with the shared cache may still answer from memory: the time
// for its subscription's reader to be scheduled and see the end, measured
// at 0.1–2 ms; the bound leaves room for a loaded CI machine. (A store that
// goes silent without closing anything is noticed when the lease runs out
// by the instance's clock, at most 2.75 s: sessioncache.Peers.)
const cacheNotices = 250 * time.Millisecond

func failsClosed(t *testing.T, p *portal, store outage, grace time.Duration) {
	if grace > 0 {
		// The cache serves once its lease is held; before that every
		// check reads the store, and the test would not test the cache.
		waitCaching(t, p)
	}
	p.addUser("ann@example.com")
	secret := p.login("ann@example.com")
	tokens := p.issueTokens(secret)
	victims := []string{p.login("ann@example.com"), p.login("ann@example.com")}

	// Load: forward-auth, the API with cookie and bearer, and readiness,
	// from several clients at once, each answer noted with when it was sent.
	var (
		downAt     atomic.Int64 // unix ns when the store went away; 0 while up
		upAt       atomic.Int64
		okWhenDown atomic.Int64
		lastCached atomic.Int64 // latest send, ns after the cut, of a 200 within grace
		cachedOK   atomic.Int64 // how many of those
		sent       atomic.Int64
		mu         sync.Mutex
		wrong      []string
	)
	asks := map[string]func() (int, error){
		"forward-auth": func() (int, error) {
			res, err := p.try(request{method: "GET", path: "/api/authz/forward-auth", header: mergeHeaders(map[string]string{
				"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/",
			}, cookieHeader(cookieName, secret))})
			return status(res, err)
		},
		"me": func() (int, error) {
			return status(p.try(request{method: "GET", path: "/api/me", cookie: secret}))
		},
		"bearer": func() (int, error) {
			return status(p.try(request{method: "GET", path: "/api/me", header: bearerHeader(tokens.access)}))
		},
		"readyz": func() (int, error) { return status(p.try(request{method: "GET", path: "/readyz"})) },
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for name, ask := range asks {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				at := time.Now().UnixNano()
				code, err := ask()
				sent.Add(1)
				answered := time.Now().UnixNano()
				// Sent after the store went away and answered before it was
				// given back (a request waiting on a reconnect may rightly
				// succeed once the store is back).
				if d, u := downAt.Load(), upAt.Load(); d != 0 && at > d && (u == 0 || answered < u) && err == nil && code == http.StatusOK {
					if after := at - d; after <= int64(grace) {
						cachedOK.Add(1)
						for l := lastCached.Load(); after > l && !lastCached.CompareAndSwap(l, after); l = lastCached.Load() {
						}
						continue
					}
					okWhenDown.Add(1)
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s sent %v after the cut", name, time.Duration(at-downAt.Load())))
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	store.down()
	downAt.Store(time.Now().UnixNano())

	// While it is down: refusals, with the 503 that tells clients to retry.
	time.Sleep(500 * time.Millisecond)
	for what, ask := range asks {
		if code, err := ask(); err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("%s with the store down = %d, %v; want 503", what, code, err)
		}
	}
	// Sign-outs made during the outage: whatever they answer, one answered
	// 200 must be recorded, and none may leave its session alive.
	logouts := make([]int, len(victims))
	for i, v := range victims {
		logouts[i], _ = status(p.try(request{method: "POST", path: "/api/logout", cookie: v}))
	}
	time.Sleep(time.Second)
	upAt.Store(time.Now().UnixNano())
	store.up()

	deadline := time.Now().Add(15 * time.Second)
	for {
		fa, _ := asks["forward-auth"]()
		rz, _ := asks["readyz"]()
		if fa == http.StatusOK && rz == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15s after the store came back: forward-auth %d, readyz %d; want 200 (lacop must recover by itself)\n%s", fa, rz, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(time.Unix(0, upAt.Load()))
	close(stop)
	wg.Wait()
	if n := okWhenDown.Load(); n > 0 {
		t.Errorf("%d requests sent while the store was down were answered 200: %v", n, wrong[:min(len(wrong), 10)])
	}
	t.Logf("%d requests under load; served again %v after the store came back", sent.Load(), recovered.Round(time.Millisecond))
	if grace > 0 {
		t.Logf("%d requests sent after the cut were answered 200 from memory, the last sent %v after it (allowed: %v)",
			cachedOK.Load(), time.Duration(lastCached.Load()), grace)
	}

	// Every sign-out answered 200 is in the audit log; any other is done now.
	for i, v := range victims {
		if logouts[i] != http.StatusOK {
			if logouts[i] != http.StatusServiceUnavailable {
				t.Errorf("sign-out during the outage = %d; want 200 or 503", logouts[i])
			}
			if res := p.do(request{method: "POST", path: "/api/logout", cookie: v}); res.StatusCode != http.StatusOK {
				t.Errorf("sign-out after the outage = %d %s", res.StatusCode, res.Body)
			}
		}
		if got := p.meStatus(v); got != http.StatusUnauthorized {
			t.Errorf("session %d after its sign-out = %d; want 401", i, got)
		}
	}
	events, _ := p.activity(secret, "?type=logout")
	if want := len(victims); len(events) < want {
		t.Errorf("logout events after the outage: %d; want %d (one per sign-out answered 200)", len(events), want)
	}
}

func status(res *response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// cutProxy forwards TCP to a real server until cut: then it closes every
// connection and refuses new ones, as a network partition or a stopped
// database would, until restored on the same address.
type cutProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	c := &cutProxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	c.listen("127.0.0.1:0")
	c.addr = c.ln.Addr().String()
	t.Cleanup(c.down)
	return c
}

func (c *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			if c.ln != ln { // cut while this one was being connected
				c.mu.Unlock()
				in.Close()
				out.Close()
				continue
			}
			c.conns[in], c.conns[out] = struct{}{}, struct{}{}
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (c *cutProxy) down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
}

func (c *cutProxy) up() { c.listen(c.addr) }

// redisServer is a redis-server of the test's own (append-only file,
// fsynced on every write, as lacop requires): down kills it, up restarts it
// on the same port and data.
type redisServer struct {
	url         string
	stop, start func()
}

func startRedis(t *testing.T) *redisServer {
	url, stop, start := redistest.StartServer(t)
	return &redisServer{url: url, stop: stop, start: start}
}

func (r *redisServer) down() { r.stop() }
func (r *redisServer) up()   { r.start() }
