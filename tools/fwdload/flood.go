package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The sign-in flood: what a burst of password sign-ins, each an argon2id
// computation, does to forward-auth for everyone already signed in. The
// target is a latency, not a ratio: forward-auth p99 at most 10 ms while
// sign-ins arrive as fast as the machine can hash them, with sign-in
// throughput down by at most a quarter from the flood alone.
//
// Forward-auth is sent at a fixed rate (open loop), not as fast as it can
// go: a closed loop would measure its own queue, and a check's latency is
// what a person behind the proxy waits. Each latency runs from the moment
// the request was due, so a server that stalls is charged for the requests
// that waited behind the stall too.

// floodTarget is the most forward-auth p99 may be during the flood.
const floodTarget = 10 * time.Millisecond

// floodPhase is what one phase of the flood measurement saw.
type floodPhase struct {
	name        string
	fwd         []time.Duration // forward-auth latencies, sorted
	fwdStatuses map[int]int
	signIns     int // sign-ins answered 200
	refused     int // sign-ins answered 429 or 503 (asked to come back)
	inStatuses  map[int]int
	elapsed     time.Duration
	errs        int
	firstErr    error
}

func (p *floodPhase) quantile(q int) time.Duration {
	if len(p.fwd) == 0 {
		return 0
	}
	return p.fwd[min(len(p.fwd)-1, len(p.fwd)*q/100)]
}

func (p *floodPhase) signInRate() float64 {
	return float64(p.signIns) / p.elapsed.Seconds()
}

// measureFlood runs three phases of o.flood each: forward-auth alone,
// sign-ins alone, both together.
func measureFlood(ctx context.Context, lacop *proc, cookie string, o options, progress io.Writer) []floodPhase {
	phases := []struct {
		name         string
		fwd, signIns bool
	}{
		{"forward-auth alone", true, false},
		{"sign-in flood alone", false, true},
		{"forward-auth during the sign-in flood", true, true},
	}
	out := make([]floodPhase, 0, len(phases))
	for _, ph := range phases {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(progress, "fwdload: flood: %s\n", ph.name)
		out = append(out, runFloodPhase(ctx, lacop, cookie, o, ph.name, ph.fwd, ph.signIns))
	}
	return out
}

func runFloodPhase(ctx context.Context, lacop *proc, cookie string, o options, name string, fwd, signIns bool) floodPhase {
	p := floodPhase{name: name, fwdStatuses: map[int]int{}, inStatuses: map[int]int{}}
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		p.errs++
		if p.firstErr == nil {
			p.firstErr = err
		}
		mu.Unlock()
	}
	var stopped atomic.Bool
	timer := time.AfterFunc(o.flood, func() { stopped.Store(true) })
	defer timer.Stop()
	unwatch := context.AfterFunc(ctx, func() { stopped.Store(true) })
	defer unwatch()

	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	start := time.Now()
	if signIns {
		for range o.floodWorkers {
			wg.Go(func() {
				for !stopped.Load() {
					status, err := postSignIn(ctx, tr, lacop.addr)
					if err != nil {
						if ctx.Err() == nil && !stopped.Load() {
							fail(err)
						}
						continue
					}
					mu.Lock()
					p.inStatuses[status]++
					switch status {
					case http.StatusOK:
						p.signIns++
					case http.StatusTooManyRequests, http.StatusServiceUnavailable:
						p.refused++
					}
					mu.Unlock()
				}
			})
		}
	}
	if fwd {
		// A ticker hands due times to a pool of senders; the pool is
		// large enough that a slow answer never holds the next one back.
		due := make(chan time.Time, 1024)
		header := http.Header{
			"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"},
			"X-Forwarded-Host": {"app.example.com"}, "X-Forwarded-Uri": {"/x"},
			"Accept": {"application/json"}, "Cookie": {cookie},
		}
		for range 32 {
			wg.Go(func() {
				for at := range due {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+lacop.addr+"/api/authz/forward-auth", nil)
					req.Header = header.Clone()
					resp, err := tr.RoundTrip(req)
					if err != nil {
						if ctx.Err() == nil {
							fail(err)
						}
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					took := time.Since(at)
					mu.Lock()
					p.fwd = append(p.fwd, took)
					p.fwdStatuses[resp.StatusCode]++
					mu.Unlock()
				}
			})
		}
		interval := time.Second / time.Duration(o.floodRate)
		next := time.Now()
		for !stopped.Load() {
			next = next.Add(interval)
			time.Sleep(time.Until(next))
			due <- next
		}
		close(due)
	} else {
		for !stopped.Load() {
			time.Sleep(10 * time.Millisecond)
		}
	}
	wg.Wait()
	p.elapsed = time.Since(start)
	slices.Sort(p.fwd)
	return p
}

// postSignIn signs the bench user in once and returns the status.
func postSignIn(ctx context.Context, tr *http.Transport, addr string) (int, error) {
	resp, _, err := postJSON(ctx, tr, addr, "/api/login", credentials(), "")
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// floodMarkdown renders the flood phases and the verdicts.
func floodMarkdown(phases []floodPhase, o options) string {
	if len(phases) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| sign-in flood phase (%v each) | forward-auth sent | p50 | p99 | max | sign-ins/s answered 200 | sign-ins refused (429/503) | statuses |\n", o.flood)
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|---|\n")
	var fwdAlone, floodAlone, during *floodPhase
	for i := range phases {
		p := &phases[i]
		fwdCells := "| | | |"
		if len(p.fwd) > 0 {
			fwdCells = fmt.Sprintf("%d | %s | %s | %s |", len(p.fwd), p.quantile(50).Round(time.Microsecond),
				p.quantile(99).Round(time.Microsecond), p.fwd[len(p.fwd)-1].Round(time.Microsecond))
			if p.signIns+p.refused == 0 {
				fwdAlone = p
			}
		}
		signInCells := "| |"
		if p.signIns+p.refused > 0 {
			signInCells = fmt.Sprintf("%.1f | %d |", p.signInRate(), p.refused)
			if len(p.fwd) == 0 {
				floodAlone = p
			} else {
				during = p
			}
		}
		fmt.Fprintf(&b, "| %s | %s %s forward-auth %v; sign-in %v |\n", p.name, fwdCells, signInCells,
			statusList(p.fwdStatuses), statusList(p.inStatuses))
	}
	b.WriteString("\n")
	for i := range phases {
		if p := &phases[i]; p.errs > 0 || p.fwdStatuses[http.StatusOK] != len(p.fwd) {
			fmt.Fprintf(&b, "- INVALID: %s: %d transport errors (first: %v), forward-auth statuses %v (want all 200)\n",
				p.name, p.errs, p.firstErr, statusList(p.fwdStatuses))
		}
	}
	if fwdAlone != nil && during != nil {
		verdict := "met"
		if during.quantile(99) > floodTarget {
			verdict = "NOT met"
		}
		fmt.Fprintf(&b, "- forward-auth at %d/s: p99 %s alone, %s during the sign-in flood (target ≤ %v): %s\n",
			o.floodRate, fwdAlone.quantile(99).Round(time.Microsecond), during.quantile(99).Round(time.Microsecond), floodTarget, verdict)
	}
	if floodAlone != nil && during != nil {
		fmt.Fprintf(&b, "- sign-ins (%d workers): %.1f/s alone, %.1f/s with forward-auth beside them\n",
			o.floodWorkers, floodAlone.signInRate(), during.signInRate())
	}
	return b.String()
}

// statusList prints statuses in order: "200×51 503×3".
func statusList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
