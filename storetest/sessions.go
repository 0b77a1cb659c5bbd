package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testSessions(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CreateAndRead", func(t *testing.T) { testSessionCreateAndRead(t, open(t)) })
	t.Run("Duplicate", func(t *testing.T) { testSessionDuplicate(t, open(t)) })
	t.Run("NotFound", func(t *testing.T) { testSessionNotFound(t, open(t)) })
	t.Run("ListOrder", func(t *testing.T) { testSessionListOrder(t, open(t)) })
	t.Run("Touch", func(t *testing.T) { testSessionTouch(t, open(t)) })
	t.Run("TouchNeverCreates", func(t *testing.T) { testSessionTouchNeverCreates(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testSessionDelete(t, open(t)) })
	t.Run("DeleteUserSessions", func(t *testing.T) { testSessionDeleteUser(t, open(t)) })
	t.Run("DeleteExpired", func(t *testing.T) { testSessionDeleteExpired(t, open(t)) })
}

// createSessions stores each session and fails the test on error.
func createSessions(t *testing.T, s lacop.SessionStore, list ...*lacop.Session) {
	t.Helper()
	for _, sess := range list {
		must(t, "CreateSession "+sess.ID, s.CreateSession(t.Context(), sess))
	}
}

// wantGone fails the test unless the session is unknown by id and by hash.
func wantGone(t *testing.T, s lacop.SessionStore, sess *lacop.Session) {
	t.Helper()
	_, err := s.SessionByID(t.Context(), sess.ID)
	wantCode(t, "SessionByID("+sess.ID+")", err, lacop.ENOTFOUND)
	_, err = s.SessionByHash(t.Context(), sess.SecretHash)
	wantCode(t, "SessionByHash(hash of "+sess.ID+")", err, lacop.ENOTFOUND)
}

// wantIDs fails the test unless list holds exactly the sessions ids, in
// that order.
func wantIDs(t *testing.T, what string, list []*lacop.Session, err error, ids ...string) {
	t.Helper()
	if got := sessionIDs(list); err != nil || !slices.Equal(got, ids) {
		t.Errorf("%s = %q, %v; want %q, nil", what, got, err, ids)
	}
}

// wantSortedIDs is wantIDs for results whose order is unspecified.
func wantSortedIDs(t *testing.T, what string, list []*lacop.Session, err error, ids ...string) {
	t.Helper()
	got := sessionIDs(list)
	slices.Sort(got)
	slices.Sort(ids)
	if err != nil || !slices.Equal(got, ids) {
		t.Errorf("%s = %q (sorted), %v; want %q, nil", what, got, err, ids)
	}
}

func testSessionCreateAndRead(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	// Sub-millisecond parts check that a store which keeps milliseconds
	// drops them consistently.
	want := &lacop.Session{
		ID:           "sess-1",
		SecretHash:   hashOf("secret-1"),
		UserID:       "ann",
		AuthLevel:    lacop.AuthLevelTwoFactor,
		RememberMe:   true,
		CreatedAt:    base.Add(123456789 * time.Nanosecond),
		LastActiveAt: base.Add(time.Minute + 987654321*time.Nanosecond),
		ExpiresAt:    base.Add(30 * 24 * time.Hour),
		IP:           "2001:db8::1",
		UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) storetest",
	}
	createSessions(t, s, want)

	byHash, err := s.SessionByHash(ctx, hashOf("secret-1"))
	must(t, "SessionByHash", err)
	if d := diffSession(byHash, want); d != "" {
		t.Errorf("SessionByHash: %s", d)
	}
	byID, err := s.SessionByID(ctx, "sess-1")
	must(t, "SessionByID", err)
	if d := diffSession(byID, want); d != "" {
		t.Errorf("SessionByID: %s", d)
	}

	plain := newSession("sess-2", "ann")
	createSessions(t, s, plain)
	got, err := s.SessionByID(ctx, "sess-2")
	must(t, "SessionByID", err)
	if d := diffSession(got, plain); d != "" {
		t.Errorf("SessionByID(one-factor, not remember-me): %s", d)
	}
}

