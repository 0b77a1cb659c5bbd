// Command fwdload measures what lacop's forward-auth endpoint costs the
// server in CPU per request, against an empty net/http handler measured in
// the same run on the same machine, and whether lacop's memory stays flat
// under a flood of anonymous requests.
//
// It exists because the forward-auth target is a ratio — at most 1.5× the
// empty handler's CPU per request, signed in or not — and a ratio only
// means something when both sides are measured together: absolute figures
// move with the machine, the Go version and the load generator that shares
// the cores.
//
// From the module root:
//
//	go run ./tools/fwdload [-duration 10s] [-conns 16] [-requests 200000] [-rounds 5] [-out FILE] [-lacop PATH]
//	                       [-postgres-url URL [-redis-url URL]]
//
// It builds lacop (or takes -lacop), starts it on 127.0.0.1:0 with a fresh
// data directory and one user, signs in, and starts this same program again
// as the empty server (the hidden subcommand "empty-server"). Each server
// is its own process, so its CPU time and RSS are read from /proc: Linux
// only. The scenarios are measured in turns, so whatever else the machine
// is doing weighs on the baseline as much as on lacop. It exits non-zero
// when a server does not start or any response has a status the scenario
// does not expect; missing a target is a finding, not a failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/lacop/lacop/tools/internal/lacopbin"
)

