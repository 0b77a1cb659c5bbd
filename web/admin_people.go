package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// The admin API's powers over people and bans, beside the older ones in
// admin.go. Each answers as the rest of the API does, and ends through the
// policy table what a change takes away.

// userQuery reads a user list's selection from a URL query: q (search),
// disabled=1, admins=1, group, offset, limit. A bad number is EINVALID.
func userQuery(r *http.Request) (lacop.UserQuery, error) {
	v := r.URL.Query()
	q := lacop.UserQuery{Search: strings.TrimSpace(v.Get("q")), Group: strings.TrimSpace(v.Get("group")),
		Disabled: v.Get("disabled") == "1" || v.Get("disabled") == "true", Admins: v.Get("admins") == "1" || v.Get("admins") == "true"}
	for name, dst := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, lacop.Errorf(lacop.EINVALID, "%s must be a number, 0 or more.", name)
			}
			*dst = n
		}
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	return q, nil
}

// handleAdminUserList answers GET /api/admin/users: every user, or with
// ?q=&disabled=1&admins=1&group=G&offset=N&limit=N a page of those selected,
// ordered by email, with how many are selected in all.
func (s *Server) handleAdminUserList(w http.ResponseWriter, r *http.Request) {
	q, err := userQuery(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	users, total, err := s.auth.ListUsers(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	views := make([]adminUserView, 0, len(users))
	for _, u := range users {
		views = append(views, newAdminUserView(u))
	}
	s.json(w, http.StatusOK, map[string]any{"users": views, "total": total})
}

// handleAdminUserGet answers GET /api/admin/users/{id}.
func (s *Server) handleAdminUserGet(w http.ResponseWriter, r *http.Request) {
	u, err := s.auth.Users.UserByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"user": newAdminUserView(u)})
}

// handleAdminUserUpdate answers PATCH /api/admin/users/{id} {"name",
// "groups", "admin"} (each optional): 200 with the user. Taking admin away
// ends that person's sessions (the caller's own current one excepted); the
// last administrator keeps it (409).
func (s *Server) handleAdminUserUpdate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   *string   `json:"name"`
		Groups *[]string `json:"groups"`
		Admin  *bool     `json:"admin"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id, target := identity(r), r.PathValue("id")
	ch := auth.UserChange{Name: req.Name, Groups: req.Groups, Admin: req.Admin}
	out, err := s.auth.UpdateUser(r.Context(), target, ch, id.Session, id.User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if out != nil {
		s.applyOutcome(w, out, id.Session)
	}
	u, err := s.auth.Users.UserByID(r.Context(), target)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"user": newAdminUserView(u)})
}

// handleAdminUserEnable answers POST /api/admin/users/{id}/enable.
func (s *Server) handleAdminUserEnable(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.EnableUser(r.Context(), r.PathValue("id"), identity(r).User.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminUserDelete answers DELETE /api/admin/users/{id}: every
// session, token and app sign-in of the person ends, then the account goes
// and the email is free. 200 {"revokedSessions"}; 403 for one's own
// account, 409 for the last administrator.
func (s *Server) handleAdminUserDelete(w http.ResponseWriter, r *http.Request) {
	n, err := s.auth.DeleteUser(r.Context(), r.PathValue("id"), identity(r).User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"revokedSessions": n})
}

// banView is a ban as the admin API shows it.
type banView struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Until   time.Time `json:"until"`
}

func newBanViews(bans []auth.BanView) []banView {
	out := make([]banView, 0, len(bans))
	for _, b := range bans {
		out = append(out, banView{Kind: b.Kind, Subject: b.Subject, Until: b.Until.UTC()})
	}
	return out
}

// handleAdminBans answers GET /api/admin/bans: the throttling bans in
// force.
func (s *Server) handleAdminBans(w http.ResponseWriter, r *http.Request) {
	bans, err := s.auth.Bans(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"bans": newBanViews(bans)})
}

var errNoBan = lacop.Errorf(lacop.ENOTFOUND, "No ban is in force on that address or account.")

// handleAdminBanLift answers POST /api/admin/bans/lift {"target"}: an
// address or an email; 200 {"lifted"}, 404 when no ban was in force.
func (s *Server) handleAdminBanLift(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Target string `json:"target"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	lifted, err := s.auth.LiftBans(r.Context(), req.Target, identity(r).User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	} else if len(lifted) == 0 {
		s.error(w, r, errNoBan)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"lifted": newBanViews(lifted)})
}