func testSessionDuplicate(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	orig := newSession("s1", "ann")
	createSessions(t, s, orig)

	sameID := newSession("s1", "ann")
	sameID.SecretHash = hashOf("another secret")
	wantCode(t, "CreateSession(duplicate id)", s.CreateSession(ctx, sameID), lacop.ECONFLICT)

	sameHash := newSession("s2", "ann")
	sameHash.SecretHash = orig.SecretHash
	wantCode(t, "CreateSession(duplicate hash)", s.CreateSession(ctx, sameHash), lacop.ECONFLICT)

	_, err := s.SessionByHash(ctx, hashOf("another secret"))
	wantCode(t, "SessionByHash(refused duplicate)", err, lacop.ENOTFOUND)
	_, err = s.SessionByID(ctx, "s2")
	wantCode(t, "SessionByID(refused duplicate)", err, lacop.ENOTFOUND)
	got, err := s.SessionByID(ctx, "s1")
	must(t, "SessionByID", err)
	if d := diffSession(got, orig); d != "" {
		t.Errorf("original after refused duplicates: %s", d)
	}
}

func testSessionNotFound(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	createSessions(t, s, newSession("s1", "ann"))
	_, err := s.SessionByHash(ctx, hashOf("unknown"))
	wantCode(t, "SessionByHash(unknown)", err, lacop.ENOTFOUND)
	_, err = s.SessionByHash(ctx, nil)
	wantCode(t, "SessionByHash(nil)", err, lacop.ENOTFOUND)
	_, err = s.SessionByID(ctx, "unknown")
	wantCode(t, "SessionByID(unknown)", err, lacop.ENOTFOUND)
	_, err = s.SessionByID(ctx, "")
	wantCode(t, "SessionByID(\"\")", err, lacop.ENOTFOUND)
}

func testSessionListOrder(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann", "bob", "cat")
	at := func(id, user string, minutes int) *lacop.Session {
		sess := newSession(id, user)
		sess.LastActiveAt = base.Add(time.Duration(minutes) * time.Minute)
		return sess
	}
	// Created in an order that is neither activity nor id order.
	createSessions(t, s, at("a2", "ann", 3), at("b1", "bob", 5), at("a1", "ann", 1), at("a3", "ann", 2))

	list, err := s.UserSessions(ctx, "ann")
	wantIDs(t, "UserSessions(ann)", list, err, "a2", "a3", "a1")
	list, err = s.UserSessions(ctx, "bob")
	wantIDs(t, "UserSessions(bob)", list, err, "b1")
	list, err = s.UserSessions(ctx, "cat")
	wantIDs(t, "UserSessions(user without sessions)", list, err)
	list, err = s.UserSessions(ctx, "nobody")
	wantIDs(t, "UserSessions(unknown user)", list, err)
	list, err = s.AllSessions(ctx)
	wantIDs(t, "AllSessions()", list, err, "b1", "a2", "a3", "a1")

	// Activity reorders the lists.
	must(t, "TouchSession", s.TouchSession(ctx, "a1", base.Add(10*time.Minute)))
	list, err = s.UserSessions(ctx, "ann")
	wantIDs(t, "UserSessions(ann) after touching a1", list, err, "a1", "a2", "a3")
	list, err = s.AllSessions(ctx)
	wantIDs(t, "AllSessions() after touching a1", list, err, "a1", "b1", "a2", "a3")
}

