package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// probe sends one request and checks its status, so a scenario that cannot
// work fails at once with what the server said.
func probe(ctx context.Context, tr *http.Transport, sc scenario) error {
	req, err := newRequest(ctx, sc)
	if err != nil {
		return err
	}
	if sc.floodCookie != "" {
		req.Header.Set("Cookie", sc.floodCookie+"="+base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	resp.Body.Close()
	if !slices.Contains(sc.want, resp.StatusCode) {
		return fmt.Errorf("GET %s answered %d, want %v: %q", sc.path, resp.StatusCode, sc.want, body)
	}
	return nil
}

func newRequest(ctx context.Context, sc scenario) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+sc.server.addr+sc.path, nil)
	if err != nil {
		return nil, err
	}
	req.Header = sc.header.Clone()
	return req, nil
}

// result is what the load generator saw.
type result struct {
	elapsed       time.Duration
	latencies     []time.Duration // one per response
	statuses      map[int]int
	transportErrs int
	firstErr      error
}

// load runs conns workers, each sending one request at a time over its own
// keep-alive connection, until d has passed or limit requests have been
// sent. It stays light because it shares the cores with the servers: one
// transport, one request object per worker reused after each response is
// read, no redirects followed, no cookie jar.
func load(ctx context.Context, tr *http.Transport, sc scenario, conns int, d time.Duration, limit int) result {
	var (
		issued  atomic.Int64
		stopped atomic.Bool
		mu      sync.Mutex
		total   = result{statuses: map[int]int{}}
		wg      sync.WaitGroup
	)
	timer := time.AfterFunc(d, func() { stopped.Store(true) })
	defer timer.Stop()
	unwatch := context.AfterFunc(ctx, func() { stopped.Store(true) })
	defer unwatch()

	perWorker := 1024
	if limit < math.MaxInt {
		perWorker = limit/conns + 1
	}
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := result{statuses: map[int]int{}, latencies: make([]time.Duration, 0, perWorker)}
			defer func() {
				mu.Lock()
				total.latencies = append(total.latencies, r.latencies...)
				for s, n := range r.statuses {
					total.statuses[s] += n
				}
				total.transportErrs += r.transportErrs
				if total.firstErr == nil {
					total.firstErr = r.firstErr
				}
				mu.Unlock()
			}()
			req, err := newRequest(ctx, sc)
			if err != nil {
				r.transportErrs++
				r.firstErr = err
				return
			}
			var next func() string
			if sc.floodCookie != "" {
				next = randomCookies(sc.floodCookie, uint64(w))
			}
			cookie := make([]string, 1)
			for !stopped.Load() && issued.Add(1) <= int64(limit) {
				if next != nil {
					cookie[0] = next()
					req.Header["Cookie"] = cookie
				}
				t0 := time.Now()
				resp, err := tr.RoundTrip(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					r.transportErrs++
					if r.firstErr == nil {
						r.firstErr = err
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.latencies = append(r.latencies, time.Since(t0))
				r.statuses[resp.StatusCode]++
			}
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// randomCookies returns a generator of "name=value" cookies whose values
// look like session secrets (43 characters of base64url, 256 random bits)
// and name no session.
func randomCookies(name string, seed uint64) func() string {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed))
	var raw [32]byte
	buf := make([]byte, len(name)+1+base64.RawURLEncoding.EncodedLen(len(raw)))
	copy(buf, name+"=")
	return func() string {
		for i := 0; i < len(raw); i += 8 {
			binary.LittleEndian.PutUint64(raw[i:], rng.Uint64())
		}
		base64.RawURLEncoding.Encode(buf[len(name)+1:], raw[:])
		return string(buf)
	}
}
