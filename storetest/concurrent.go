package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// Sizes of the no-resurrection test: enough concurrent requests, rounds
// and iterations for a lost-update bug to show. Under the race detector
// each goroutine runs fewer iterations, keeping every round and every
// goroutine, so that the suite stays quick: the end is what races, and
// each round still ends its session in the middle of the traffic.
const (
	resurrectionRounds     = 20
	resurrectionGoroutines = 16
)

var resurrectionIterations = map[bool]int{false: 200, true: 40}[raceEnabled]

func testSessionsConcurrent(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("NoResurrection", func(t *testing.T) { testNoResurrection(t, open(t)) })
	t.Run("DeleteOneWinner", func(t *testing.T) { testDeleteOneWinner(t, open(t)) })
}

// testNoResurrection is the heart of the session model: requests in flight
// keep touching and reading a session while it is ended; once the end has
// returned, no read may see it and nothing may bring it back. Odd rounds end
// it through DeleteUserSessions, even rounds through DeleteSession.
func testNoResurrection(t *testing.T, st Stores) {
	createUsers(t, st.Users, "ann")
	for round := range resurrectionRounds {
		sess := newSession(fmt.Sprintf("round-%02d", round), "ann")
		createSessions(t, st.Sessions, sess)
		resurrectionRound(t, st.Sessions, sess, round%2 == 1)
		if t.Failed() {
			return
		}
	}
}

func resurrectionRound(t *testing.T, s lacop.SessionStore, sess *lacop.Session, allOfUser bool) {
	ctx := t.Context()
	var (
		ended   atomic.Bool // set once the delete has returned
		start   = make(chan struct{})
		halfway sync.WaitGroup
		done    sync.WaitGroup
	)
	halfway.Add(resurrectionGoroutines)
	for g := range resurrectionGoroutines {
		done.Go(func() {
			reported := false
			report := func(format string, args ...any) {
				if !reported {
					reported = true
					t.Errorf("%s, goroutine %d: "+format, append([]any{sess.ID, g}, args...)...)
				}
			}
			<-start
			for i := range resurrectionIterations {
				if i == resurrectionIterations/2 {
					halfway.Done()
				}
				at := base.Add(time.Duration(i+1)*time.Second + time.Duration(g)*time.Millisecond)
				if err := s.TouchSession(ctx, sess.ID, at); err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND {
					report("TouchSession: %v", err)
				}
				wasEnded := ended.Load()
				got, err := s.SessionByHash(ctx, sess.SecretHash)
				switch {
				case err == nil && wasEnded:
					report("SessionByHash found the session after its end had returned")
				case err == nil && got.ID != sess.ID:
					report("SessionByHash returned session %q; want %q", got.ID, sess.ID)
				case err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND:
					report("SessionByHash: %v", err)
				}
			}
		})
	}
	close(start)
	halfway.Wait()
	if allOfUser {
		list, err := s.DeleteUserSessions(ctx, sess.UserID, "")
		if ids := sessionIDs(list); err != nil || len(ids) != 1 || ids[0] != sess.ID {
			t.Errorf("DeleteUserSessions(%s, \"\") mid-traffic = %q, %v; want [%q], nil", sess.UserID, ids, err, sess.ID)
		}
	} else if ok, err := s.DeleteSession(ctx, sess.ID); err != nil || !ok {
		t.Errorf("DeleteSession(%s) mid-traffic = %v, %v; want true, nil", sess.ID, ok, err)
	}
	ended.Store(true)
	done.Wait()

	wantGone(t, s, sess)
	list, err := s.UserSessions(ctx, sess.UserID)
	wantIDs(t, "UserSessions after "+sess.ID+" ended", list, err)
}

// testDeleteOneWinner checks that concurrent enders of one session agree on
// who ended it, so that it is reported (and audited) once.
func testDeleteOneWinner(t *testing.T, st Stores) {
	ctx := t.Context()
	createUsers(t, st.Users, "ann")
	const rounds, enders = 5, 8
	for round := range rounds {
		sess := newSession(fmt.Sprintf("race-%d", round), "ann")
		createSessions(t, st.Sessions, sess)
		var wins, fails atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range enders {
			wg.Go(func() {
				<-start
				ok, err := st.Sessions.DeleteSession(ctx, sess.ID)
				if err != nil {
					fails.Add(1)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if w, f := wins.Load(), fails.Load(); w != 1 || f != 0 {
			t.Errorf("%d concurrent DeleteSession(%s): %d reported true, %d failed; want 1, 0", enders, sess.ID, w, f)
		}
		wantGone(t, st.Sessions, sess)
	}
}