func testSessionTouch(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	orig := newSession("s1", "ann")
	other := newSession("s2", "ann")
	createSessions(t, s, orig, other)

	tests := []struct {
		name string
		at   time.Time
		want time.Time // LastActiveAt afterwards
	}{
		{"forward", base.Add(5 * time.Minute), base.Add(5 * time.Minute)},
		{"same time", base.Add(5 * time.Minute), base.Add(5 * time.Minute)},
		{"back in time", base.Add(2 * time.Minute), base.Add(5 * time.Minute)},
		{"before creation", base.Add(-time.Hour), base.Add(5 * time.Minute)},
		{"forward again", base.Add(7*time.Minute + 250*time.Millisecond), base.Add(7*time.Minute + 250*time.Millisecond)},
	}
	for _, tt := range tests {
		must(t, "TouchSession "+tt.name, s.TouchSession(ctx, "s1", tt.at))
		got, err := s.SessionByID(ctx, "s1")
		must(t, "SessionByID", err)
		want := *orig
		want.LastActiveAt = tt.want
		if d := diffSession(got, &want); d != "" {
			t.Errorf("after touch %s (%v): %s", tt.name, tt.at, d)
		}
	}
	got, err := s.SessionByID(ctx, "s2")
	must(t, "SessionByID", err)
	if d := diffSession(got, other); d != "" {
		t.Errorf("untouched session: %s", d)
	}
}

// testSessionTouchNeverCreates checks the guarantee the session model rests
// on: an activity update that arrives after the end cannot undo it.
func testSessionTouchNeverCreates(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	sess := newSession("s1", "ann")
	createSessions(t, s, sess)
	if ok, err := s.DeleteSession(ctx, "s1"); err != nil || !ok {
		t.Fatalf("DeleteSession(s1) = %v, %v; want true, nil", ok, err)
	}
	touch := func(id string) {
		err := s.TouchSession(ctx, id, base.Add(time.Hour))
		if code := lacop.ErrorCode(err); code != "" && code != lacop.ENOTFOUND {
			t.Errorf("TouchSession(%q) of a missing session: %v; want nil or ENOTFOUND", id, err)
		}
	}
	touch("s1")
	touch("never-existed")
	wantGone(t, s, sess)
	_, err := s.SessionByID(ctx, "never-existed")
	wantCode(t, "SessionByID(never-existed) after touch", err, lacop.ENOTFOUND)
	list, err := s.AllSessions(ctx)
	wantIDs(t, "AllSessions() after touching missing sessions", list, err)
}

func testSessionDelete(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann")
	s1, s2 := newSession("s1", "ann"), newSession("s2", "ann")
	createSessions(t, s, s1, s2)

	for i, want := range []bool{true, false} {
		if got, err := s.DeleteSession(ctx, "s1"); err != nil || got != want {
			t.Errorf("DeleteSession(s1) call %d = %v, %v; want %v, nil", i+1, got, err, want)
		}
	}
	if got, err := s.DeleteSession(ctx, "never-existed"); err != nil || got {
		t.Errorf("DeleteSession(never-existed) = %v, %v; want false, nil", got, err)
	}
	wantGone(t, s, s1)
	list, err := s.UserSessions(ctx, "ann")
	wantIDs(t, "UserSessions(ann)", list, err, "s2")
}

func testSessionDeleteUser(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann", "bob")
	a1, a2, a3, b1 := newSession("a1", "ann"), newSession("a2", "ann"), newSession("a3", "ann"), newSession("b1", "bob")
	a3.RememberMe, a3.AuthLevel = true, lacop.AuthLevelTwoFactor
	createSessions(t, s, a1, a2, a3, b1)

	ended, err := s.DeleteUserSessions(ctx, "ann", "a2")
	wantSortedIDs(t, "DeleteUserSessions(ann, keep a2)", ended, err, "a1", "a3")
	for _, got := range ended {
		if got.ID == "a3" {
			if d := diffSession(got, a3); d != "" {
				t.Errorf("ended session a3: %s", d)
			}
		}
	}
	wantGone(t, s, a1)
	wantGone(t, s, a3)
	list, err := s.UserSessions(ctx, "ann")
	wantIDs(t, "UserSessions(ann) after keeping a2", list, err, "a2")

	ended, err = s.DeleteUserSessions(ctx, "ann", "b1")
	wantSortedIDs(t, "DeleteUserSessions(ann, keep another user's session)", ended, err, "a2")
	createSessions(t, s, newSession("a4", "ann"), newSession("a5", "ann"))
	ended, err = s.DeleteUserSessions(ctx, "ann", "")
	wantSortedIDs(t, "DeleteUserSessions(ann, keep none)", ended, err, "a4", "a5")
	ended, err = s.DeleteUserSessions(ctx, "ann", "")
	wantSortedIDs(t, "DeleteUserSessions(ann) again", ended, err)
	list, err = s.UserSessions(ctx, "ann")
	wantIDs(t, "UserSessions(ann) after ending all", list, err)

	list, err = s.AllSessions(ctx)
	wantIDs(t, "AllSessions() (bob's left alone)", list, err, "b1")
	got, err := s.SessionByHash(ctx, b1.SecretHash)
	must(t, "SessionByHash(b1)", err)
	if d := diffSession(got, b1); d != "" {
		t.Errorf("other user's session: %s", d)
	}
}

