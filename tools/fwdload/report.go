package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// markdown renders the reports as a table followed by the verdicts.
func markdown(reports []report, o options, load0, load1 string) string {
	var b strings.Builder
	base := baseline(reports, func(r *report) bool { return r.baseline })
	same := baseline(reports, func(r *report) bool { return r.sameRequest })
	b.WriteString("| scenario | requests | req/s | server CPU µs/req | × empty | × empty, same request | server user + sys µs/req | server CPU (cores) | client CPU µs/req | p50 | p99 | server RSS MiB before → after (peak) | statuses |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for i := range reports {
		r := &reports[i]
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | FAILED: %s | | | | | | | | | | | |\n", r.name, cell(r.err.Error()))
			continue
		}
		secs := r.elapsed.Seconds()
		sameCell := "–"
		if r.signedIn {
			sameCell = ratioCell(r, same)
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.1f | %s | %s | %.1f + %.1f | %.2f | %.1f | %s | %s | %.1f → %.1f (%.1f) | %s |\n",
			r.name, r.requests, float64(r.requests)/secs, micros(r.cpuPerRequest()), ratioCell(r, base), sameCell,
			micros(perRequest(r.serverCPU.user, r.requests)), micros(perRequest(r.serverCPU.sys, r.requests)),
			ticksSeconds(r.serverCPU.total())/secs, micros(perRequest(r.clientCPU.total(), r.requests)),
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond),
			mib(r.rssBefore), mib(r.rssAfter), mib(r.rssPeak), statusCell(r))
	}
	b.WriteString("\n")
	for i := range reports {
		r := &reports[i]
		switch {
		case r.err != nil:
			fmt.Fprintf(&b, "- INVALID: %s could not be measured: %s\n", r.name, r.err)
			continue
		case r.unexpected() > 0:
			fmt.Fprintf(&b, "- INVALID: %s: %d unexpected responses (want %v)\n", r.name, r.unexpected(), r.want)
			continue
		}
		if r.target > 0 && base != nil {
			verdict := "met"
			if ratio(r, base) > r.target {
				verdict = "NOT met"
			}
			fmt.Fprintf(&b, "- %s: %.2f× the empty handler's CPU per request (target ≤ %.1f×): %s",
				r.name, ratio(r, base), r.target, verdict)
			if r.signedIn && same != nil {
				fmt.Fprintf(&b, "; %.2f× the empty handler's given the same request", ratio(r, same))
			}
			b.WriteString("\n")
		}
		if r.floodCookie != "" {
			// A leak of even a few dozen bytes per unknown cookie shows
			// as megabytes over a run; allocator and GC noise stays
			// under a MiB once the warm-up has set the heap goal.
			grew := r.rssAfter - r.rssBefore
			verdict := "flat"
			if grew > max(1024, int64(r.requests)*32/1024) {
				verdict = "NOT flat"
			}
			fmt.Fprintf(&b, "- %s: lacop RSS %.1f → %.1f MiB (peak %.1f) over %d requests, each with a new unknown cookie: %+.1f MiB, %+.1f bytes per request (flat: at most 1 MiB or 32 bytes per request): %s\n",
				r.name, mib(r.rssBefore), mib(r.rssAfter), mib(r.rssPeak), r.requests, mib(grew),
				float64(grew)*1024/float64(max(1, r.requests)), verdict)
		}
	}
	fmt.Fprintf(&b, "- %s.\n", env(o, load0, load1))
	return b.String()
}

// invalid counts the scenarios whose figures cannot be trusted.
func invalid(reports []report) int {
	n := 0
	for i := range reports {
		if reports[i].err != nil || reports[i].unexpected() > 0 {
			n++
		}
	}
	return n
}

// baseline finds the empty handler's report that is chosen by is.
func baseline(reports []report, is func(*report) bool) *report {
	for i := range reports {
		if r := &reports[i]; is(r) && r.err == nil && r.requests > 0 && r.serverCPU.total() > 0 {
			return r
		}
	}
	return nil
}

func ratio(r, base *report) float64 {
	return float64(r.cpuPerRequest()) / float64(base.cpuPerRequest())
}

func ratioCell(r, base *report) string {
	if base == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", ratio(r, base))
}

func statusCell(r *report) string {
	codes := make([]int, 0, len(r.statuses))
	for s := range r.statuses {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	var parts []string
	for _, s := range codes {
		mark := ""
		if !slices.Contains(r.want, s) {
			mark = " (unexpected)"
		}
		parts = append(parts, fmt.Sprintf("%d: %d%s", s, r.statuses[s], mark))
	}
	if r.transportErrs > 0 {
		parts = append(parts, fmt.Sprintf("no response: %d (%s)", r.transportErrs, cell(fmt.Sprint(r.firstErr))))
	}
	return strings.Join(parts, ", ")
}

// cell keeps text from breaking a Markdown table row.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func perRequest(ticks int64, requests int) time.Duration {
	if requests == 0 {
		return 0
	}
	return time.Duration(ticks) * (time.Second / clockTicks) / time.Duration(requests)
}

func ticksSeconds(t int64) float64 { return float64(t) / clockTicks }

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mib(kib int64) float64 { return float64(kib) / 1024 }
