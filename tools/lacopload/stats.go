package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// The operations the report lists, in its order.
const (
	opLogin       = "login"
	opFwd         = "forward-auth"
	opMe          = "me"
	opTokens      = "tokens"
	opBearer      = "bearer"
	opRefresh     = "refresh"
	opLogout      = "logout"
	opSessions    = "sessions"
	opEndOther    = "end-other"
	opRevokeAll   = "revoke-all"
	opOAuthRevoke = "oauth-revoke"
	opProbe       = "probe"
)

var opOrder = []string{opLogin, opFwd, opMe, opTokens, opBearer, opRefresh, opLogout, opSessions,
	opEndOther, opRevokeAll, opOAuthRevoke, opProbe}

// reservoirSize caps the latency samples kept per operation.
const reservoirSize = 100_000

// opStats is what one operation saw.
type opStats struct {
	mu         sync.Mutex
	count      int
	statuses   map[int]int // 0: no response
	unexpected int
	samples    []time.Duration // a uniform reservoir of the latencies
	rng        *rand.Rand
}

// stats holds every operation's figures and the first unexpected answers.
type stats struct {
	ops     map[string]*opStats
	mu      sync.Mutex
	details []string // first unexpected answers, for the report
}

func newStats() *stats {
	s := &stats{ops: map[string]*opStats{}}
	for i, op := range opOrder {
		s.ops[op] = &opStats{statuses: map[int]int{}, rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
	}
	return s
}

// add records one answer (status 0: no response) and its latency.
func (s *stats) add(op string, status int, d time.Duration) {
	o := s.ops[op]
	o.mu.Lock()
	defer o.mu.Unlock()
	o.count++
	o.statuses[status]++
	if len(o.samples) < reservoirSize {
		o.samples = append(o.samples, d)
	} else if i := o.rng.IntN(o.count); i < reservoirSize {
		o.samples[i] = d
	}
}

// unexpected records an answer the scenario did not allow.
func (s *stats) unexpected(op, detail string) {
	o := s.ops[op]
	o.mu.Lock()
	o.unexpected++
	o.mu.Unlock()
	s.mu.Lock()
	if len(s.details) < 10 {
		s.details = append(s.details, op+": "+detail)
	}
	s.mu.Unlock()
}

func (s *stats) totals() (requests, unexpected int) {
	for _, o := range s.ops {
		o.mu.Lock()
		requests += o.count
		unexpected += o.unexpected
		o.mu.Unlock()
	}
	return requests, unexpected
}

// quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// verdict is one invariant's outcome for the report.
type verdict struct {
	name  string
	pass  bool
	lines []string // the numbers behind it
}

// markdown renders the report.
func markdown(s *stats, elapsed time.Duration, verdicts []verdict, notes []string, envLine string) string {
	var b strings.Builder
	secs := max(elapsed.Seconds(), 1e-9)
	b.WriteString("# lacopload report\n\n")
	b.WriteString("| operation | requests | req/s | p50 | p99 | unexpected | statuses |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
	for _, op := range opOrder {
		o := s.ops[op]
		o.mu.Lock()
		sorted := slices.Clone(o.samples)
		slices.Sort(sorted)
		fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %s | %d | %s |\n", op, o.count, float64(o.count)/secs,
			ms(quantile(sorted, 0.50)), ms(quantile(sorted, 0.99)), o.unexpected, statusCell(o.statuses))
		o.mu.Unlock()
	}
	req, unexp := s.totals()
	fmt.Fprintf(&b, "| **total** | %d | %.1f | | | %d | |\n\n", req, float64(req)/secs, unexp)
	fmt.Fprintf(&b, "Load phase %.1f s (a scenario under way at the stop runs on to its end).\n\n", elapsed.Seconds())
	if len(s.details) > 0 {
		b.WriteString("First unexpected answers:\n\n")
		for _, d := range s.details {
			fmt.Fprintf(&b, "- %s\n", cell(d))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Invariants\n\n")
	for _, v := range verdicts {
		word := "PASS"
		if !v.pass {
			word = "FAIL"
		}
		fmt.Fprintf(&b, "- **%s: %s**\n", v.name, word)
		for _, l := range v.lines {
			fmt.Fprintf(&b, "  - %s\n", l)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\nEnvironment: %s\n", envLine)
	return b.String()
}

func statusCell(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no response"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, m[c]))
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// cell keeps text from breaking Markdown.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
