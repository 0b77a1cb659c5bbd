package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

func testApps(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("AuthRequests", func(t *testing.T) { testAuthRequests(t, open(t).Apps) })
	t.Run("AuthRequestExpiry", func(t *testing.T) { testAuthRequestExpiry(t, open(t).Apps) })
	t.Run("ClaimConcurrent", func(t *testing.T) { testClaimConcurrent(t, open(t).Apps) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, open(t).Apps) })
	t.Run("GrantSessionIDs", func(t *testing.T) { testGrantSessionIDs(t, open(t).Apps) })
	t.Run("EndGrants", func(t *testing.T) { testEndGrants(t, open(t).Apps) })
	t.Run("EndGrantsRefused", func(t *testing.T) { testEndGrantsRefused(t, open(t).Apps) })
	t.Run("EndGrantsAtomic", func(t *testing.T) { testEndGrantsAtomic(t, open(t).Apps) })
	t.Run("AppTokens", func(t *testing.T) { testAppTokens(t, open(t).Apps) })
	t.Run("SpendAppToken", func(t *testing.T) { testSpendAppToken(t, open(t).Apps) })
	t.Run("SpendAppTokenConcurrent", func(t *testing.T) { testSpendAppTokenConcurrent(t, open(t).Apps) })
	t.Run("EndGrantsWhileTokensCreated", func(t *testing.T) { testEndGrantsWhileTokensCreated(t, open(t).Apps) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, open(t).Apps) })
	t.Run("Prune", func(t *testing.T) { testAppsPrune(t, open(t).Apps) })
}

