package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testPasskeys(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("RoundTrip", func(t *testing.T) { testPasskeyRoundTrip(t, open(t)) })
	t.Run("Counter", func(t *testing.T) { testPasskeyCounter(t, open(t)) })
	t.Run("CounterOneWinner", func(t *testing.T) { testPasskeyCounterOneWinner(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testPasskeySessions(t, open(t)) })
	t.Run("BindRacesDelete", func(t *testing.T) { testPasskeyBindRacesDelete(t, open(t)) })
}

// newPasskey returns a passkey of userID whose credential id derives from id.
func newPasskey(id, userID string, created time.Time) *lacop.Passkey {
	return &lacop.Passkey{ID: id, UserID: userID, CredentialID: []byte("cred-" + id), Name: "Key " + id,
		Record: []byte(`{"publicKey":"` + id + `"}`), SignCount: 5, UserVerified: true, CreatedAt: created}
}

// testPasskeyRoundTrip: what is stored comes back, listed per person oldest
// first; a credential id is registered once across people; the user row
// counts passkeys; rename and delete touch only the owner's passkey.
func testPasskeyRoundTrip(t *testing.T, s Stores) {
	ctx := t.Context()
	createUsers(t, s.Users, "u1", "u2")
	p2 := newPasskey("p2", "u1", base.Add(time.Minute))
	p1 := newPasskey("p1", "u1", base)
	must(t, "AddPasskey p2", s.Passkeys.AddPasskey(ctx, p2))
	must(t, "AddPasskey p1", s.Passkeys.AddPasskey(ctx, p1))
	dup := newPasskey("p3", "u2", base)
	dup.CredentialID = p1.CredentialID
	wantCode(t, "AddPasskey with another's credential id", s.Passkeys.AddPasskey(ctx, dup), lacop.ECONFLICT)
	wantCode(t, "AddPasskey for an unknown user", s.Passkeys.AddPasskey(ctx, newPasskey("p4", "nobody", base)), lacop.ENOTFOUND)

	list, err := s.Passkeys.UserPasskeys(ctx, "u1")
	must(t, "UserPasskeys", err)
	if len(list) != 2 || list[0].ID != "p1" || list[1].ID != "p2" {
		t.Fatalf("UserPasskeys(u1) = %v; want p1, p2", passkeyIDs(list))
	}
	got := list[0]
	if got.UserID != "u1" || !bytes.Equal(got.CredentialID, p1.CredentialID) || got.Name != p1.Name ||
		!bytes.Equal(got.Record, p1.Record) || got.SignCount != 5 || !got.UserVerified ||
		!sameMS(got.CreatedAt, base) || !got.LastUsedAt.IsZero() {
		t.Errorf("UserPasskeys(u1)[0] = %+v; want %+v with no last use", got, p1)
	}
	if other, err := s.Passkeys.UserPasskeys(ctx, "u2"); err != nil || len(other) != 0 {
		t.Errorf("UserPasskeys(u2) = %v, %v; want none", passkeyIDs(other), err)
	}
	byCred, err := s.Passkeys.PasskeyByCredentialID(ctx, p2.CredentialID)
	if err != nil || byCred.ID != "p2" {
		t.Errorf("PasskeyByCredentialID(p2's) = %v, %v; want p2", byCred, err)
	}
	_, err = s.Passkeys.PasskeyByCredentialID(ctx, []byte("unknown"))
	wantCode(t, "PasskeyByCredentialID(unknown)", err, lacop.ENOTFOUND)
	wantPasskeyCount(t, s.Users, "u1", 2)
	wantPasskeyCount(t, s.Users, "u2", 0)

	must(t, "RenamePasskey", s.Passkeys.RenamePasskey(ctx, "u1", "p1", "Phone"))
	wantCode(t, "RenamePasskey of another's", s.Passkeys.RenamePasskey(ctx, "u2", "p1", "Mine"), lacop.ENOTFOUND)
	if p, _ := s.Passkeys.PasskeyByCredentialID(ctx, p1.CredentialID); p == nil || p.Name != "Phone" {
		t.Errorf("after RenamePasskey, name = %v; want Phone", p)
	}

	_, _, err = s.Passkeys.DeletePasskey(ctx, "u2", "p1")
	wantCode(t, "DeletePasskey of another's", err, lacop.ENOTFOUND)
	gone, _, err := s.Passkeys.DeletePasskey(ctx, "u1", "p1")
	if err != nil || gone.ID != "p1" || gone.Name != "Phone" {
		t.Errorf("DeletePasskey(p1) = %v, %v; want p1", gone, err)
	}
	_, _, err = s.Passkeys.DeletePasskey(ctx, "u1", "p1")
	wantCode(t, "DeletePasskey twice", err, lacop.ENOTFOUND)
	wantPasskeyCount(t, s.Users, "u1", 1)

	must(t, "AddPasskey p5", s.Passkeys.AddPasskey(ctx, newPasskey("p5", "u1", base)))
	must(t, "AddPasskey p6", s.Passkeys.AddPasskey(ctx, newPasskey("p6", "u2", base)))
	if n, err := s.Passkeys.DeleteUserPasskeys(ctx, "u1"); err != nil || n != 2 {
		t.Errorf("DeleteUserPasskeys(u1) = %d, %v; want 2", n, err)
	}
	wantPasskeyCount(t, s.Users, "u1", 0)
	wantPasskeyCount(t, s.Users, "u2", 1)
	if n, err := s.Passkeys.DeleteUserPasskeys(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("DeleteUserPasskeys(u1) again = %d, %v; want 0", n, err)
	}
}

// testPasskeyCounter: a use moves the counter forward only; a counter that
// stays or goes back is refused and changes nothing; authenticators
// without a counter (always 0) are accepted every time.
func testPasskeyCounter(t *testing.T, s Stores) {
	ctx := t.Context()
	createUsers(t, s.Users, "u1")
	must(t, "AddPasskey", s.Passkeys.AddPasskey(ctx, newPasskey("p1", "u1", base)))
	zero := newPasskey("p0", "u1", base)
	zero.SignCount = 0
	must(t, "AddPasskey zero", s.Passkeys.AddPasskey(ctx, zero))
	for _, step := range []struct {
		id    string
		count uint32
		want  bool
	}{
		{"p1", 6, true}, {"p1", 6, false}, {"p1", 3, false}, {"p1", 0, false}, {"p1", 100, true},
		{"p0", 0, true}, {"p0", 0, true}, {"p0", 1, true}, {"p0", 0, false},
	} {
		ok, err := s.Passkeys.UsePasskey(ctx, step.id, step.count, base.Add(time.Hour))
		if err != nil || ok != step.want {
			t.Errorf("UsePasskey(%s, %d) = %v, %v; want %v", step.id, step.count, ok, err, step.want)
		}
	}
	p, err := s.Passkeys.PasskeyByCredentialID(ctx, []byte("cred-p1"))
	must(t, "PasskeyByCredentialID", err)
	if p.SignCount != 100 || !sameMS(p.LastUsedAt, base.Add(time.Hour)) {
		t.Errorf("after uses, count %d, last used %v; want 100 at %v", p.SignCount, p.LastUsedAt, base.Add(time.Hour))
	}
	_, err = s.Passkeys.UsePasskey(ctx, "gone", 1, base)
	wantCode(t, "UsePasskey of an unknown passkey", err, lacop.ENOTFOUND)
}

// testPasskeyCounterOneWinner: of many uses reporting the same count at
// once, exactly one passes.
func testPasskeyCounterOneWinner(t *testing.T, s Stores) {
	ctx := t.Context()
	createUsers(t, s.Users, "u1")
	must(t, "AddPasskey", s.Passkeys.AddPasskey(ctx, newPasskey("p1", "u1", base)))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			ok, err := s.Passkeys.UsePasskey(ctx, "p1", 9, base)
			if err != nil {
				t.Errorf("UsePasskey: %v", err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("16 uses with count 9 at once: %d passed; want 1", wins)
	}
}

// testPasskeySessions: bindings are listed per passkey, a binding of a
// removed passkey is refused, and removing one returns its bindings.
func testPasskeySessions(t *testing.T, s Stores) {
	ctx := t.Context()
	createUsers(t, s.Users, "u1")
	must(t, "AddPasskey p1", s.Passkeys.AddPasskey(ctx, newPasskey("p1", "u1", base)))
	must(t, "AddPasskey p2", s.Passkeys.AddPasskey(ctx, newPasskey("p2", "u1", base)))
	must(t, "Bind s1", s.Passkeys.BindPasskeySession(ctx, "p1", "s1", true))
	must(t, "Bind s2", s.Passkeys.BindPasskeySession(ctx, "p1", "s2", false))
	must(t, "Bind s2 again", s.Passkeys.BindPasskeySession(ctx, "p1", "s2", false))
	must(t, "Bind s3 to p2", s.Passkeys.BindPasskeySession(ctx, "p2", "s3", false))
	wantCode(t, "Bind to an unknown passkey", s.Passkeys.BindPasskeySession(ctx, "nope", "s4", true), lacop.ENOTFOUND)
	if got, err := s.Passkeys.PasskeySessions(ctx, "p1"); err != nil || !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("PasskeySessions(p1) = %v, %v; want [s1 s2]", got, err)
	}
	for _, tt := range []struct {
		session, passkey string
		passwordless     bool
	}{{"s1", "p1", true}, {"s2", "p1", false}, {"s3", "p2", false}} {
		p, pwless, err := s.Passkeys.SessionPasskey(ctx, tt.session)
		if err != nil || p.ID != tt.passkey || pwless != tt.passwordless || !bytes.Equal(p.Record, newPasskey(tt.passkey, "u1", base).Record) {
			t.Errorf("SessionPasskey(%s) = %v, %v, %v; want %s, passwordless %v", tt.session, p, pwless, err, tt.passkey, tt.passwordless)
		}
	}
	_, _, err := s.Passkeys.SessionPasskey(ctx, "s9")
	wantCode(t, "SessionPasskey of a session bound to none", err, lacop.ENOTFOUND)
	var ended []string
	_, ended, err = s.Passkeys.DeletePasskey(ctx, "u1", "p1")
	slices.Sort(ended)
	if err != nil || !slices.Equal(ended, []string{"s1", "s2"}) {
		t.Errorf("DeletePasskey(p1) sessions = %v, %v; want [s1 s2]", ended, err)
	}
	wantCode(t, "Bind to a removed passkey", s.Passkeys.BindPasskeySession(ctx, "p1", "s5", true), lacop.ENOTFOUND)
	if got, err := s.Passkeys.PasskeySessions(ctx, "p1"); err != nil || len(got) != 0 {
		t.Errorf("PasskeySessions(removed p1) = %v, %v; want none", got, err)
	}
	_, _, err = s.Passkeys.SessionPasskey(ctx, "s1")
	wantCode(t, "SessionPasskey of a session whose passkey was removed", err, lacop.ENOTFOUND)
	if got, err := s.Passkeys.PasskeySessions(ctx, "p2"); err != nil || !slices.Equal(got, []string{"s3"}) {
		t.Errorf("PasskeySessions(p2) = %v, %v; want [s3]", got, err)
	}
}

// testPasskeyBindRacesDelete: a binding racing the removal is either
// refused or among the sessions the removal returns, never lost between
// the two: that is what lets a sign-in with a passkey being removed
// withdraw its session.
func testPasskeyBindRacesDelete(t *testing.T, s Stores) {
	ctx := t.Context()
	createUsers(t, s.Users, "u1")
	for round := range 20 {
		id := "p" + string(rune('a'+round))
		must(t, "AddPasskey", s.Passkeys.AddPasskey(ctx, newPasskey(id, "u1", base)))
		var wg sync.WaitGroup
		bound := make([]bool, 8)
		for i := range bound {
			wg.Go(func() {
				err := s.Passkeys.BindPasskeySession(ctx, id, "s"+string(rune('0'+i)), i%2 == 0)
				if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
					t.Errorf("BindPasskeySession: %v", err)
				}
				bound[i] = err == nil
			})
		}
		var ended []string
		wg.Go(func() {
			var err error
			_, ended, err = s.Passkeys.DeletePasskey(ctx, "u1", id)
			must(t, "DeletePasskey", err)
		})
		wg.Wait()
		for i, ok := range bound {
			if sid := "s" + string(rune('0'+i)); ok && !slices.Contains(ended, sid) {
				t.Fatalf("round %d: %s was bound but DeletePasskey returned %v", round, sid, ended)
			}
		}
	}
}

func passkeyIDs(list []*lacop.Passkey) []string {
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	return ids
}

// wantPasskeyCount fails the test unless the user row counts n passkeys.
func wantPasskeyCount(t *testing.T, s lacop.UserStore, userID string, n int) {
	t.Helper()
	u, err := s.UserByID(t.Context(), userID)
	must(t, "UserByID "+userID, err)
	if u.Passkeys != n || u.HasSecondFactor() != (n > 0 || u.HasTOTP()) {
		t.Errorf("UserByID(%q).Passkeys = %d; want %d", userID, u.Passkeys, n)
	}
}
