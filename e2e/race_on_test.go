//go:build race

package e2e

// raceEnabled builds the server under test with the race detector too, so
// the concurrent e2e tests also look for data races in lacop itself.
const raceEnabled = true
