package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// scenario is one kind of request sent over and over to one server.
type scenario struct {
	name   string
	server *proc
	path   string
	header http.Header
	// want are the statuses this request may get; any other makes the
	// run invalid.
	want []int
	// floodCookie, when set, is a cookie name sent with a fresh random
	// well-formed value on every request: a session no store knows.
	floodCookie string
	// alone scenarios are measured in one piece after the others, so what
	// they do to the server's memory is seen on its own.
	alone bool
	// baseline marks the empty handler every ratio is taken against.
	baseline bool
	// sameRequest marks the empty handler sent the signed-in forward-auth
	// request itself (its headers and cookie) and answering with lacop's
	// answer headers, and signedIn the scenarios also compared with it:
	// what lacop's own work costs, apart from net/http reading a bigger
	// request and writing a bigger answer.
	sameRequest, signedIn bool
	// target is the most CPU per request it may cost, as a multiple of
	// the baseline's; 0 means no target.
	target float64
}

// forwardAuthPath is lacop's forward-auth endpoint; the empty server
// answers it with lacop's answer headers.
const forwardAuthPath = "/api/authz/forward-auth"

// scenarios lists what is measured.
func scenarios(empty *proc, lacops []*proc, cookie string) []scenario {
	lacop := lacops[0]
	// What Traefik or Caddy send for a request to https://app.example.com/x
	// from a client that asks for JSON, so the answer is 401, not a
	// redirect to the login page.
	forwarded := func() http.Header {
		return http.Header{
			"X-Forwarded-Method": {"GET"},
			"X-Forwarded-Proto":  {"https"},
			"X-Forwarded-Host":   {"app.example.com"},
			"X-Forwarded-Uri":    {"/x"},
			"Accept":             {"application/json"},
		}
	}
	signedIn := forwarded()
	signedIn.Set("Cookie", cookie)
	cookieName, _, _ := strings.Cut(cookie, "=")
	const fwd = forwardAuthPath
	scs := []scenario{
		{name: "(a) empty net/http handler, GET /", server: empty, path: "/", header: http.Header{},
			want: []int{http.StatusOK}, baseline: true},
		{name: "(f) empty net/http handler, the signed-in forward-auth request and answer headers", server: empty, path: fwd,
			header: signedIn, want: []int{http.StatusOK}, sameRequest: true},
		{name: "(e) lacop GET /healthz", server: lacop, path: "/healthz", header: http.Header{},
			want: []int{http.StatusOK}},
		{name: "(b) forward-auth, signed in", server: lacop, path: fwd, header: signedIn,
			want: []int{http.StatusOK}, target: 1.5, signedIn: true},
		{name: "(c) forward-auth, anonymous (no cookie)", server: lacop, path: fwd, header: forwarded(),
			want: []int{http.StatusUnauthorized}, target: 1.5},
		{name: "(d) forward-auth, flood of unknown random cookies", server: lacop, path: fwd, header: forwarded(),
			want: []int{http.StatusUnauthorized, http.StatusTooManyRequests}, floodCookie: cookieName, alone: true},
	}
	// Every further instance answers the same signed-in check, its CPU
	// measured on its own.
	for _, p := range lacops[1:] {
		scs = append(scs, scenario{name: "(b) forward-auth, signed in, on " + p.name, server: p, path: fwd,
			header: signedIn, want: []int{http.StatusOK}, target: 1.5, signedIn: true})
	}
	return scs
}

// only keeps the scenarios whose name contains part, and the baselines.
func only(scs []scenario, part string) []scenario {
	return slices.DeleteFunc(scs, func(s scenario) bool {
		return !s.baseline && !s.sameRequest && !strings.Contains(s.name, part)
	})
}

// report is what one scenario measured, summed over its slices.
type report struct {
	scenario
	err error // the scenario could not be measured

	requests      int
	elapsed       time.Duration
	serverCPU     cpu // server CPU during the measured load
	clientCPU     cpu // this process's CPU during it
	statuses      map[int]int
	transportErrs int
	firstErr      error
	latencies     []time.Duration
	p50, p99      time.Duration

	slices                       int
	rssBefore, rssAfter, rssPeak int64 // KiB: before the first slice, after the last, highest seen
}

