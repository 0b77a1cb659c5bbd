//go:build race

package storetest

// raceEnabled is true when built with -race, which slows SQLite's
// transpiled C about tenfold; the concurrency test scales down to match.
const raceEnabled = true
