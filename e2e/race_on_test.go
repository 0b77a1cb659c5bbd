//go:build race

package e2e

// raceEnabled: these tests run under the race detector; with
// LACOP_E2E_RACE=1 the server under test is built with it too (serverRace).
const raceEnabled = true
