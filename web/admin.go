package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

var errNotAdmin = lacop.Errorf(lacop.EFORBIDDEN, "Administrators only.")

// apiAdmin runs h only for a fully signed-in administrator; other signed-in
// users get 403 forbidden.
func (s *Server) apiAdmin(h http.HandlerFunc) http.HandlerFunc {
	return s.apiSession(func(w http.ResponseWriter, r *http.Request) {
		if !identity(r).User.Admin {
			s.error(w, r, errNotAdmin)
			return
		}
		h(w, r)
	})
}

// handleAdminResetTOTP removes a user's second factor and ends every
// session of that user.
func (s *Server) handleAdminResetTOTP(w http.ResponseWriter, r *http.Request) {
	id, target := identity(r), r.PathValue("id")
	if err := s.auth.ResetTOTP(r.Context(), target, id.User.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	if target == id.User.ID {
		s.forgetSession(w) // it ended every session of theirs, this one too
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminResetLink answers POST /api/admin/users/{id}/reset-link: a
// one-time link for the person to choose a new password, for the admin to
// hand over. It is in this answer only.
func (s *Server) handleAdminResetLink(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	link, err := s.auth.MakeResetLink(r.Context(), r.PathValue("id"), identity(r).User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]string{"link": link})
}

// adminUserView is a user as the admin API shows it.
type adminUserView struct {
	userJSON
	Disabled  bool      `json:"disabled"`
	HasTOTP   bool      `json:"hasTOTP"`
	Passkeys  int       `json:"passkeys"`
	CreatedAt time.Time `json:"createdAt"`
}

func newAdminUserView(u *lacop.User) adminUserView {
	return adminUserView{userJSON: newUserJSON(u), Disabled: u.Disabled, HasTOTP: u.HasTOTP(), Passkeys: u.Passkeys, CreatedAt: u.CreatedAt}
}

var errListUnavailable = lacop.Errorf(lacop.EUNAVAILABLE, "The list cannot be read right now.")

// handleAdminUserCreate creates a user: 201 with the user, 409 when the
// email is taken, 422 for a weak password.
func (s *Server) handleAdminUserCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		Password string   `json:"password"`
		Admin    bool     `json:"admin"`
		Groups   []string `json:"groups"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	u, err := s.auth.CreateUser(r.Context(), auth.NewUser{Email: req.Email, Name: req.Name, Password: req.Password,
		Admin: req.Admin, Groups: req.Groups}, identity(r).User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, map[string]any{"user": newAdminUserView(u)})
}

// handleAdminUserDisable disables a user and ends every session and token.
func (s *Server) handleAdminUserDisable(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	target := r.PathValue("id")
	if err := s.auth.DisableUser(r.Context(), target, id.User.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	if target == id.User.ID {
		s.forgetSession(w) // an admin who disabled themselves is signed out
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminUserRevoke ends every session and token of a user.
func (s *Server) handleAdminUserRevoke(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	target := r.PathValue("id")
	n, err := s.auth.RevokeAll(r.Context(), target, id.User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if target == id.User.ID {
		s.forgetSession(w)
	}
	s.json(w, http.StatusOK, map[string]any{"revoked": n})
}

// adminSessionView is a session with its user's email, for the admins'
// list of every live session.
type adminSessionView struct {
	sessionView
	UserID    string `json:"userId"`
	UserEmail string `json:"userEmail"`
}

// adminSessions lists every live session, or one user's, each with its
// user's email.
func (s *Server) adminSessions(r *http.Request, userID string) ([]adminSessionView, error) {
	ctx := r.Context()
	var list []*lacop.Session
	var err error
	if userID != "" {
		list, err = s.auth.Sessions.UserSessions(ctx, userID)
	} else {
		list, err = s.auth.Sessions.AllSessions(ctx)
	}
	if err != nil {
		s.logger.Error("admin: list sessions", "err", err)
		return nil, errListUnavailable
	}
	emails := map[string]string{}
	views := make([]adminSessionView, 0, len(list))
	base := s.sessionViews(list, identity(r).Session.ID)
	if err := s.addApps(r, base); err != nil {
		return nil, err
	}
	for i, v := range base {
		uid := list[i].UserID
		if _, ok := emails[uid]; !ok {
			if u, err := s.auth.Users.UserByID(ctx, uid); err == nil {
				emails[uid] = u.Email
			}
		}
		views = append(views, adminSessionView{sessionView: v, UserID: uid, UserEmail: emails[uid]})
	}
	return views, nil
}

// handleAdminSessions lists every live session, or one user's (?user=ID).
func (s *Server) handleAdminSessions(w http.ResponseWriter, r *http.Request) {
	views, err := s.adminSessions(r, r.URL.Query().Get("user"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"sessions": views})
}

// handleAdminSessionDelete ends any session by its public id.
func (s *Server) handleAdminSessionDelete(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	target := r.PathValue("id")
	if err := s.auth.AdminEndSession(r.Context(), target, id.User.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	if target == id.Session.ID {
		s.forgetSession(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAdminAudit lists audit events: ?user=ID&type=T&since=RFC3339&before=EVENT_ID&limit=N.
func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := lacop.AuditFilter{UserID: q.Get("user"), Type: q.Get("type"), BeforeID: q.Get("before")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.error(w, r, lacop.Errorf(lacop.EINVALID, "limit must be a positive number."))
			return
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.error(w, r, lacop.Errorf(lacop.EINVALID, "since must be a time like 2026-01-02T15:04:05Z."))
			return
		}
		f.Since = t
	}
	events, err := s.auth.AuditEvents(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"events": events})
}
