package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// logoutDeliveries is an outbox func for EndAppGrants: one delivery per
// ended grant, recording the grants it was called for.
func logoutDeliveries(called *[]string) func(*lacop.AppGrant) []*lacop.Delivery {
	return func(g *lacop.AppGrant) []*lacop.Delivery {
		*called = append(*called, g.ID)
		return []*lacop.Delivery{{ID: "logout-" + g.ID, Kind: "backchannel_logout", Key: g.ClientID,
			Payload: []byte("token for " + g.ID), CreatedAt: base, NextAttemptAt: base}}
	}
}

func testEndGrants(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s,
		grant("g1", "s1", "ann", "grafana", 1),
		grant("g2", "s1", "ann", "gitea", 2),
		grant("g3", "s2", "ann", "grafana", 3),
		grant("g4", "s3", "bob", "grafana", 4),
	)
	createAppTokens(t, s,
		appToken("g1-access", "g1", lacop.AppTokenAccess), appToken("g1-refresh", "g1", lacop.AppTokenRefresh),
		appToken("g2-access", "g2", lacop.AppTokenAccess), appToken("g3-refresh", "g3", lacop.AppTokenRefresh),
		appToken("g4-refresh", "g4", lacop.AppTokenRefresh),
	)
	for _, c := range []*lacop.Consent{
		{UserID: "ann", ClientID: "grafana", Scopes: []string{"openid"}, CreatedAt: base},
		{UserID: "ann", ClientID: "gitea", Scopes: []string{"openid"}, CreatedAt: base},
		{UserID: "bob", ClientID: "grafana", Scopes: []string{"openid"}, CreatedAt: base},
	} {
		must(t, "SaveConsent", s.SaveConsent(ctx, c))
	}

	steps := []struct {
		name       string
		sel        lacop.GrantSelection
		want       []string // grants ended, oldest first
		goneTokens []string
		live       []string // grants left afterwards
	}{
		{"nothing matched", lacop.GrantSelection{SessionIDs: []string{"s9"}}, nil, nil, []string{"g1", "g2", "g3", "g4"}},
		{"session s1", lacop.GrantSelection{SessionIDs: []string{"s1"}}, []string{"g1", "g2"},
			[]string{"g1-access", "g1-refresh", "g2-access"}, []string{"g3", "g4"}},
		{"session s1 again", lacop.GrantSelection{SessionIDs: []string{"s1"}}, nil, nil, []string{"g3", "g4"}},
		{"remove access: ann from grafana", lacop.GrantSelection{UserID: "ann", ClientID: "grafana", DropConsent: true},
			[]string{"g3"}, []string{"g3-refresh"}, []string{"g4"}},
	}
	for _, step := range steps {
		var called []string
		ended, err := s.EndAppGrants(ctx, step.sel, logoutDeliveries(&called))
		if got := grantIDs(ended); err != nil || !slices.Equal(got, nonNilIDs(step.want)) {
			t.Errorf("%s: EndAppGrants = %q, %v; want %q", step.name, got, err, nonNilIDs(step.want))
		}
		slices.Sort(called)
		if !slices.Equal(called, step.want) {
			t.Errorf("%s: outbox called for %q; want %q (once per ended grant)", step.name, called, step.want)
		}
		for _, name := range step.goneTokens {
			_, err := s.AppTokenByHash(ctx, hash32(name))
			wantCode(t, step.name+": AppTokenByHash("+name+")", err, lacop.ENOTFOUND)
		}
		for _, id := range step.want {
			_, err := s.AppGrantByID(ctx, id)
			wantCode(t, step.name+": AppGrantByID("+id+")", err, lacop.ENOTFOUND)
		}
		list, err := s.AppGrants(ctx, lacop.GrantSelection{})
		if got := grantIDs(list); err != nil || !slices.Equal(got, step.live) {
			t.Errorf("%s: live grants = %q, %v; want %q", step.name, got, err, step.live)
		}
	}
	if _, err := s.AppTokenByHash(ctx, hash32("g4-refresh")); err != nil {
		t.Errorf("bob's token after ann's ends: %v; want it kept", err)
	}
	// DropConsent forgot ann's grafana consent only.
	_, err := s.Consent(ctx, "ann", "grafana")
	wantCode(t, "Consent(ann, grafana) after Remove access", err, lacop.ENOTFOUND)
	_, err = s.Consent(ctx, "ann", "gitea")
	wantCode(t, "Consent(ann, gitea) after Remove access of grafana", err, "")
	_, err = s.Consent(ctx, "bob", "grafana")
	wantCode(t, "Consent(bob, grafana) after ann's Remove access", err, "")

	// Without an outbox func the grants end all the same.
	ended, err := s.EndAppGrants(ctx, lacop.GrantSelection{UserID: "bob"}, nil)
	if got := grantIDs(ended); err != nil || !slices.Equal(got, []string{"g4"}) {
		t.Errorf("EndAppGrants(bob, no outbox) = %q, %v; want [g4]", got, err)
	}
	// Remove access with no grant left still forgets the consent.
	if _, err := s.EndAppGrants(ctx, lacop.GrantSelection{UserID: "bob", ClientID: "grafana", DropConsent: true}, nil); err != nil {
		t.Errorf("EndAppGrants(bob, grafana, drop consent) with no grants: %v", err)
	}
	_, err = s.Consent(ctx, "bob", "grafana")
	wantCode(t, "Consent(bob, grafana) after Remove access with no grants", err, lacop.ENOTFOUND)
}

func nonNilIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// testEndGrantsRefused: a selection that would end grants by omission is
// refused and ends nothing.
func testEndGrantsRefused(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 1))
	must(t, "SaveConsent", s.SaveConsent(ctx, &lacop.Consent{UserID: "ann", ClientID: "grafana", CreatedAt: base}))
	tests := []struct {
		name string
		sel  lacop.GrantSelection
	}{
		{"empty", lacop.GrantSelection{}},
		{"client only", lacop.GrantSelection{ClientID: "grafana"}},
		{"empty lists", lacop.GrantSelection{GrantIDs: []string{}, SessionIDs: []string{}, ClientID: "grafana"}},
		{"drop consent without client", lacop.GrantSelection{UserID: "ann", DropConsent: true}},
		{"drop consent without user", lacop.GrantSelection{SessionIDs: []string{"s1"}, ClientID: "grafana", DropConsent: true}},
	}
	for _, tt := range tests {
		var called []string
		ended, err := s.EndAppGrants(ctx, tt.sel, logoutDeliveries(&called))
		wantCode(t, "EndAppGrants("+tt.name+")", err, lacop.EINVALID)
		if len(ended) != 0 || len(called) != 0 {
			t.Errorf("EndAppGrants(%s) ended %q, outbox called for %q; want nothing", tt.name, grantIDs(ended), called)
		}
	}
	_, err := s.AppGrantByID(ctx, "g1")
	wantCode(t, "AppGrantByID(g1) after refused ends", err, "")
	_, err = s.Consent(ctx, "ann", "grafana")
	wantCode(t, "Consent(ann, grafana) after refused ends", err, "")
}

// testEndGrantsAtomic: when the deliveries cannot be written, the grants,
// tokens and consent stay as they were: no grant ends unannounced.
func testEndGrantsAtomic(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 1), grant("g2", "s1", "ann", "grafana", 2))
	createAppTokens(t, s, appToken("g1-refresh", "g1", lacop.AppTokenRefresh))
	must(t, "SaveConsent", s.SaveConsent(ctx, &lacop.Consent{UserID: "ann", ClientID: "grafana", CreatedAt: base}))
	sameID := func(g *lacop.AppGrant) []*lacop.Delivery {
		return []*lacop.Delivery{{ID: "same", Kind: "backchannel_logout", CreatedAt: base, NextAttemptAt: base}}
	}
	ended, err := s.EndAppGrants(ctx, lacop.GrantSelection{UserID: "ann", ClientID: "grafana", DropConsent: true}, sameID)
	if err == nil {
		t.Fatalf("EndAppGrants with two deliveries of one id = %q, nil; want an error", grantIDs(ended))
	}
	list, err := s.AppGrants(ctx, lacop.GrantSelection{UserID: "ann"})
	if got := grantIDs(list); err != nil || !slices.Equal(got, []string{"g1", "g2"}) {
		t.Errorf("grants after a failed end = %q, %v; want [g1 g2]", got, err)
	}
	_, err = s.AppTokenByHash(ctx, hash32("g1-refresh"))
	wantCode(t, "token after a failed end", err, "")
	_, err = s.Consent(ctx, "ann", "grafana")
	wantCode(t, "consent after a failed end", err, "")
}

