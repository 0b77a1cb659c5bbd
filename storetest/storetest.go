// Package storetest is the contract every lacop storage backend must meet:
// one exported suite, run by each backend's own tests against a real
// database, so that SQLite, PostgreSQL and Redis behave alike where the
// application can tell.
package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// Stores is one backend's implementation of every store interface, fresh
// and empty.
type Stores struct {
	Users    lacop.UserStore
	Sessions lacop.SessionStore
	Audit    lacop.AuditStore
	Setup    lacop.SetupStore

	SecondFactor lacop.SecondFactorStore
	Regulation   lacop.RegulationStore
	Tokens       lacop.TokenStore
	Keys         lacop.KeyStore
	Apps         lacop.AppStore
	// Outbox is nil for backends that keep no outbox (Redis: deliveries
	// live in the SQL store beside it).
	Outbox lacop.OutboxStore
	// Links and Devices are nil for backends that keep none (Redis: they
	// live in the SQL store beside it).
	Links   lacop.LinkStore
	Devices lacop.DeviceStore
	// Passkeys is nil for backends that keep none (Redis).
	Passkeys lacop.PasskeyStore
	// CacheLeases is nil for backends one machine holds (SQLite: its
	// processes share a mapped epoch instead).
	CacheLeases lacop.CacheLeaseStore
}

// Run runs every contract test against stores made by open. open is called
// once per subtest, so each subtest gets a fresh, empty backend; it should
// register its own cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("SessionsConcurrent", func(t *testing.T) { testSessionsConcurrent(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Setup", func(t *testing.T) { testSetup(t, open) })
	t.Run("SecondFactor", func(t *testing.T) { testSecondFactor(t, open) })
	t.Run("Regulation", func(t *testing.T) { testRegulation(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open(t).Keys) })
	t.Run("Apps", func(t *testing.T) { testApps(t, open) })
	if open(t).Outbox != nil {
		t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	}
	if open(t).Links != nil {
		t.Run("Links", func(t *testing.T) { testLinks(t, open(t).Links) })
	}
	if open(t).Devices != nil {
		t.Run("Devices", func(t *testing.T) { testDevices(t, open(t).Devices) })
	}
	if open(t).Passkeys != nil {
		t.Run("Passkeys", func(t *testing.T) { testPasskeys(t, open) })
	}
	if open(t).CacheLeases != nil {
		t.Run("CacheLeases", func(t *testing.T) { testCacheLeases(t, open) })
	}
}

// base is the fixed instant fixtures are built around. It is far from now
// so that a backend which consults its own clock where it should use the
// caller's time shows up as a failure.
var base = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

// wantCode fails the test unless err carries the error code want ("" for
// no error).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := lacop.ErrorCode(err); got != want {
		t.Errorf("%s: ErrorCode(%v) = %q; want %q", what, err, got, want)
	}
}

// must fails the test at once on an unexpected error in setup code.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameMS reports whether a and b are the same instant at the millisecond
// precision the stores keep.
func sameMS(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// newUser returns a valid user with the given id; the email derives from it.
func newUser(id string) *lacop.User {
	return &lacop.User{
		ID:           id,
		Email:        id + "@example.com",
		Name:         "User " + id,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
	}
}

// createUsers stores a valid user for each id and fails the test on error.
func createUsers(t *testing.T, s lacop.UserStore, ids ...string) {
	t.Helper()
	for _, id := range ids {
		must(t, "CreateUser "+id, s.CreateUser(t.Context(), newUser(id)))
	}
}

// newSession returns a one-factor, non-remember-me session of userID,
// created and last active at base and ending a day later. Its secret hash
// derives from id so that distinct ids have distinct hashes.
func newSession(id, userID string) *lacop.Session {
	return &lacop.Session{
		ID:           id,
		SecretHash:   hashOf(id),
		UserID:       userID,
		AuthLevel:    lacop.AuthLevelOneFactor,
		CreatedAt:    base,
		LastActiveAt: base,
		ExpiresAt:    base.Add(24 * time.Hour),
		IP:           "192.0.2.1",
		UserAgent:    "storetest/1.0",
	}
}

// hashOf returns a 32-byte stand-in for sha256(secret), distinct per s.
func hashOf(s string) []byte {
	h := make([]byte, 32)
	copy(h, "hash:"+s)
	return h
}

// sessionIDs returns the ids of list, in order.
func sessionIDs(list []*lacop.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// diffSession describes how got differs from want, field by field, with
// times compared at millisecond precision; "" when they match.
func diffSession(got, want *lacop.Session) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %v; want %v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if !slices.Equal(got.SecretHash, want.SecretHash) {
		add("SecretHash", got.SecretHash, want.SecretHash)
	}
	if got.UserID != want.UserID {
		add("UserID", got.UserID, want.UserID)
	}
	if got.AuthLevel != want.AuthLevel {
		add("AuthLevel", got.AuthLevel, want.AuthLevel)
	}
	if got.RememberMe != want.RememberMe {
		add("RememberMe", got.RememberMe, want.RememberMe)
	}
	if !sameMS(got.CreatedAt, want.CreatedAt) {
		add("CreatedAt", got.CreatedAt, want.CreatedAt)
	}
	if !sameMS(got.LastActiveAt, want.LastActiveAt) {
		add("LastActiveAt", got.LastActiveAt, want.LastActiveAt)
	}
	if !sameMS(got.ExpiresAt, want.ExpiresAt) {
		add("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	}
	if got.IP != want.IP {
		add("IP", got.IP, want.IP)
	}
	if got.UserAgent != want.UserAgent {
		add("UserAgent", got.UserAgent, want.UserAgent)
	}
	return strings.Join(d, "; ")
}
