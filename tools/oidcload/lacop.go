package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	email    = "oidcload@example.com"
	password = "correct horse battery staple 7"
)

// appClient is one configured app as the tool plays it.
type appClient struct {
	id, secret, redirect string
}

// lacop is the server under measurement.
type lacop struct {
	bin, cfg, data, base string
	storage              []string
	clients              []appClient
	cmd                  *exec.Cmd
	stderr               string // the file lacop serve's stderr goes to
	done                 chan struct{}
	exitErr              error
}

func newLacop(bin, tmp string, o options, rc *receivers) (*lacop, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	l := &lacop{bin: bin, cfg: filepath.Join(tmp, "lacop.yaml"), data: filepath.Join(tmp, "data"),
		base: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: filepath.Join(tmp, "lacop.stderr"), done: make(chan struct{})}
	if o.postgresURL != "" {
		l.storage = []string{"--storage-driver", "postgres", "--postgres-url", o.postgresURL}
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "public_url: %s\nlisten: 127.0.0.1:%d\n", l.base, port)
	cfg.WriteString("regulation:\n  max_failures: 1000000\n  max_failures_per_ip: 1000000\n  max_unknown_cookies: 1000000000\n")
	cfg.WriteString("log:\n  level: warn\noidc:\n  clients:\n")
	for i := range o.apps {
		c := appClient{id: fmt.Sprintf("app%d", i), secret: fmt.Sprintf("oidcload-secret-%d", i)}
		c.redirect = rc.base + "/cb/" + c.id
		l.clients = append(l.clients, c)
		fmt.Fprintf(&cfg, "    - id: %s\n      secret: \"$plaintext$%s\"\n      redirect_uris: [%s]\n"+
			"      backchannel_logout_uri: %s/bc/%s\n      scopes: [openid, profile, email, offline_access]\n",
			c.id, c.secret, c.redirect, rc.base, c.id)
	}
	return l, os.WriteFile(l.cfg, []byte(cfg.String()), 0o600)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (l *lacop) cli(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	args = append(append(args, "--config", l.cfg, "--data", l.data), l.storage...)
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("lacop %s: %w: %s", strings.Join(args[:min(3, len(args))], " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// start runs lacop serve and waits until it answers /healthz.
func (l *lacop) start(ctx context.Context) error {
	l.cmd = exec.Command(l.bin, append([]string{"serve", "--config", l.cfg, "--data", l.data}, l.storage...)...)
	errf, err := os.Create(l.stderr)
	if err != nil {
		return err
	}
	defer errf.Close() // the child has its own copy
	l.cmd.Stdout = io.Discard
	l.cmd.Stderr = errf
	dieWithParent(l.cmd)
	if err := l.cmd.Start(); err != nil {
		return err
	}
	go func() { l.exitErr = l.cmd.Wait(); close(l.done) }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-l.done:
			return fmt.Errorf("lacop exited (%v): %s", l.exitErr, l.tail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if conn, err := net.Dial("tcp", strings.TrimPrefix(l.base, "http://")); err == nil {
			conn.Close()
			return nil
		}
	}
	return errors.New("lacop did not listen within 60 s: " + l.tail())
}

func (l *lacop) stop() error {
	if l.cmd == nil || l.cmd.Process == nil {
		return nil
	}
	select {
	case <-l.done:
		return nil
	default:
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.done:
		if l.exitErr != nil {
			return fmt.Errorf("lacop exited with %v: %s", l.exitErr, l.tail())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.done
		return errors.New("lacop did not stop within 30 s of SIGTERM")
	}
}

func (l *lacop) tail() string {
	b, _ := os.ReadFile(l.stderr)
	s := string(b)
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}
