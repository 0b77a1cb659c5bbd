package oidc

import (
	"context"
	"slices"
	"time"

	"github.com/lacop/lacop"
)

// AppView is one configured app as the admin panel shows it: what the
// configuration says (never its secret) and who is signed in to it now.
type AppView struct {
	ID                     string      `json:"id"`
	Name                   string      `json:"name"`
	Public                 bool        `json:"public"`
	Consent                string      `json:"consent"`
	RedirectURIs           []string    `json:"redirectUris"`
	PostLogoutRedirectURIs []string    `json:"postLogoutRedirectUris"`
	BackchannelLogoutURI   string      `json:"backchannelLogoutUri,omitempty"`
	FrontchannelLogoutURI  string      `json:"frontchannelLogoutUri,omitempty"`
	Scopes                 []string    `json:"scopes"`
	Groups                 []string    `json:"groups"`
	People                 []AppPerson `json:"people"`
	// Sessions counts the lacop sessions signed in to the app.
	Sessions int `json:"sessions"`
}

// AppPerson is someone signed in to an app: through how many sessions,
// and since when (the oldest live sign-in).
type AppPerson struct {
	UserID   string    `json:"userId"`
	Sessions int       `json:"sessions"`
	Since    time.Time `json:"since"`
}

// AdminApps lists the configured apps in configuration order, each with
// the people signed in to it now.
func (p *Provider) AdminApps(ctx context.Context) ([]AppView, error) {
	if p == nil {
		return nil, nil
	}
	out := make([]AppView, 0, len(p.cfg.Clients))
	for _, cc := range p.cfg.Clients {
		c := p.clients[cc.ID].cfg
		v := AppView{
			ID: c.ID, Name: c.Name, Public: c.Public, Consent: c.Consent,
			RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
			BackchannelLogoutURI: c.BackchannelLogoutURI, FrontchannelLogoutURI: c.FrontchannelLogoutURI,
			Scopes: nonNil(c.Scopes), Groups: nonNil(c.Groups), People: []AppPerson{},
		}
		grants, err := p.store.AppGrants(ctx, lacop.GrantSelection{ClientID: c.ID})
		if err != nil {
			return nil, err
		}
		sessions := map[string]bool{}
		people := map[string]int{} // user id → index in v.People
		perUser := map[string]map[string]bool{}
		for _, g := range grants {
			sessions[g.SessionID] = true
			i, ok := people[g.UserID]
			if !ok {
				i = len(v.People)
				people[g.UserID] = i
				perUser[g.UserID] = map[string]bool{}
				v.People = append(v.People, AppPerson{UserID: g.UserID, Since: g.CreatedAt})
			}
			if !perUser[g.UserID][g.SessionID] {
				perUser[g.UserID][g.SessionID] = true
				v.People[i].Sessions++
			}
			if g.CreatedAt.Before(v.People[i].Since) {
				v.People[i].Since = g.CreatedAt
			}
		}
		v.Sessions = len(sessions)
		out = append(out, v)
	}
	return out, nil
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return slices.Clone(list)
}
