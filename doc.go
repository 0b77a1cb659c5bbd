// Package lacop holds the domain of the lacop sign-in portal: users, sessions,
// audit events, the error type and the storage interfaces. It imports nothing
// from the rest of the project so that every other package can depend on it.
//
// The promise the types serve: when a session ends, it is dead everywhere, at
// once. Sessions are therefore only ever created, conditionally touched and
// deleted, never written back whole; see SessionStore.
package lacop
