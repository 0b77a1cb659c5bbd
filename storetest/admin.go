package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testUserAdmin is the contract of the writes and the list the admin
// side uses: paging and filters, groups and names, the administrator flag
// that cannot leave nobody in charge, and deleting a person.
func testUserAdmin(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("List", func(t *testing.T) { testUserList(t, open(t).Users) })
	t.Run("SetNameGroups", func(t *testing.T) { testUserSetNameGroups(t, open(t).Users) })
	t.Run("LastAdmin", func(t *testing.T) { testUserLastAdmin(t, open(t).Users) })
	t.Run("LastAdminRace", func(t *testing.T) { testUserLastAdminRace(t, open) })
	t.Run("Delete", func(t *testing.T) { testUserDelete(t, open(t)) })
}

func userEmails(users []*lacop.User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Email)
	}
	return out
}

func testUserList(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	for i := range 25 {
		u := newUser(fmt.Sprintf("p%02d", 24-i)) // created in reverse email order
		u.Groups = []string{"all"}
		switch {
		case i%5 == 0:
			u.Admin = true
		case i%7 == 0:
			u.Disabled = true
			u.Groups = append(u.Groups, "ops")
		}
		if i == 3 {
			u.Name = "Zoë Needle"
		}
		must(t, "CreateUser", s.CreateUser(ctx, u))
	}
	check := func(q lacop.UserQuery, wantTotal int, wantFirst ...string) {
		t.Helper()
		got, total, err := s.ListUsers(ctx, q)
		if err != nil || total != wantTotal {
			t.Errorf("ListUsers(%+v): total %d, %v; want %d", q, total, err, wantTotal)
			return
		}
		if emails := userEmails(got); !slices.Equal(emails[:min(len(emails), len(wantFirst))], wantFirst) {
			t.Errorf("ListUsers(%+v) = %q; want it to start %q", q, emails, wantFirst)
		}
		if q.Limit > 0 && len(got) > q.Limit {
			t.Errorf("ListUsers(%+v) gave %d users, over the limit", q, len(got))
		}
	}
	check(lacop.UserQuery{}, 25, "p00@example.com", "p01@example.com")
	check(lacop.UserQuery{Limit: 10, Offset: 10}, 25, "p10@example.com", "p11@example.com")
	check(lacop.UserQuery{Limit: 10, Offset: 20}, 25, "p20@example.com", "p21@example.com", "p22@example.com", "p23@example.com", "p24@example.com")
	check(lacop.UserQuery{Offset: 30}, 25)
	check(lacop.UserQuery{Search: "P1"}, 10, "p10@example.com")
	check(lacop.UserQuery{Search: "needle"}, 1, "p21@example.com")
	check(lacop.UserQuery{Search: "%"}, 0) // no wildcards
	check(lacop.UserQuery{Search: "_"}, 0)
	check(lacop.UserQuery{Admins: true}, 5, "p04@example.com", "p09@example.com")
	check(lacop.UserQuery{Disabled: true}, 3, "p03@example.com", "p10@example.com", "p17@example.com")
	check(lacop.UserQuery{Group: "ops"}, 3, "p03@example.com")
	check(lacop.UserQuery{Group: "op"}, 0) // a whole group name, not a part
	check(lacop.UserQuery{Group: "all", Admins: true, Search: "p2"}, 1, "p24@example.com")
	got, _, err := s.ListUsers(ctx, lacop.UserQuery{Search: "p21"})
	if err != nil || len(got) != 1 || got[0].Name != "Zoë Needle" || !slices.Equal(got[0].Groups, []string{"all"}) {
		t.Errorf("ListUsers(p21) = %+v, %v; want the whole user", got, err)
	}
}

