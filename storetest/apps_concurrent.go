package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testClaimConcurrent: of many concurrent claims of one code, exactly one
// wins and the request names its grant; the rest are conflicts.
func testClaimConcurrent(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	const rounds, claimers = 5, 16
	for round := range rounds {
		id := fmt.Sprint("r", round)
		must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, authRequest(id)))
		errs := make([]error, claimers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range claimers {
			wg.Go(func() {
				<-start
				errs[i] = s.ClaimAuthRequest(ctx, id, fmt.Sprint("g", i))
			})
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch lacop.ErrorCode(err) {
			case "":
				if winner != "" {
					t.Errorf("round %d: claims by %s and g%d both won", round, winner, i)
				}
				winner = fmt.Sprint("g", i)
			case lacop.ECONFLICT:
			default:
				t.Errorf("round %d: claim %d: %v; want nil or ECONFLICT", round, i, err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: no claim won", round)
		}
		if got, err := s.AuthRequestByID(ctx, id, base); err != nil || got.GrantID != winner {
			t.Errorf("round %d: GrantID = %v, %v; want the winner %s", round, got, err, winner)
		}
	}
}

// testSpendAppTokenConcurrent: of many concurrent spends of one refresh
// token, exactly one wins and only its next token is stored.
func testSpendAppTokenConcurrent(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 1))
	const rounds, spenders = 5, 16
	for round := range rounds {
		hash := hash32(fmt.Sprint("round-", round))
		createAppTokens(t, s, &lacop.AppToken{Hash: hash, GrantID: "g1", Kind: lacop.AppTokenRefresh, CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
		errs := make([]error, spenders)
		var wg sync.WaitGroup
		start := make(chan struct{})
		next := func(i int) []byte { return hash32(fmt.Sprint("round-", round, "-next-", i)) }
		for i := range spenders {
			wg.Go(func() {
				<-start
				errs[i] = s.SpendAppToken(ctx, hash, base.Add(time.Minute), &lacop.AppToken{Hash: next(i), GrantID: "g1",
					Kind: lacop.AppTokenRefresh, CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			_, lookup := s.AppTokenByHash(ctx, next(i))
			switch lacop.ErrorCode(err) {
			case "":
				wins++
				wantCode(t, fmt.Sprintf("round %d: next token of the winning spend %d", round, i), lookup, "")
			case lacop.ECONFLICT:
				wantCode(t, fmt.Sprintf("round %d: next token of the losing spend %d", round, i), lookup, lacop.ENOTFOUND)
			default:
				t.Errorf("round %d: spend %d: %v; want nil or ECONFLICT", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d concurrent spends won; want exactly 1", round, wins)
		}
	}
}

// testEndGrantsWhileTokensCreated: tokens are created for a grant while it
// is ended. Once the end has returned, no token of the grant may exist:
// not one created before it (ended with the grant), not one created during
// it (refused, or ended with it), not one created after (refused). To see
// a token left behind without a grant, which AppTokenByHash would hide, a
// grant of the same id is created again afterwards: a leftover token would
// then be found.
func testEndGrantsWhileTokensCreated(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	const rounds, creators = 10, 8
	perCreator := map[bool]int{false: 60, true: 20}[raceEnabled]
	for round := range rounds {
		id := fmt.Sprint("g", round)
		createGrants(t, s, grant(id, "s1", "ann", "grafana", round))
		var (
			ended   atomic.Bool
			created sync.Map // hashes (as strings) of the tokens created
			start   = make(chan struct{})
			halfway sync.WaitGroup
			done    sync.WaitGroup
		)
		halfway.Add(creators)
		for c := range creators {
			done.Go(func() {
				<-start
				for i := range perCreator {
					if i == perCreator/2 {
						halfway.Done()
					}
					hash := hash32(fmt.Sprintf("r%d-c%d-%d", round, c, i))
					wasEnded := ended.Load()
					err := s.CreateAppToken(ctx, &lacop.AppToken{Hash: hash, GrantID: id, Kind: lacop.AppTokenAccess,
						CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
					switch code := lacop.ErrorCode(err); {
					case code == "" && wasEnded:
						t.Errorf("round %d: CreateAppToken succeeded after EndAppGrants had returned", round)
					case code == "":
						created.Store(string(hash), true)
					case code != lacop.ENOTFOUND:
						t.Errorf("round %d: CreateAppToken: %v; want nil or ENOTFOUND", round, err)
					}
				}
			})
		}
		close(start)
		halfway.Wait()
		list, err := s.EndAppGrants(ctx, lacop.GrantSelection{SessionIDs: []string{"s1"}}, nil)
		if got := grantIDs(list); err != nil || len(got) != 1 || got[0] != id {
			t.Errorf("round %d: EndAppGrants mid-traffic = %q, %v; want [%s]", round, got, err, id)
		}
		ended.Store(true)
		done.Wait()

		createGrants(t, s, grant(id, "s-again", "ann", "grafana", round)) // the same id, to expose leftovers
		n, left := 0, 0
		created.Range(func(hash, _ any) bool {
			n++
			if _, err := s.AppTokenByHash(ctx, []byte(hash.(string))); err == nil {
				left++
			}
			return true
		})
		if left > 0 {
			t.Errorf("round %d: %d of the %d tokens created before the end survived it", round, left, n)
		}
		if _, err := s.EndAppGrants(ctx, lacop.GrantSelection{GrantIDs: []string{id}}, nil); err != nil {
			t.Fatalf("round %d: EndAppGrants(%s) again: %v", round, id, err)
		}
		if t.Failed() {
			return
		}
	}
}
