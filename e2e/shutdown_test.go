package e2e

import (
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown: on SIGTERM lacop stops accepting connections,
// finishes the requests in flight (sign-ins, each with its password hash),
// ends open event streams instead of waiting for them, writes the audit
// events of every request it answered with success, and exits 0 within
// server.shutdown_grace.
func TestGracefulShutdown(t *testing.T) {
	// Concurrent sign-ins count as attempts before they are checked; the
	// limits are raised so that all eight are let through to the hash.
	p := startPortal(t, "server:\n  shutdown_grace: 20s\nregulation:\n  max_failures: 50\n  max_failures_per_ip: 100\n")
	p.addUser("ann@example.com")
	stream, res := p.openEvents(t, p.login("ann@example.com"))
	if stream == nil {
		t.Fatalf("events: %d %s", res.StatusCode, res.Body)
	}
	stream.waitConnected()

	// Sign-ins in flight: argon2id keeps each busy for ~100 ms and only a
	// few hash at once, so most are still running when SIGTERM comes.
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	started := make(chan struct{}, n)
	for i := range n {
		wg.Go(func() {
			started <- struct{}{}
			res, err := p.try(request{method: "POST", path: "/api/login",
				body: map[string]any{"email": "ann@example.com", "password": testPassword}})
			if err == nil {
				statuses[i] = res.StatusCode
			}
		})
	}
	for range n {
		<-started
	}
	time.Sleep(50 * time.Millisecond)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()

	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := p.try(request{method: "GET", path: "/healthz"})
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lacop still accepts requests 2s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}

	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("lacop did not exit within 30s of SIGTERM (grace 20s)")
	}
	took := time.Since(signalled)
	if err != nil || p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("lacop exited with %v (code %d); want 0\n%s", err, p.cmd.ProcessState.ExitCode(), p.out.String())
	}
	if took > 20*time.Second {
		t.Errorf("shutdown took %v; want within the 20s grace", took)
	}
	wg.Wait()
	ok := 0
	for i, st := range statuses {
		if st == http.StatusOK {
			ok++
		} else if st != 0 {
			t.Errorf("sign-in %d in flight at SIGTERM = %d; want 200 (or no answer if never accepted)", i, st)
		}
	}
	if ok == 0 {
		t.Errorf("no sign-in in flight finished: %v", statuses)
	}
	stream.waitEOF(time.Second)

	// Every sign-in answered 200 is in the audit log, read after exit.
	logins := 0
	for _, line := range p.auditEvents("--type", "login.succeeded") {
		if strings.Contains(line, "login.succeeded") {
			logins++
		}
	}
	if want := ok + 1; logins != want {
		t.Errorf("login.succeeded events after shutdown: %d; want %d (the stream's sign-in and %d in flight)", logins, want, ok)
	}
	t.Logf("SIGTERM to exit: %v; %d of %d sign-ins in flight finished", took.Round(time.Millisecond), ok, n)
}