func testUserSetNameGroups(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "u1")
	must(t, "SetName", s.SetName(ctx, "u1", "Ann Other"))
	must(t, "SetGroups", s.SetGroups(ctx, "u1", []string{"ops", "dev"}))
	u, err := s.UserByID(ctx, "u1")
	if err != nil || u.Name != "Ann Other" || !slices.Equal(u.Groups, []string{"ops", "dev"}) {
		t.Fatalf("after SetName/SetGroups: %+v, %v", u, err)
	}
	must(t, "SetGroups (none)", s.SetGroups(ctx, "u1", nil))
	if u, err := s.UserByID(ctx, "u1"); err != nil || len(u.Groups) != 0 {
		t.Errorf("after SetGroups(nil): groups %q, %v; want none", u.Groups, err)
	}
	wantCode(t, "SetGroups (bad name)", s.SetGroups(ctx, "u1", []string{"a b"}), lacop.EINVALID)
	wantCode(t, "SetName (control)", s.SetName(ctx, "u1", "a\x1b[2Jb"), lacop.EINVALID)
	wantCode(t, "SetName (unknown)", s.SetName(ctx, "nobody", "x"), lacop.ENOTFOUND)
	wantCode(t, "SetGroups (unknown)", s.SetGroups(ctx, "nobody", []string{"x"}), lacop.ENOTFOUND)
	if u, err := s.UserByID(ctx, "u1"); err != nil || u.Name != "Ann Other" || len(u.Groups) != 0 {
		t.Errorf("a refused change changed the user: %+v, %v", u, err)
	}
}

func testUserLastAdmin(t *testing.T, s lacop.UserStore) {
	ctx := t.Context()
	createUsers(t, s, "a1", "a2", "u1")
	must(t, "SetAdmin a1", s.SetAdmin(ctx, "a1", true))
	wantCode(t, "SetAdmin a1 false (last)", s.SetAdmin(ctx, "a1", false), lacop.ECONFLICT)
	wantCode(t, "DeleteUser a1 (last)", s.DeleteUser(ctx, "a1"), lacop.ECONFLICT)
	wantCode(t, "SetDisabled a1 (last)", s.SetDisabled(ctx, "a1", true), lacop.ECONFLICT)
	if u, err := s.UserByID(ctx, "a1"); err != nil || u.Disabled || !u.Admin {
		t.Errorf("a1 after refused changes: %+v, %v; want an enabled admin", u, err)
	}
	must(t, "SetAdmin u1 false (not one)", s.SetAdmin(ctx, "u1", false))
	wantCode(t, "SetAdmin unknown", s.SetAdmin(ctx, "nobody", false), lacop.ENOTFOUND)
	wantCode(t, "SetAdmin unknown", s.SetAdmin(ctx, "nobody", true), lacop.ENOTFOUND)
	wantCode(t, "DeleteUser unknown", s.DeleteUser(ctx, "nobody"), lacop.ENOTFOUND)

	// A disabled admin does not count as one in charge.
	must(t, "SetAdmin a2", s.SetAdmin(ctx, "a2", true))
	must(t, "SetDisabled a2", s.SetDisabled(ctx, "a2", true))
	wantCode(t, "SetAdmin a1 false (a2 disabled)", s.SetAdmin(ctx, "a1", false), lacop.ECONFLICT)
	must(t, "SetAdmin a2 false (disabled)", s.SetAdmin(ctx, "a2", false))
	must(t, "SetAdmin a2", s.SetAdmin(ctx, "a2", true))
	must(t, "SetDisabled a2 false", s.SetDisabled(ctx, "a2", false))
	must(t, "SetAdmin a1 false (a2 in charge)", s.SetAdmin(ctx, "a1", false))
	if u, err := s.UserByID(ctx, "a1"); err != nil || u.Admin {
		t.Errorf("a1 after SetAdmin false: %+v, %v", u, err)
	}
	wantCode(t, "DeleteUser a2 (last now)", s.DeleteUser(ctx, "a2"), lacop.ECONFLICT)
	if _, err := s.UserByID(ctx, "a2"); err != nil {
		t.Errorf("a2 after a refused delete: %v", err)
	}
}