func authRequest(id string) *lacop.AuthRequest {
	return &lacop.AuthRequest{ID: id, ClientID: "grafana", Data: []byte(`{"request":"` + id + `"}`),
		CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
}

// grant returns a grant of user through session for client, created at
// base plus the given minutes so that lists have a known order.
func grant(id, session, user, client string, minute int) *lacop.AppGrant {
	return &lacop.AppGrant{ID: id, SessionID: session, UserID: user, ClientID: client,
		Scopes: []string{"openid", "email"}, AuthTime: base.Add(-time.Hour),
		CreatedAt: base.Add(time.Duration(minute) * time.Minute)}
}

func appToken(name, grantID, kind string) *lacop.AppToken {
	return &lacop.AppToken{Hash: hash32(name), GrantID: grantID, Kind: kind,
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
}

func createGrants(t *testing.T, s lacop.AppStore, grants ...*lacop.AppGrant) {
	t.Helper()
	for _, g := range grants {
		must(t, "CreateAppGrant "+g.ID, s.CreateAppGrant(t.Context(), g))
	}
}

func createAppTokens(t *testing.T, s lacop.AppStore, tokens ...*lacop.AppToken) {
	t.Helper()
	for _, tok := range tokens {
		must(t, "CreateAppToken "+string(bytes.TrimRight(tok.Hash, "\x00")), s.CreateAppToken(t.Context(), tok))
	}
}

func grantIDs(list []*lacop.AppGrant) []string {
	ids := []string{}
	for _, g := range list {
		ids = append(ids, g.ID)
	}
	return ids
}

func testAuthRequests(t *testing.T, s lacop.AppStore) {
	ctx, now := t.Context(), base.Add(time.Minute)
	r := authRequest("r1")
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, r))
	wantCode(t, "CreateAuthRequest (duplicate)", s.CreateAuthRequest(ctx, authRequest("r1")), lacop.ECONFLICT)

	got, err := s.AuthRequestByID(ctx, "r1", now)
	if err != nil || got.ID != "r1" || got.ClientID != "grafana" || !bytes.Equal(got.Data, r.Data) ||
		got.CodeHash != nil || got.GrantID != "" || !sameMS(got.CreatedAt, base) || !sameMS(got.ExpiresAt, r.ExpiresAt) {
		t.Errorf("AuthRequestByID(r1) = %+v, %v; want the request as created, no code, no grant", got, err)
	}
	_, err = s.AuthRequestByID(ctx, "nope", now)
	wantCode(t, "AuthRequestByID (unknown)", err, lacop.ENOTFOUND)

	must(t, "UpdateAuthRequest", s.UpdateAuthRequest(ctx, "r1", []byte("signed in")))
	if got, err := s.AuthRequestByID(ctx, "r1", now); err != nil || string(got.Data) != "signed in" {
		t.Errorf("after UpdateAuthRequest: Data = %q, %v; want %q", got.Data, err, "signed in")
	}
	wantCode(t, "UpdateAuthRequest (unknown)", s.UpdateAuthRequest(ctx, "nope", []byte("x")), lacop.ENOTFOUND)

	code := hash32("code-1")
	_, err = s.AuthRequestByCode(ctx, code, now)
	wantCode(t, "AuthRequestByCode before the code is set", err, lacop.ENOTFOUND)
	must(t, "SetAuthRequestCode", s.SetAuthRequestCode(ctx, "r1", code))
	wantCode(t, "SetAuthRequestCode (again)", s.SetAuthRequestCode(ctx, "r1", hash32("code-2")), lacop.ECONFLICT)
	wantCode(t, "SetAuthRequestCode (unknown)", s.SetAuthRequestCode(ctx, "nope", hash32("code-3")), lacop.ENOTFOUND)
	must(t, "CreateAuthRequest r2", s.CreateAuthRequest(ctx, authRequest("r2")))
	wantCode(t, "SetAuthRequestCode (code of another request)", s.SetAuthRequestCode(ctx, "r2", code), lacop.ECONFLICT)
	if got, err := s.AuthRequestByCode(ctx, code, now); err != nil || got.ID != "r1" || !bytes.Equal(got.CodeHash, code) || got.GrantID != "" {
		t.Errorf("AuthRequestByCode = %+v, %v; want r1 with its code, unclaimed", got, err)
	}
	if got, err := s.AuthRequestByCode(ctx, hash32("code-2"), now); err == nil {
		t.Errorf("AuthRequestByCode(refused second code) = %s; want ENOTFOUND", got.ID)
	}

	must(t, "ClaimAuthRequest", s.ClaimAuthRequest(ctx, "r1", "g1"))
	wantCode(t, "ClaimAuthRequest (again)", s.ClaimAuthRequest(ctx, "r1", "g2"), lacop.ECONFLICT)
	wantCode(t, "ClaimAuthRequest (unknown)", s.ClaimAuthRequest(ctx, "nope", "g3"), lacop.ENOTFOUND)
	if got, err := s.AuthRequestByCode(ctx, code, now); err != nil || got.GrantID != "g1" {
		t.Errorf("AuthRequestByCode after the claim = %+v, %v; want GrantID g1 (a used code is still found)", got, err)
	}

	must(t, "DeleteAuthRequest", s.DeleteAuthRequest(ctx, "r1"))
	must(t, "DeleteAuthRequest (again)", s.DeleteAuthRequest(ctx, "r1"))
	_, err = s.AuthRequestByID(ctx, "r1", now)
	wantCode(t, "AuthRequestByID after delete", err, lacop.ENOTFOUND)
	_, err = s.AuthRequestByCode(ctx, code, now)
	wantCode(t, "AuthRequestByCode after delete", err, lacop.ENOTFOUND)
}

// testAuthRequestExpiry: a request is live strictly before its ExpiresAt,
// by the caller's clock.
func testAuthRequestExpiry(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	r := authRequest("r1")
	must(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, r))
	code := hash32("code")
	must(t, "SetAuthRequestCode", s.SetAuthRequestCode(ctx, "r1", code))
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"at creation", base, ""},
		{"a millisecond before expiry", r.ExpiresAt.Add(-time.Millisecond), ""},
		{"at expiry", r.ExpiresAt, lacop.ENOTFOUND},
		{"a day later", r.ExpiresAt.Add(24 * time.Hour), lacop.ENOTFOUND},
	}
	for _, tt := range tests {
		_, err := s.AuthRequestByID(ctx, "r1", tt.now)
		wantCode(t, "AuthRequestByID "+tt.name, err, tt.want)
		_, err = s.AuthRequestByCode(ctx, code, tt.now)
		wantCode(t, "AuthRequestByCode "+tt.name, err, tt.want)
	}
}