func testAppTokens(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	wantCode(t, "CreateAppToken (no such grant)", s.CreateAppToken(ctx, appToken("a", "g1", lacop.AppTokenAccess)), lacop.ENOTFOUND)
	_, err := s.AppTokenByHash(ctx, hash32("a"))
	wantCode(t, "token refused for lack of a grant", err, lacop.ENOTFOUND)

	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 1))
	tok := appToken("a", "g1", lacop.AppTokenAccess)
	must(t, "CreateAppToken", s.CreateAppToken(ctx, tok))
	wantCode(t, "CreateAppToken (duplicate)", s.CreateAppToken(ctx, appToken("a", "g1", lacop.AppTokenRefresh)), lacop.ECONFLICT)
	wantCode(t, "CreateAppToken (unknown kind)", s.CreateAppToken(ctx, appToken("b", "g1", "id")), lacop.EINVALID)

	got, err := s.AppTokenByHash(ctx, hash32("a"))
	if err != nil || !slices.Equal(got.Hash, tok.Hash) || got.GrantID != "g1" || got.Kind != lacop.AppTokenAccess ||
		!sameMS(got.CreatedAt, tok.CreatedAt) || !sameMS(got.ExpiresAt, tok.ExpiresAt) || !got.SpentAt.IsZero() {
		t.Errorf("AppTokenByHash(a) = %+v, %v; want the token as created, unspent", got, err)
	}
	_, err = s.AppTokenByHash(ctx, hash32("nope"))
	wantCode(t, "AppTokenByHash (unknown)", err, lacop.ENOTFOUND)

	must(t, "DeleteAppToken", s.DeleteAppToken(ctx, hash32("a")))
	must(t, "DeleteAppToken (again)", s.DeleteAppToken(ctx, hash32("a")))
	_, err = s.AppTokenByHash(ctx, hash32("a"))
	wantCode(t, "AppTokenByHash after delete", err, lacop.ENOTFOUND)
}

func testSpendAppToken(t *testing.T, s lacop.AppStore) {
	ctx := t.Context()
	createGrants(t, s, grant("g1", "s1", "ann", "grafana", 1))
	createAppTokens(t, s, appToken("r1", "g1", lacop.AppTokenRefresh))
	at := base.Add(time.Minute)
	must(t, "SpendAppToken", s.SpendAppToken(ctx, hash32("r1"), at, appToken("r2", "g1", lacop.AppTokenRefresh)))
	if got, err := s.AppTokenByHash(ctx, hash32("r1")); err != nil || !sameMS(got.SpentAt, at) {
		t.Errorf("spent token = %+v, %v; want spent at %v", got, err, at)
	}
	if got, err := s.AppTokenByHash(ctx, hash32("r2")); err != nil || !got.SpentAt.IsZero() || got.GrantID != "g1" {
		t.Errorf("next token = %+v, %v; want stored, unspent, of g1", got, err)
	}

	err := s.SpendAppToken(ctx, hash32("r1"), at.Add(time.Second), appToken("r3", "g1", lacop.AppTokenRefresh))
	wantCode(t, "SpendAppToken (again)", err, lacop.ECONFLICT)
	_, err = s.AppTokenByHash(ctx, hash32("r3"))
	wantCode(t, "next of a refused spend", err, lacop.ENOTFOUND)
	if got, err := s.AppTokenByHash(ctx, hash32("r1")); err != nil || !sameMS(got.SpentAt, at) {
		t.Errorf("token spent twice = %+v, %v; want still spent at %v", got, err, at)
	}

	err = s.SpendAppToken(ctx, hash32("nope"), at, appToken("r4", "g1", lacop.AppTokenRefresh))
	wantCode(t, "SpendAppToken (unknown)", err, lacop.ENOTFOUND)
	_, err = s.AppTokenByHash(ctx, hash32("r4"))
	wantCode(t, "next of an unknown token", err, lacop.ENOTFOUND)

	// A next token whose grant is gone undoes the spend.
	err = s.SpendAppToken(ctx, hash32("r2"), at, appToken("r5", "g-gone", lacop.AppTokenRefresh))
	wantCode(t, "SpendAppToken (next of an ended grant)", err, lacop.ENOTFOUND)
	if got, err := s.AppTokenByHash(ctx, hash32("r2")); err != nil || !got.SpentAt.IsZero() {
		t.Errorf("token whose spend failed = %+v, %v; want unspent", got, err)
	}

	// Once its grant has ended, a token cannot be spent.
	if _, err := s.EndAppGrants(ctx, lacop.GrantSelection{GrantIDs: []string{"g1"}}, nil); err != nil {
		t.Fatalf("EndAppGrants(g1): %v", err)
	}
	err = s.SpendAppToken(ctx, hash32("r2"), at, appToken("r6", "g1", lacop.AppTokenRefresh))
	wantCode(t, "SpendAppToken after the grant ended", err, lacop.ENOTFOUND)
}
