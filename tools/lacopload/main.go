// Command lacopload puts lacop under a load of whole sign-in lives and
// checks, while and after it runs, that ending credentials really ends
// them and that the audit log misses nothing.
//
// From the module root:
//
//	go run ./tools/lacopload [-duration 60s] [-max-requests 2000000] [-users 40] [-vus 32]
//	                         [-lacop PATH] [-postgres-url URL [-redis-url URL]] [-out FILE]
//
// It builds lacop (or takes -lacop), creates -users users in a fresh data
// directory (SQLite, or the given empty PostgreSQL database, with Redis in
// front when -redis-url is set; Redis keys go under a prefix of the run),
// and starts lacop serve on 127.0.0.1:0 with sign-in throttling and the
// unknown-cookie limit lifted. Then -vus virtual users each loop a
// scenario until -duration has passed or -max-requests requests have been
// sent: sign in, forward-auth checks, /api/me, POST /api/tokens, bearer
// /api/me, one or two refreshes, then end everything one of four ways
// chosen at random: (a) sign out; (b) a second session of the same user
// ends the first from the session list, then signs out; (c) sign out
// everywhere; (d) revoke the refresh token (tokens end, the session does
// not), then sign out. A scenario under way at the stop runs to its end,
// so the requests sent may pass -max-requests by a few per virtual user.
// Each virtual user holds its user alone while it runs a scenario, since
// (c) ends every session of the user.
//
// Invariants, any failure of which makes it exit 1:
//
//  1. No success after an end: right after each end is answered, the ended
//     cookie gets 401 from forward-auth and /api/me, every access token of
//     the session 401 from /api/me, the latest refresh token 400
//     invalid_grant from /oauth/token; a checker goroutine re-probes random
//     credentials among the last 2000 ended until the load stops. A
//     session list that still shows an ended session fails it too.
//  2. No audit event missing for a success: after lacop has stopped
//     (SIGTERM), lacop audit counts each event type; there are at least as
//     many as successes the tool counted (exactly as many for
//     login.succeeded and token.issued).
//  3. No session left that should have ended: lacop session list shows
//     none of the sessions whose end was answered.
//
// It also exits 1 when lacop answers anything a step does not expect,
// exits during the run, or does not stop cleanly. The Markdown report
// (latency per operation, the invariants with their numbers) goes to
// stdout and to -out. Secrets are never printed, only their first 6
// characters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lacop/lacop/tools/internal/lacopbin"
)

