// Package redistest gives tests a Redis to work in: a private key prefix
// in the Redis named by LACOP_TEST_REDIS_URL, or a redis-server of their
// own that they can stop and start.
//
// Redis tests are opt-in: without LACOP_TEST_REDIS_URL they skip, except in
// CI (CI set), where a missing Redis is a failure rather than a silent
// skip. A Redis that is configured but does not answer always fails.
package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// EnvURL names the environment variable holding the test Redis's URL.
const EnvURL = "LACOP_TEST_REDIS_URL"

// unavailable skips the test for want of reason, or fails it in CI.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(reason + "; CI is set, where Redis tests must run")
	}
	t.Skip(reason + "; skipping Redis tests")
}

// URL returns LACOP_TEST_REDIS_URL, skipping the test when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		unavailable(t, EnvURL+" not set")
	}
	return url
}

// New returns the test Redis's URL and a fresh key prefix
// ("lacoptest:<hex>:"); every key under the prefix is deleted when the test
// ends.
func New(t testing.TB) (url, prefix string) {
	t.Helper()
	url = URL(t)
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	rdb := goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		t.Fatalf("%s is set but Redis does not answer: %v", EnvURL, err)
	}
	var b [8]byte
	rand.Read(b[:])
	prefix = "lacoptest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		defer rdb.Close()
		if err := DeletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Errorf("redistest: delete keys under %s: %v", prefix, err)
		}
	})
	return url, prefix
}

// DeletePrefix deletes every key that starts with prefix, on a single
// Redis (SCAN on a Cluster client reaches one node only).
func DeletePrefix(ctx context.Context, rdb goredis.UniversalClient, prefix string) error {
	pattern := strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`).Replace(prefix) + "*"
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, keys...).Err()
		keys = keys[:0]
		return err
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) >= 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

// StartServer runs a redis-server of the test's own on a free port, as
// lacop requires it in production (every write in the append-only file,
// fsynced; no eviction), and returns its URL. stop kills it (SIGKILL);
// start runs it again on the same port and data and returns once it answers (call it from the test's
// goroutine: it fails the test if the server does not come up). The
// server is killed when the test ends. Like New, it skips unless LACOP_TEST_REDIS_URL is set (or fails in
// CI), and skips (fails in CI) when redis-server is not installed.
func StartServer(t testing.TB) (url string, stop, start func()) {
	t.Helper()
	URL(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server not installed")
	}
	s := &server{t: t, bin: bin, port: freePort(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return "redis://127.0.0.1:" + strconv.Itoa(s.port) + "/0", s.stop, s.start
}

type server struct {
	t    testing.TB
	bin  string
	port int
	dir  string // the append-only file's

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

func (s *server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	var out bytes.Buffer // read only once the process has exited
	cmd := exec.Command(s.bin, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", s.dir,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ping(addr) == nil {
			s.cmd, s.exited = cmd, exited
			return
		}
		select {
		case <-exited:
			s.t.Fatalf("redistest: redis-server on %s exited at start:\n%s", addr, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			s.t.Fatalf("redistest: redis-server on %s did not answer within 10s:\n%s", addr, out.String())
		}
	}
}

// stop kills the server and waits until it is gone; stopping a stopped
// server does nothing.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// ping reports whether a Redis answers PING at addr.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", buf)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
