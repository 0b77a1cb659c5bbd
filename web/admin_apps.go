package web

import (
	"context"
	"net/http"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/oidc"
)

// adminAppsView is what the admin panel shows of the OpenID Connect side:
// the configured apps with who is signed in to each, and the outbox of
// back-channel logouts (pending ones and those given up, with the last
// answer), so an admin can see an app that is not being told.
type adminAppsView struct {
	Apps       []adminAppView     `json:"apps"`
	Deliveries map[string]int     `json:"deliveries"` // per state
	Pending    []adminDeliveryRow `json:"pending"`
	Failed     []adminDeliveryRow `json:"failed"`
}

type adminAppView struct {
	oidc.AppView
	People []adminAppPerson `json:"people"`
}

type adminAppPerson struct {
	oidc.AppPerson
	Email string `json:"email"`
}

type adminDeliveryRow struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	App       string    `json:"app"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError"`
	CreatedAt time.Time `json:"createdAt"`
	NextAt    time.Time `json:"nextAttemptAt"`
}

// adminDeliveriesShown bounds each delivery list on the page.
const adminDeliveriesShown = 100

func (s *Server) adminApps(ctx context.Context) (*adminAppsView, error) {
	v := &adminAppsView{Apps: []adminAppView{}, Deliveries: map[string]int{}, Pending: []adminDeliveryRow{}, Failed: []adminDeliveryRow{}}
	apps, err := s.cfg.Apps.AdminApps(ctx)
	if err != nil {
		s.logger.Error("admin: list apps", "err", err)
		return nil, errListUnavailable
	}
	users, err := s.auth.Users.Users(ctx)
	if err != nil {
		s.logger.Error("admin: list users", "err", err)
		return nil, errListUnavailable
	}
	emails := make(map[string]string, len(users))
	for _, u := range users {
		emails[u.ID] = u.Email
	}
	names := map[string]string{}
	for _, a := range apps {
		names[a.ID] = a.Name
		av := adminAppView{AppView: a, People: make([]adminAppPerson, 0, len(a.People))}
		for _, p := range a.People {
			av.People = append(av.People, adminAppPerson{AppPerson: p, Email: emails[p.UserID]})
		}
		v.Apps = append(v.Apps, av)
	}
	if s.cfg.Outbox == nil {
		return v, nil
	}
	if v.Deliveries, err = s.cfg.Outbox.CountDeliveries(ctx); err != nil {
		s.logger.Error("admin: count deliveries", "err", err)
		return nil, errListUnavailable
	}
	for _, l := range []struct {
		state string
		into  *[]adminDeliveryRow
	}{{lacop.DeliveryPending, &v.Pending}, {lacop.DeliveryFailed, &v.Failed}} {
		list, err := s.cfg.Outbox.Deliveries(ctx, l.state, adminDeliveriesShown)
		if err != nil {
			s.logger.Error("admin: list deliveries", "err", err)
			return nil, errListUnavailable
		}
		for _, d := range list {
			app := names[d.Key]
			if app == "" {
				app = d.Key
			}
			*l.into = append(*l.into, adminDeliveryRow{ID: d.ID, Kind: d.Kind, App: app, Attempts: d.Attempts,
				LastError: d.LastError, CreatedAt: d.CreatedAt, NextAt: d.NextAttemptAt})
		}
	}
	return v, nil
}

// handleAdminApps answers GET /api/admin/apps.
func (s *Server) handleAdminApps(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminApps(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, v)
}

// handleAdminAppsPage shows /admin/apps.
func (s *Server) handleAdminAppsPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminApps(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_apps.html", pageData{Title: "Apps", Tab: "Apps", Identity: identity(r), Data: v})
}