func testSessionDeleteExpired(t *testing.T, st Stores) {
	ctx, s := t.Context(), st.Sessions
	createUsers(t, st.Users, "ann", "bob")
	now := base.Add(48 * time.Hour)
	idleCutoff := now.Add(-30 * time.Minute)
	mk := func(id, user string, remember bool, lastActive, expires time.Time) *lacop.Session {
		sess := newSession(id, user)
		sess.RememberMe, sess.LastActiveAt, sess.ExpiresAt = remember, lastActive, expires
		return sess
	}
	// Times stay clear of the boundaries, whose inclusiveness the
	// contract leaves open.
	sessions := []struct {
		sess *lacop.Session
		gone bool
	}{
		{mk("past-expiry", "ann", false, now.Add(-time.Minute), now.Add(-time.Second)), true},
		{mk("past-expiry-remember", "bob", true, now.Add(-time.Minute), now.Add(-time.Hour)), true},
		{mk("idle", "ann", false, idleCutoff.Add(-time.Second), now.Add(time.Hour)), true},
		{mk("idle-and-past-expiry", "bob", false, idleCutoff.Add(-time.Hour), now.Add(-time.Hour)), true},
		{mk("idle-remember", "ann", true, idleCutoff.Add(-time.Hour), now.Add(time.Hour)), false},
		{mk("active", "ann", false, idleCutoff.Add(time.Second), now.Add(time.Hour)), false},
		{mk("active-remember", "bob", true, now.Add(-time.Second), now.Add(7*24*time.Hour)), false},
	}
	var wantEnded, wantKept []string
	for _, tt := range sessions {
		createSessions(t, s, tt.sess)
		if tt.gone {
			wantEnded = append(wantEnded, tt.sess.ID)
		} else {
			wantKept = append(wantKept, tt.sess.ID)
		}
	}

	ended, err := s.DeleteExpiredSessions(ctx, now, idleCutoff)
	wantSortedIDs(t, "DeleteExpiredSessions", ended, err, wantEnded...)
	for _, got := range ended {
		for _, tt := range sessions {
			if tt.sess.ID == got.ID {
				if d := diffSession(got, tt.sess); d != "" {
					t.Errorf("ended session %s: %s", got.ID, d)
				}
			}
		}
	}
	for _, tt := range sessions {
		_, err := s.SessionByID(ctx, tt.sess.ID)
		if want := map[bool]string{true: lacop.ENOTFOUND, false: ""}[tt.gone]; lacop.ErrorCode(err) != want {
			t.Errorf("SessionByID(%s) after sweep: ErrorCode(%v) = %q; want %q", tt.sess.ID, err, lacop.ErrorCode(err), want)
		}
	}
	list, err := s.AllSessions(ctx)
	wantSortedIDs(t, "AllSessions() after sweep", list, err, wantKept...)

	ended, err = s.DeleteExpiredSessions(ctx, now, idleCutoff)
	wantSortedIDs(t, "DeleteExpiredSessions again", ended, err)
}