// unexpected counts responses with a status the scenario does not allow,
// and requests that got no response.
func (r *report) unexpected() int {
	n := r.transportErrs
	for status, c := range r.statuses {
		if !slices.Contains(r.want, status) {
			n += c
		}
	}
	return n
}

func (r *report) cpuPerRequest() time.Duration { return perRequest(r.serverCPU.total(), r.requests) }

// measureAll probes every scenario and warms it up, then measures them in
// turns: each scenario's load is cut into o.rounds slices, taken one
// scenario after another, so a change in whatever else runs on the machine
// falls on every scenario alike instead of skewing the ratios. Scenarios
// marked alone follow, each in one piece.
func measureAll(ctx context.Context, tr *http.Transport, scs []scenario, o options, progress io.Writer) []report {
	reps := make([]report, len(scs))
	var turns, alone []*report
	for i, sc := range scs {
		r := &reps[i]
		*r = report{scenario: sc, statuses: map[int]int{}}
		if r.err = probe(ctx, tr, sc); r.err != nil {
			fmt.Fprintf(progress, "fwdload: %s: %v\n", sc.name, r.err)
			continue
		}
		if sc.alone {
			alone = append(alone, r)
		} else {
			turns = append(turns, r)
		}
	}
	for _, r := range turns {
		load(ctx, tr, r.scenario, o.conns, o.warmup, math.MaxInt)
	}
	perSlice := (o.requests + o.rounds - 1) / o.rounds
	for round := range o.rounds {
		if ctx.Err() != nil {
			return reps
		}
		fmt.Fprintf(progress, "fwdload: round %d of %d\n", round+1, o.rounds)
		for _, r := range turns {
			if ctx.Err() == nil && r.err == nil {
				r.err = r.slice(ctx, tr, o.conns, o.duration/time.Duration(o.rounds), perSlice)
			}
		}
	}
	for _, r := range alone {
		if ctx.Err() != nil {
			return reps
		}
		fmt.Fprintf(progress, "fwdload: %s\n", r.name)
		load(ctx, tr, r.scenario, o.conns, o.warmup, math.MaxInt)
		r.err = r.slice(ctx, tr, o.conns, o.duration, o.requests)
	}
	for i := range reps {
		r := &reps[i]
		if n := len(r.latencies); n > 0 {
			slices.Sort(r.latencies)
			r.p50 = r.latencies[n*50/100]
			r.p99 = r.latencies[min(n-1, n*99/100)]
		}
	}
	return reps
}

// slice runs one bounded closed-loop load and adds what it cost the server
// to the report.
func (r *report) slice(ctx context.Context, tr *http.Transport, conns int, d time.Duration, limit int) error {
	pid := r.server.pid()
	rss0, err := rssKiB(pid)
	if err != nil {
		return err
	}
	server0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	client0, _ := cpuTicks(os.Getpid())
	stopSampling := sampleRSS(pid, rss0)

	res := load(ctx, tr, r.scenario, conns, d, limit)

	server1, err := cpuTicks(pid)
	client1, _ := cpuTicks(os.Getpid())
	peak := stopSampling()
	if err != nil {
		return err
	}
	rss1, err := rssKiB(pid)
	if err != nil {
		return err
	}
	if r.slices == 0 {
		r.rssBefore = rss0
	}
	r.slices++
	r.rssAfter = rss1
	r.rssPeak = max(r.rssPeak, peak, rss1)
	r.serverCPU = r.serverCPU.add(server1.sub(server0))
	r.clientCPU = r.clientCPU.add(client1.sub(client0))
	r.requests += len(res.latencies)
	r.elapsed += res.elapsed
	r.latencies = append(r.latencies, res.latencies...)
	for s, n := range res.statuses {
		r.statuses[s] += n
	}
	r.transportErrs += res.transportErrs
	if r.firstErr == nil {
		r.firstErr = res.firstErr
	}
	return nil
}

// sampleRSS watches the server's RSS every 100 ms until the returned stop
// is called, which returns the highest value seen.
func sampleRSS(pid int, first int64) (stop func() int64) {
	peak := first
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v, err := rssKiB(pid); err == nil {
					peak = max(peak, v)
				}
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak
	}
}
