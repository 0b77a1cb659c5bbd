// Command oidcload measures lacop as an OpenID Connect provider: the
// authorization-code round trip, the token endpoint (refresh with
// rotation) and introspection throughput, and how long back-channel
// logouts take to reach the apps when many sessions end at once.
//
// From the module root:
//
//	go run ./tools/oidcload [-sessions 1000] [-apps 3] [-duration 10s] [-workers 8]
//	                        [-lacop PATH] [-postgres-url URL] [-out FILE]
//
// It builds lacop (or takes -lacop), starts it on a free loopback port
// (SQLite in a fresh data directory, or the given empty PostgreSQL
// database) with -apps confidential clients, each with a back-channel
// receiver served by this tool, and one user. Then:
//
//  1. signs in -sessions sessions (POST /api/login);
//  2. signs each session in to every app: GET /oauth/authorize with the
//     session's cookie, through lacop's continue page to the app's
//     redirect URI, then POST /oauth/token with the code and the PKCE
//     verifier — the authorization-code round trip, timed end to end;
//  3. for -duration, -workers refresh tokens in a loop (each worker its
//     own chain: every refresh rotates), then introspect access tokens;
//  4. ends every session of the user with one POST
//     /api/sessions/revoke-all and times, from its answer, the arrival of
//     every back-channel logout (sessions × apps of them), checking each
//     (app, sid) arrives exactly once and that a refresh token of an
//     ended session is invalid_grant.
//
// The Markdown report goes to stdout and to -out. It exits 1 when lacop
// answers anything unexpected or a logout token is missing or doubled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/lacop/lacop/tools/internal/lacopbin"
)

type options struct {
	sessions, apps, workers int
	duration                time.Duration
	lacop, postgresURL, out string
}

func main() {
	var o options
	flag.IntVar(&o.sessions, "sessions", 1000, "sessions to sign in and end at once")
	flag.IntVar(&o.apps, "apps", 3, "apps every session signs in to")
	flag.IntVar(&o.workers, "workers", 8, "concurrent clients in the throughput phases")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each throughput phase")
	flag.StringVar(&o.lacop, "lacop", "", "lacop binary (default: build ./cmd/lacop)")
	flag.StringVar(&o.postgresURL, "postgres-url", "", "an empty PostgreSQL database to use instead of SQLite")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.Parse()
	if o.sessions < 1 || o.apps < 1 || o.workers < 1 || o.duration <= 0 || o.duration > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "oidcload: -sessions, -apps, -workers must be positive, -duration in (0, 10m]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute) // whatever happens, it stops
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "oidcload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "oidcload-")
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
	rc := newReceivers(o.apps)
	defer rc.close()
	l, err := newLacop(bin, tmp, o, rc)
	if err != nil {
		return err
	}
	if _, err := l.cli(ctx, password+"\n", "user", "add", email, "--password-stdin"); err != nil {
		return err
	}
	if err := l.start(ctx); err != nil {
		return err
	}
	defer l.stop()
	progress("lacop on %s with %d apps", l.base, o.apps)

	r := &report{o: o}
	c := newClient(l.base)
	var failures []string
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }

	progress("signing in %d sessions", o.sessions)
	sessions, err := c.signIn(ctx, o.sessions, 4)
	if err != nil {
		return err
	}
	progress("signing %d sessions in to %d apps (authorization code round trips)", o.sessions, o.apps)
	r.codeFlow, err = c.codeFlows(ctx, sessions, l.clients, 4)
	if err != nil {
		return err
	}
	progress("refreshing for %v with %d workers", o.duration, o.workers)
	r.refresh, err = c.refreshLoop(ctx, sessions, l.clients, o.workers, o.duration)
	if err != nil {
		return err
	}
	progress("introspecting for %v with %d workers", o.duration, o.workers)
	r.introspect, err = c.introspectLoop(ctx, sessions, l.clients, o.workers, o.duration)
	if err != nil {
		return err
	}

	want := o.sessions * o.apps
	progress("ending %d sessions at once; waiting for %d back-channel logouts", o.sessions, want)
	answered, took, err := c.revokeAll(ctx, sessions[0])
	if err != nil {
		return err
	}
	r.endTook = took
	got := rc.wait(ctx, want, 2*time.Minute)
	r.logouts = rc.latencies(answered)
	r.logoutCount = got
	if got != want {
		fail("%d of %d back-channel logouts arrived", got, want)
	}
	if d := rc.duplicates(); d > 0 {
		fail("%d back-channel logouts arrived more than once", d)
	}
	if missing := rc.missing(sessions, l.clients); missing > 0 {
		fail("%d (app, sid) pairs got no logout", missing)
	}
	if n := c.deadRefreshes(ctx, sessions, l.clients, 20); n > 0 {
		fail("%d refresh tokens of ended sessions still worked", n)
	}
	if n := c.unexpected.Load(); n > 0 {
		fail("%d unexpected answers from lacop (first: %s)", n, c.firstUnexpected())
	}
	if err := l.stop(); err != nil {
		fail("%v", err)
	}

	md := r.markdown(runtime.NumCPU())
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