func testGrants(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s,
		grant("g1", "s1", "ann", "grafana", 1),
		grant("g2", "s1", "ann", "gitea", 2),
		grant("g3", "s2", "ann", "grafana", 3),
		grant("g4", "s3", "bob", "grafana", 4),
	)
	wantCode(t, "CreateAppGrant (duplicate)", s.CreateAppGrant(ctx, grant("g1", "s9", "bob", "gitea", 9)), lacop.ECONFLICT)

	got, err := s.AppGrantByID(ctx, "g2")
	want := grant("g2", "s1", "ann", "gitea", 2)
	if err != nil || got.ID != want.ID || got.SessionID != want.SessionID || got.UserID != want.UserID ||
		got.ClientID != want.ClientID || !slices.Equal(got.Scopes, want.Scopes) ||
		!sameMS(got.AuthTime, want.AuthTime) || !sameMS(got.CreatedAt, want.CreatedAt) {
		t.Errorf("AppGrantByID(g2) = %+v, %v; want %+v", got, err, want)
	}
	_, err = s.AppGrantByID(ctx, "nope")
	wantCode(t, "AppGrantByID (unknown)", err, lacop.ENOTFOUND)

	tests := []struct {
		name string
		sel  lacop.GrantSelection
		want []string
	}{
		{"everything", lacop.GrantSelection{}, []string{"g1", "g2", "g3", "g4"}},
		{"by grant ids", lacop.GrantSelection{GrantIDs: []string{"g4", "g1", "nope"}}, []string{"g1", "g4"}},
		{"by session", lacop.GrantSelection{SessionIDs: []string{"s1"}}, []string{"g1", "g2"}},
		{"by sessions", lacop.GrantSelection{SessionIDs: []string{"s2", "s3"}}, []string{"g3", "g4"}},
		{"by user", lacop.GrantSelection{UserID: "ann"}, []string{"g1", "g2", "g3"}},
		{"by client", lacop.GrantSelection{ClientID: "grafana"}, []string{"g1", "g3", "g4"}},
		{"user and client", lacop.GrantSelection{UserID: "ann", ClientID: "grafana"}, []string{"g1", "g3"}},
		{"session and client", lacop.GrantSelection{SessionIDs: []string{"s1", "s3"}, ClientID: "gitea"}, []string{"g2"}},
		{"grant ids and user", lacop.GrantSelection{GrantIDs: []string{"g3", "g4"}, UserID: "bob"}, []string{"g4"}},
		{"all four", lacop.GrantSelection{GrantIDs: []string{"g1", "g2"}, SessionIDs: []string{"s1"}, UserID: "ann", ClientID: "grafana"}, []string{"g1"}},
		{"unknown user", lacop.GrantSelection{UserID: "carl"}, []string{}},
		{"DropConsent is ignored", lacop.GrantSelection{UserID: "bob", DropConsent: true}, []string{"g4"}},
	}
	for _, tt := range tests {
		list, err := s.AppGrants(ctx, tt.sel)
		if got := grantIDs(list); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("AppGrants(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// testGrantSessionIDs: the sweep pages through the sessions that have
// grants, each once, in order.
func testGrantSessionIDs(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s,
		grant("g1", "s-b", "ann", "grafana", 1),
		grant("g2", "s-a", "ann", "gitea", 2),
		grant("g3", "s-b", "ann", "gitea", 3),
		grant("g4", "s-d", "bob", "grafana", 4),
		grant("g5", "s-c", "bob", "grafana", 5),
	)
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 10, []string{"s-a", "s-b", "s-c", "s-d"}},
		{"", 2, []string{"s-a", "s-b"}},
		{"s-b", 2, []string{"s-c", "s-d"}},
		{"s-bb", 10, []string{"s-c", "s-d"}},
		{"s-d", 2, nil},
		{"", 0, nil},
	}
	for _, tt := range tests {
		got, err := s.AppGrantSessionIDs(ctx, tt.after, tt.limit)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("AppGrantSessionIDs(%q, %d) = %q, %v; want %q", tt.after, tt.limit, got, err, tt.want)
		}
	}
}

