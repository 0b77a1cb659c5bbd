package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Several instances: with -instances N (on PostgreSQL, with or without
// Redis) the tool starts N lacop processes of one deployment, measures
// forward-auth on each (each its own scenario, its own CPU), and with
// -signouts M the time a sign-out takes to be answered while every
// instance caches the session, then with one instance frozen (SIGSTOP).

// startMoreLacops starts instances 2..n beside first: each has its own
// data directory holding first's secret.key, and the same storage.
func startMoreLacops(ctx context.Context, bin, tmp string, storage []string, n int) ([]*proc, error) {
	key, err := os.ReadFile(filepath.Join(tmp, "data", "secret.key"))
	if err != nil {
		return nil, err
	}
	var procs []*proc
	for i := 2; i <= n; i++ {
		data := filepath.Join(tmp, fmt.Sprintf("data-%d", i))
		if err := os.MkdirAll(data, 0o700); err != nil {
			return procs, err
		}
		if err := os.WriteFile(filepath.Join(data, "secret.key"), key, 0o600); err != nil {
			return procs, err
		}
		args := append([]string{"serve", "--listen", "127.0.0.1:0"}, storage...)
		args = append(args, "--config", filepath.Join(tmp, "lacop.yaml"), "--data", data)
		serve := exec.Command(bin, args...)
		serve.Env = append(os.Environ(), fmt.Sprintf("LACOP_STORAGE_REDIS_PREFIX=fwdload-%d:", os.Getpid()))
		p, err := startProc(ctx, fmt.Sprintf("lacop %d", i), serve, filepath.Join(tmp, fmt.Sprintf("lacop-%d.stderr", i)))
		if p != nil {
			procs = append(procs, p)
		}
		if err != nil {
			return procs, err
		}
	}
	return procs, nil
}

// signOutPhase is what one sign-out measurement saw.
type signOutPhase struct {
	name     string
	took     []time.Duration // in order
	lateYes  int             // forward-auth answers 200 on another instance right after an end
	firstErr error
}

// measureSignOuts signs in through the first instance n times, has every
// instance answer forward-auth for the session (so each caches it), signs
// out through the first and times the answer; right after it, every other
// instance must refuse the session. Then it freezes the last instance and
// does the same frozen times.
func measureSignOuts(ctx context.Context, lacops []*proc, n, frozen int, progress io.Writer) []signOutPhase {
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}
	defer tr.CloseIdleConnections()
	run := func(name string, count int, check []*proc) signOutPhase {
		ph := signOutPhase{name: name}
		for range count {
			if ctx.Err() != nil {
				break
			}
			cookie, err := signIn(ctx, lacops[0].addr)
			if err == nil {
				for _, p := range check {
					if st, ferr := fwdStatus(ctx, tr, p.addr, cookie); ferr != nil || st != http.StatusOK {
						err = fmt.Errorf("forward-auth on %s before the sign-out: %d %v", p.name, st, ferr)
						break
					}
				}
			}
			var took time.Duration
			if err == nil {
				start := time.Now()
				err = signOut(ctx, tr, lacops[0].addr, cookie)
				took = time.Since(start)
			}
			if err == nil {
				for _, p := range check {
					if st, ferr := fwdStatus(ctx, tr, p.addr, cookie); ferr != nil || st != http.StatusUnauthorized {
						ph.lateYes++
					}
				}
			}
			if err != nil {
				if ph.firstErr == nil {
					ph.firstErr = err
				}
				continue
			}
			ph.took = append(ph.took, took)
		}
		return ph
	}
	fmt.Fprintf(progress, "fwdload: %d sign-outs with %d instance(s) caching\n", n, len(lacops))
	phases := []signOutPhase{run(fmt.Sprintf("%d instance(s), all running", len(lacops)), n, lacops)}
	if frozen > 0 && len(lacops) > 1 {
		last := lacops[len(lacops)-1]
		fmt.Fprintf(progress, "fwdload: %d sign-outs with %s frozen (SIGSTOP)\n", frozen, last.name)
		if err := last.cmd.Process.Signal(syscall.SIGSTOP); err == nil {
			phases = append(phases, run(fmt.Sprintf("%d instances, %s frozen", len(lacops), last.name), frozen, lacops[:len(lacops)-1]))
			_ = last.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	return phases
}

func fwdStatus(ctx context.Context, tr *http.Transport, addr, cookie string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/authz/forward-auth", nil)
	if err != nil {
		return 0, err
	}
	req.Header = http.Header{
		"X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"app.example.com"},
		"X-Forwarded-Uri": {"/x"}, "Accept": {"application/json"}, "Cookie": {cookie},
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func signOut(ctx context.Context, tr *http.Transport, addr, cookie string) error {
	resp, _, err := postJSON(ctx, tr, addr, "/api/logout", struct{}{}, cookie)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /api/logout answered %d", resp.StatusCode)
	}
	return nil
}

// signOutMarkdown renders the sign-out phases.
func signOutMarkdown(phases []signOutPhase) string {
	if len(phases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n| sign-out answered, while every running instance caches the session | sign-outs | first | p50 | p99 | max | other instances said yes right after |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|\n")
	for _, ph := range phases {
		if len(ph.took) == 0 {
			fmt.Fprintf(&b, "| %s | FAILED: %s | | | | | |\n", ph.name, cell(fmt.Sprint(ph.firstErr)))
			continue
		}
		s := slices.Clone(ph.took)
		slices.Sort(s)
		q := func(p int) time.Duration { return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond) }
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d |\n", ph.name, len(s), ph.took[0].Round(10*time.Microsecond),
			q(50), q(99), s[len(s)-1].Round(10*time.Microsecond), ph.lateYes)
	}
	return b.String()
}
