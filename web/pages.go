package web

import (
	"net/http"
	"net/netip"

	"github.com/lacop/lacop/auth"
)

// dashboardData is what the dashboard shows besides the identity.
type dashboardData struct {
	Ends       string        // endsText of this session
	Others     []sessionView // a few other sessions, most recent first
	OtherCount int
	Recent     []activityItem
}

// handleDashboard shows who is signed in, this session, the other sessions
// at a glance and the latest security events.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	views, err := s.mySessions(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	events, err := s.auth.Activity(r.Context(), id.User.ID, "", 5)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d := dashboardData{Ends: s.endsText(id.Session), Recent: activityItems(events, id.Session.ID)}
	for _, v := range views {
		if !v.Current {
			d.OtherCount++
			if len(d.Others) < 3 {
				d.Others = append(d.Others, v)
			}
		}
	}
	s.render(w, r, http.StatusOK, "dashboard.html", pageData{Title: "Dashboard", Identity: id, Data: d})
}

// helpPages maps help paths to their templates.
var helpPages = map[string]struct{ template, title string }{
	"/help":        {"help.html", "Help"},
	"/help/logout": {"help_logout.html", "Signing out"},
}

// handleHelp serves the help articles. They are readable signed out too;
// when a fully signed-in session is live the sidebar is shown (render
// drops the identity of a session that still owes a step).
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

// handleMetrics serves the metrics on the main listener when they have no
// listener of their own (metrics.listen), and only to a client on this
// machine that came through no proxy: behind nginx on the same host every
// request arrives from the loopback, so a request carrying any forwarding
// header is not the operator's. Anyone else gets 404, as if there were none.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.MetricsHere || s.cfg.Metrics == nil || !directLoopback(r) {
		s.error(w, r, errNotFound)
		return
	}
	s.cfg.Metrics.Handler().ServeHTTP(w, r)
}

// directLoopback reports whether r came over a loopback connection with no
// header a proxy adds.
func directLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Forwarded", "Via"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	return true
}