// options are the command-line flags.
type options struct {
	duration              time.Duration
	maxRequests           int
	users, vus            int
	lacop, out            string
	postgresURL, redisURL string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load runs, at most")
	flag.IntVar(&o.maxRequests, "max-requests", 2_000_000, "requests to send, at most (scenarios under way at the stop still end)")
	flag.IntVar(&o.users, "users", 40, "users to create")
	flag.IntVar(&o.vus, "vus", 32, "virtual users (concurrent scenarios)")
	flag.StringVar(&o.lacop, "lacop", "", "lacop binary (default: go build ./cmd/lacop)")
	flag.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	flag.StringVar(&o.postgresURL, "postgres-url", "", "run lacop on this (empty) PostgreSQL database instead of SQLite")
	flag.StringVar(&o.redisURL, "redis-url", "", "with -postgres-url: sessions, denylist and notifications in this Redis")
	flag.Parse()
	if o.duration <= 0 || o.maxRequests < 1 || o.users < 1 || o.vus < 1 || flag.NArg() > 0 ||
		(o.redisURL != "" && o.postgresURL == "") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	if ctx.Err() != nil {
		err = errors.New("interrupted; lacop stopped, temp dir removed")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lacopload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "lacopload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.lacop
	if bin == "" {
		progress("building lacop")
		bin = filepath.Join(tmp, "lacop")
		if err := lacopbin.Build(ctx, bin); err != nil {
			return err
		}
	}
	l, err := newLacop(bin, tmp, o)
	if err != nil {
		return err
	}
	emails := make([]string, o.users)
	for i := range emails {
		emails[i] = fmt.Sprintf("load%03d@example.com", i)
	}
	progress("creating %d users", o.users)
	if err := l.addUsers(ctx, emails); err != nil {
		return err
	}
	if err := l.start(ctx); err != nil {
		l.stop()
		return err
	}
	defer l.stop() // a no-op once stopped below
	progress("lacop listening on %s; load for %v or %d requests with %d virtual users", l.addr, o.duration, o.maxRequests, o.vus)

	s, b, t := newStats(), &budget{limit: int64(o.maxRequests)}, &tally{}
	c := newClient(l.addr, s, b)
	ck := newChecker(c)
	go func() { // a lacop that dies ends the load at once
		<-l.done
		b.stop.Store(true)
	}()
	elapsed := load(ctx, o, c, ck, t, newUserPool(emails))
	if ctx.Err() != nil {
		return ctx.Err()
	}

	var failures, notes []string
	if crashed := l.exited(); crashed {
		failures = append(failures, fmt.Sprintf("lacop exited during the run (%v):\n%s", l.exitErr, l.stderrTail()))
	} else if err := l.stop(); err != nil {
		failures = append(failures, err.Error())
	}
	if n, first := l.logLines(5); n > 0 {
		note := fmt.Sprintf("lacop logged %d lines at warn or above; the first %d:", n, len(first))
		for _, line := range first {
			note += "\n  - `" + strings.ReplaceAll(truncate(line, 300), "`", "'") + "`"
		}
		notes = append(notes, note)
	}
	progress("load done; lacop stopped; counting audit events and sessions")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	verdicts := []verdict{ck.noSuccessAfterEnd(), auditComplete(cctx, l, t), ck.noSessionLeft(cctx, l)}
	notes = append(notes, scenarioNotes(t)...)

	md := markdown(s, elapsed, verdicts, notes, envLine(o))
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	for _, v := range verdicts {
		if !v.pass {
			failures = append(failures, "invariant "+v.name+" failed")
		}
	}
	if _, n := s.totals(); n > 0 {
		failures = append(failures, fmt.Sprintf("%d unexpected answers from lacop", n))
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// load runs the virtual users and the checker until the duration or the
// request budget is spent, and every scenario under way has ended. It
// returns how long that took.
func load(ctx context.Context, o options, c *client, ck *checker, t *tally, users *userPool) time.Duration {
	// A hard bound on top of the 10 s request timeout: anything still
	// running this long after the stop fails its requests.
	ctx, cancel := context.WithTimeout(ctx, o.duration+2*time.Minute)
	defer cancel()
	start := time.Now()
	timer := time.AfterFunc(o.duration, func() { c.budget.stop.Store(true) })
	defer timer.Stop()
	checked := make(chan struct{})
	go func() {
		ck.run(ctx)
		close(checked)
	}()
	var wg sync.WaitGroup
	for i := range o.vus {
		v := &vu{c: c, users: users, ck: ck, t: t, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))}
		wg.Go(func() { v.run(ctx) })
	}
	wg.Wait()
	<-checked
	return time.Since(start)
}

// scenarioNotes says how the scenarios went.
func scenarioNotes(t *tally) []string {
	notes := []string{fmt.Sprintf("%d scenarios, %d cut short by an unexpected answer; ends: %s %d, %s %d, %s %d, %s %d",
		t.scenarios.Load(), t.aborted.Load(), endNames[0], t.ends[0].Load(), endNames[1], t.ends[1].Load(),
		endNames[2], t.ends[2].Load(), endNames[3], t.ends[3].Load())}
	if n := t.revokeAllNotOne.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d revoke-all answers did not say 1 session revoked (each user is one virtual user's alone)", n))
	}
	if n := t.extraListed.Load(); n > 0 {
		notes = append(notes, fmt.Sprintf("%d sessions beyond the two of an end-other scenario were listed (left by earlier scenarios)", n))
	}
	notes = append(notes, "lacop ran with regulation.max_failures and max_failures_per_ip at 1000000 and max_unknown_cookies at 1000000000, so sign-ins and probes of dead cookies from 127.0.0.1 are not throttled")
	return notes
}

func envLine(o options) string {
	storage := "SQLite"
	switch {
	case o.redisURL != "":
		storage = "PostgreSQL + Redis"
	case o.postgresURL != "":
		storage = "PostgreSQL"
	}
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS %d, storage %s, duration %v, max requests %d, %d virtual users, %d users",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), storage, o.duration, o.maxRequests, o.vus, o.users)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lacopload: "+format+"\n", args...)
}
