package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// testPassword passes the strength check.
const testPassword = "correct-horse-battery-staple"

// run runs one lacop command in-process on the data directory dir (real
// SQLite), as the binary would, and returns what it printed.
func run(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	m, out, err := execute(dir, stdin, args...)
	if cerr := m.Close(); cerr != nil {
		t.Errorf("Close: %v", cerr)
	}
	return out, err
}

// start is run leaving the Main open, so that the test can use its stores
// to prepare what no command makes; it is closed when the test ends.
func start(t *testing.T, dir, stdin string, args ...string) *Main {
	t.Helper()
	m, out, err := execute(dir, stdin, args...)
	t.Cleanup(func() { m.Close() })
	if err != nil {
		t.Fatalf("lacop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

func execute(dir, stdin string, args ...string) (*Main, string, error) {
	var out bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out}
	err := m.Execute(context.Background(), append([]string{"--data", dir}, args...))
	return m, out.String(), err
}