// testUserLastAdminRace has two admins take it from each other at once
// (demote, delete or disable), on a fresh store each round: exactly one
// may win each round.
func testUserLastAdminRace(t *testing.T, open func(t *testing.T) Stores) {
	for round := range 6 {
		s := open(t).Users
		ctx := t.Context()
		createUsers(t, s, "a", "b")
		must(t, "SetAdmin", s.SetAdmin(ctx, "a", true))
		must(t, "SetAdmin", s.SetAdmin(ctx, "b", true))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"a", "b"} {
			wg.Go(func() {
				switch round % 3 {
				case 0:
					errs[i] = s.SetAdmin(ctx, id, false)
				case 1:
					errs[i] = s.DeleteUser(ctx, id)
				default:
					errs[i] = s.SetDisabled(ctx, id, true)
				}
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if lacop.ErrorCode(err) != lacop.ECONFLICT {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of two demotions succeeded (%v); want exactly one", round, won, errs)
		}
	}
}

func testUserDelete(t *testing.T, st Stores) {
	ctx := t.Context()
	createUsers(t, st.Users, "u1", "u2")
	must(t, "CreateSession", st.Sessions.CreateSession(ctx, newSession("s1", "u1")))
	must(t, "CreateSession", st.Sessions.CreateSession(ctx, newSession("s2", "u2")))
	must(t, "DeleteUser", st.Users.DeleteUser(ctx, "u1"))
	wantCode(t, "UserByID after delete", func() error { _, err := st.Users.UserByID(ctx, "u1"); return err }(), lacop.ENOTFOUND)
	wantCode(t, "UserByEmail after delete", func() error { _, err := st.Users.UserByEmail(ctx, "u1@example.com"); return err }(), lacop.ENOTFOUND)
	wantCode(t, "DeleteUser again", st.Users.DeleteUser(ctx, "u1"), lacop.ENOTFOUND)
	if _, err := st.Sessions.SessionByID(ctx, "s2"); err != nil {
		t.Errorf("another user's session after a delete: %v", err)
	}
	// The email is free again, for a new person with a new id.
	again := newUser("u3")
	again.Email = "u1@example.com"
	must(t, "CreateUser with the freed email", st.Users.CreateUser(ctx, again))
	if n, err := st.Users.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
}

func testRegulationBanList(t *testing.T, s lacop.RegulationStore) {
	ctx := t.Context()
	must(t, "Ban", s.Ban(ctx, "ip:192.0.2.1", base.Add(10*time.Minute)))
	must(t, "Ban", s.Ban(ctx, "account:ann@example.com", base.Add(15*time.Minute)))
	must(t, "Ban", s.Ban(ctx, "factor:u1", base.Add(-time.Minute))) // over
	bans, err := s.Bans(ctx, base)
	if err != nil || len(bans) != 2 || bans[0].Key != "account:ann@example.com" || bans[1].Key != "ip:192.0.2.1" ||
		!sameMS(bans[0].Until, base.Add(15*time.Minute)) {
		t.Fatalf("Bans = %+v, %v; want the two in force, latest-ending first", bans, err)
	}
	// Lifting one ends it now; a second lift, or one of a ban over, finds none.
	lifted, err := s.LiftBan(ctx, "ip:192.0.2.1", base)
	if err != nil || !lifted {
		t.Fatalf("LiftBan = %v, %v; want true", lifted, err)
	}
	wantBan(t, s, "ip:192.0.2.1", base, time.Time{})
	if end, err := s.BanEnd(ctx, "ip:192.0.2.1"); err != nil || !sameMS(end, base) {
		t.Errorf("BanEnd after a lift = %v, %v; want the lift's time (failures before it stop counting)", end, err)
	}
	for _, key := range []string{"ip:192.0.2.1", "factor:u1", "ip:198.51.100.9"} {
		if lifted, err := s.LiftBan(ctx, key, base); err != nil || lifted {
			t.Errorf("LiftBan(%s) = %v, %v; want false", key, lifted, err)
		}
	}
	if end, err := s.BanEnd(ctx, "factor:u1"); err != nil || !sameMS(end, base.Add(-time.Minute)) {
		t.Errorf("a lift moved a ban already over: %v, %v", end, err)
	}
	wantBan(t, s, "account:ann@example.com", base, base.Add(15*time.Minute))
	if bans, err := s.Bans(ctx, base); err != nil || len(bans) != 1 {
		t.Errorf("Bans after a lift = %+v, %v; want one", bans, err)
	}
}