// options are the command-line flags.
type options struct {
	duration time.Duration // measured part of each scenario, at most
	warmup   time.Duration // unmeasured load before it
	conns    int
	requests int // per scenario, at most
	rounds   int // slices each interleaved scenario's load is cut into
	out      string
	lacop    string // prebuilt binary; "" builds ./cmd/lacop
	// postgresURL and redisURL put lacop on those stores instead of SQLite
	// (the database must be empty; Redis keys go under a prefix of the run).
	postgresURL, redisURL string
	// flood, when set, adds the sign-in flood measurement: forward-auth
	// at floodRate per second alone, floodWorkers sign-in loops alone,
	// then both, flood long each. onlyFlood skips the CPU scenarios.
	flood                   time.Duration
	floodRate, floodWorkers int
	onlyFlood               bool
	// instances is how many lacop processes share the stores; forward-auth
	// is measured on each. signOuts and frozenSignOuts time sign-outs
	// with every instance caching, then with the last one frozen.
	instances, signOuts, frozenSignOuts int
	// only, when set, measures only the scenarios whose name contains it
	// (and the empty handler's two, every ratio's base): for profiling one.
	only string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == emptyServerCmd {
		if err := runEmptyServer(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fwdload empty-server:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured load per scenario, at most")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario")
	flag.IntVar(&o.conns, "conns", 16, "concurrent keep-alive connections")
	flag.IntVar(&o.requests, "requests", 200_000, "measured requests per scenario, at most")
	flag.IntVar(&o.rounds, "rounds", 5, "measure each scenario in this many slices, taken in turn with the other scenarios")
	flag.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	flag.StringVar(&o.lacop, "lacop", "", "lacop binary to measure (default: go build ./cmd/lacop)")
	flag.StringVar(&o.postgresURL, "postgres-url", "", "run lacop on this (empty) PostgreSQL database instead of SQLite")
	flag.StringVar(&o.redisURL, "redis-url", "", "with -postgres-url: sessions, denylist and regulation in this Redis")
	flag.DurationVar(&o.flood, "flood", 0, "also measure forward-auth latency during a sign-in flood, this long per phase (0: not)")
	flag.IntVar(&o.floodRate, "flood-rate", 200, "forward-auth requests per second sent during the flood phases")
	flag.IntVar(&o.floodWorkers, "flood-workers", 8, "concurrent sign-in loops in the flood")
	flag.BoolVar(&o.onlyFlood, "only-flood", false, "measure the sign-in flood only (needs -flood)")
	flag.StringVar(&o.only, "only", "", "measure only the scenarios whose name contains this (and the empty handler's)")
	flag.IntVar(&o.instances, "instances", 1, "lacop processes sharing the stores (more than 1 needs -postgres-url)")
	flag.IntVar(&o.signOuts, "signouts", 0, "also time this many sign-outs while every instance caches the session")
	flag.IntVar(&o.frozenSignOuts, "frozen-signouts", 10, "with -signouts and several instances: sign-outs timed with the last instance frozen")
	flag.Parse()
	if o.instances < 1 || (o.instances > 1 && o.postgresURL == "") || o.signOuts < 0 || o.frozenSignOuts < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.flood < 0 || (o.flood > 0 && (o.floodRate < 1 || o.floodWorkers < 1)) || (o.onlyFlood && o.flood == 0) ||
		o.conns < 1 || o.requests < 1 || o.rounds < 1 || o.duration <= 0 || o.warmup < 0 || flag.NArg() > 0 ||
		(o.redisURL != "" && o.postgresURL == "") {
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout, os.Stderr)
	if ctx.Err() != nil {
		err = errors.New("interrupted; servers stopped, temp dir removed")
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fwdload:", err)
		os.Exit(1)
	}
}

// run starts both servers, measures every scenario and reports. Its defers
// stop the servers and remove the temp dir on every way out, an interrupt
// included (the context ends the load, then run returns).
func run(ctx context.Context, o options, stdout, progress io.Writer) error {
	if err := checkProc(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "fwdload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin := o.lacop
	if bin == "" {
		fmt.Fprintln(progress, "fwdload: building lacop")
		bin = filepath.Join(tmp, "lacop")
		if err := lacopbin.Build(ctx, bin); err != nil {
			return err
		}
	}
	fmt.Fprintln(progress, "fwdload: starting lacop and the empty server")
	lacop, cookie, err := startLacop(ctx, bin, tmp, o.storageArgs())
	if lacop != nil {
		defer lacop.stop()
	}
	if err != nil {
		return err
	}
	lacops := []*proc{lacop}
	if o.instances > 1 {
		more, err := startMoreLacops(ctx, bin, tmp, o.storageArgs(), o.instances)
		for _, p := range more {
			defer p.stop()
		}
		if err != nil {
			return err
		}
		lacops = append(lacops, more...)
	}
	empty, err := startEmptyServer(ctx, tmp)
	if empty != nil {
		defer empty.stop()
	}
	if err != nil {
		return err
	}

	tr := &http.Transport{
		MaxIdleConns:        2 * o.conns,
		MaxIdleConnsPerHost: o.conns,
		MaxConnsPerHost:     o.conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()

	load0 := loadAvg()
	var reports []report
	if !o.onlyFlood {
		reports = measureAll(ctx, tr, only(scenarios(empty, lacops, cookie), o.only), o, progress)
	}
	var flood []floodPhase
	if o.flood > 0 {
		flood = measureFlood(ctx, lacop, cookie, o, progress)
	}
	var signOuts []signOutPhase
	if o.signOuts > 0 {
		signOuts = measureSignOuts(ctx, lacops, o.signOuts, o.frozenSignOuts, progress)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	md := markdown(reports, o, load0, loadAvg()) + floodMarkdown(flood, o) + signOutMarkdown(signOuts)
	fmt.Fprint(stdout, md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	for _, ph := range signOuts {
		if ph.firstErr != nil || ph.lateYes > 0 {
			return fmt.Errorf("sign-outs %q: %d said yes right after the end, first error %v", ph.name, ph.lateYes, ph.firstErr)
		}
	}
	for _, p := range append(lacops, empty) {
		if p.exited() {
			return fmt.Errorf("%s exited during the run:\n%s", p.name, p.stderrTail())
		}
	}
	for _, p := range flood {
		if p.errs > 0 || p.fwdStatuses[http.StatusOK] != len(p.fwd) {
			return fmt.Errorf("flood phase %q saw transport errors or forward-auth refusals; the figures are not valid", p.name)
		}
	}
	if n := invalid(reports); n > 0 {
		return fmt.Errorf("%d scenario(s) failed or saw unexpected statuses; the figures are not valid", n)
	}
	return nil
}

// clockTicks is the unit of utime and stime in /proc/PID/stat. USER_HZ is
// 100 on every Linux architecture Go supports (getconf CLK_TCK); reading it
// properly needs sysconf, which the standard library does not offer.
const clockTicks = 100

// env describes the machine and the run for the report.
func env(o options, load0, load1 string) string {
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS %d in every process, 1-minute load average %s at the start and %s at the end; %d connections, %v warm-up, then %v or %d requests per scenario, whichever comes first, in %d turns taken with the other scenarios (the flood in one piece, last); server CPU is utime+stime from /proc/PID/stat at %d ticks/s",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), load0, load1, o.conns, o.warmup, o.duration, o.requests, o.rounds, clockTicks)
}

// cpu is CPU time in clock ticks: user mode (the Go code, the runtime and
// the garbage collector) and system mode (the kernel: syscalls, TCP,
// waking threads).
type cpu struct{ user, sys int64 }

func (c cpu) sub(d cpu) cpu { return cpu{c.user - d.user, c.sys - d.sys} }
func (c cpu) add(d cpu) cpu { return cpu{c.user + d.user, c.sys + d.sys} }
func (c cpu) total() int64  { return c.user + c.sys }

var errNoProc = errors.New("fwdload reads server CPU and memory from /proc; it runs on Linux only")

// storageArgs are the lacop flags that select the store measured.
func (o options) storageArgs() []string {
	var args []string
	if o.postgresURL != "" {
		args = append(args, "--storage-driver", "postgres", "--postgres-url", o.postgresURL)
	}
	if o.redisURL != "" {
		args = append(args, "--redis-url", o.redisURL)
	}
	return args
}
