package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// phase is one timed part of the run.
type phase struct {
	name string
	lat  []time.Duration
	took time.Duration
}

type report struct {
	o                 options
	codeFlow, refresh phase
	introspect        phase
	logouts           []time.Duration
	logoutCount       int
	endTook           time.Duration
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r *report) markdown(cpus int) string {
	var b strings.Builder
	storage := "SQLite"
	if r.o.postgresURL != "" {
		storage = "PostgreSQL"
	}
	fmt.Fprintf(&b, "`go run ./tools/oidcload -sessions %d -apps %d -workers %d -duration %s` — %s, %d CPUs, %s\n\n",
		r.o.sessions, r.o.apps, r.o.workers, r.o.duration, storage, cpus, time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| operation | calls | per second | p50 | p99 |\n|---|---:|---:|---:|---:|\n")
	for _, p := range []phase{r.codeFlow, r.refresh, r.introspect} {
		lat := slices.Clone(p.lat)
		slices.Sort(lat)
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s |\n", p.name, len(lat), float64(len(lat))/p.took.Seconds(),
			ms(quantile(lat, .5)), ms(quantile(lat, .99)))
	}
	fmt.Fprintf(&b, "\nEnding %d sessions at once (one POST /api/sessions/revoke-all, answered in %s): "+
		"%d back-channel logouts of %d arrived, after the answer: p50 %s, p99 %s, last %s.\n",
		r.o.sessions, ms(r.endTook), r.logoutCount, r.o.sessions*r.o.apps,
		ms(quantile(r.logouts, .5)), ms(quantile(r.logouts, .99)), ms(quantile(r.logouts, 1)))
	return b.String()
}
