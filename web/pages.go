package web

import (
	"net/http"

	"github.com/lacop/lacop/auth"
)

// handleDashboard shows who is signed in and this session.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	s.render(w, r, http.StatusOK, "dashboard.html", pageData{
		Title: "Dashboard", Identity: id, Data: s.auth.SessionExpiry(id.Session),
	})
}

// helpPages maps help paths to their templates.
var helpPages = map[string]struct{ template, title string }{
	"/help":        {"help.html", "Help"},
	"/help/logout": {"help_logout.html", "Signing out"},
}

// handleHelp serves the help articles. They are readable signed out too;
// when a session is live the sidebar is shown.
func (s *Server) handleHelp(w http.ResponseWriter, r *http.Request) {
	page := helpPages[r.URL.Path]
	var id *auth.Identity
	if s.sessionSecret(r) != "" {
		id, _ = s.authenticate(r)
	}
	s.render(w, r, http.StatusOK, page.template, pageData{Title: page.title, Identity: id})
}

// handleHealthz says the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	s.json(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz says whether the stores answer; a load balancer stops
// sending traffic to an instance that cannot check sessions.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		s.logger.Warn("not ready", "err", err)
		s.json(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	s.json(w, http.StatusOK, map[string]string{"status": "ok"})
}
