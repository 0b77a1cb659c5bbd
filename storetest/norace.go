//go:build !race

package storetest

// raceEnabled is true when built with -race; see race.go.
const raceEnabled = false