func testConsents(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	_, err := s.Consent(ctx, "ann", "grafana")
	wantCode(t, "Consent (none)", err, lacop.ENOTFOUND)
	for _, c := range []*lacop.Consent{
		{UserID: "ann", ClientID: "grafana", Scopes: []string{"openid"}, CreatedAt: base.Add(2 * time.Minute)},
		{UserID: "ann", ClientID: "gitea", Scopes: []string{"openid", "email"}, CreatedAt: base.Add(time.Minute)},
		{UserID: "bob", ClientID: "grafana", Scopes: []string{"openid"}, CreatedAt: base},
	} {
		must(t, "SaveConsent "+c.UserID+"/"+c.ClientID, s.SaveConsent(ctx, c))
	}
	got, err := s.Consent(ctx, "ann", "grafana")
	if err != nil || got.UserID != "ann" || got.ClientID != "grafana" || !slices.Equal(got.Scopes, []string{"openid"}) || !sameMS(got.CreatedAt, base.Add(2*time.Minute)) {
		t.Errorf("Consent(ann, grafana) = %+v, %v; want openid at base+2m", got, err)
	}
	// A later consent replaces the earlier one.
	later := &lacop.Consent{UserID: "ann", ClientID: "grafana", Scopes: []string{"openid", "profile"}, CreatedAt: base.Add(time.Hour)}
	must(t, "SaveConsent (again)", s.SaveConsent(ctx, later))
	got, err = s.Consent(ctx, "ann", "grafana")
	if err != nil || !slices.Equal(got.Scopes, later.Scopes) || !sameMS(got.CreatedAt, later.CreatedAt) {
		t.Errorf("Consent(ann, grafana) after a second save = %+v, %v; want %v at base+1h", got, err, later.Scopes)
	}
	list, err := s.UserConsents(ctx, "ann")
	var clients []string
	for _, c := range list {
		clients = append(clients, c.ClientID)
	}
	if want := []string{"gitea", "grafana"}; err != nil || !slices.Equal(clients, want) {
		t.Errorf("UserConsents(ann) = %q, %v; want %q (oldest first)", clients, err, want)
	}
	if list, err := s.UserConsents(ctx, "carl"); err != nil || len(list) != 0 {
		t.Errorf("UserConsents(carl) = %d consents, %v; want none", len(list), err)
	}
}

// testAppsPrune: requests and tokens past their expiry go; live ones and
// grants stay.
func testAppsPrune(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	old, live := authRequest("old"), authRequest("live")
	old.ExpiresAt, live.ExpiresAt = base.Add(time.Minute), base.Add(time.Hour)
	must(t, "CreateAuthRequest old", s.CreateAuthRequest(ctx, old))
	must(t, "CreateAuthRequest live", s.CreateAuthRequest(ctx, live))
	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 0))
	expired, spent, fresh := appToken("expired", "g1", lacop.AppTokenAccess), appToken("spent", "g1", lacop.AppTokenRefresh), appToken("fresh", "g1", lacop.AppTokenRefresh)
	expired.ExpiresAt, spent.ExpiresAt, fresh.ExpiresAt = base.Add(time.Minute), base.Add(2*time.Minute), base.Add(time.Hour)
	createAppTokens(t, s, expired, spent, fresh)
	must(t, "SpendAppToken", s.SpendAppToken(ctx, spent.Hash, base, nil))

	must(t, "PruneApps", s.PruneApps(ctx, base.Add(30*time.Minute)))
	must(t, "PruneApps (again)", s.PruneApps(ctx, base.Add(30*time.Minute)))
	// Looked up with an early clock: only the prune can have removed them.
	_, err := s.AuthRequestByID(ctx, "old", base)
	wantCode(t, "expired request after prune", err, lacop.ENOTFOUND)
	_, err = s.AuthRequestByID(ctx, "live", base)
	wantCode(t, "live request after prune", err, "")
	_, err = s.AppTokenByHash(ctx, expired.Hash)
	wantCode(t, "expired token after prune", err, lacop.ENOTFOUND)
	_, err = s.AppTokenByHash(ctx, spent.Hash)
	wantCode(t, "expired spent token after prune", err, lacop.ENOTFOUND)
	_, err = s.AppTokenByHash(ctx, fresh.Hash)
	wantCode(t, "live token after prune", err, "")
	_, err = s.AppGrantByID(ctx, "g1")
	wantCode(t, "grant after prune", err, "")
}
