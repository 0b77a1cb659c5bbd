package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/oidc"
)

// sessionView is one session as the API and the pages show it.
type sessionView struct {
	ID           string    `json:"id"`
	Current      bool      `json:"current"`
	CreatedAt    time.Time `json:"createdAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
	IP           string    `json:"ip"`
	UserAgent    string    `json:"userAgent"`
	Browser      string    `json:"browser"`
	OS           string    `json:"os"`
	Device       string    `json:"device"`
	AuthLevel    int       `json:"authLevel"`
	RememberMe   bool      `json:"rememberMe"`
	// Apps are the apps signed in through the session (OpenID Connect).
	Apps []oidc.App `json:"apps"`
	// Agent is the readable "Chrome on Windows" for pages.
	Agent string `json:"-"`
	// Ends says in a sentence when the session ends: after how long
	// without activity, and at the latest when (endsText).
	Ends string `json:"-"`
}

func (s *Server) sessionViews(list []*lacop.Session, currentID string) []sessionView {
	views := make([]sessionView, 0, len(list))
	for _, sess := range list {
		a := agent.Describe(sess.UserAgent)
		views = append(views, sessionView{
			ID: sess.ID, Current: sess.ID == currentID, CreatedAt: sess.CreatedAt, LastActiveAt: sess.LastActiveAt,
			ExpiresAt: s.auth.SessionExpiry(sess), IP: sess.IP, UserAgent: sess.UserAgent,
			Browser: a.Browser, OS: a.OS, Device: a.Device, AuthLevel: sess.AuthLevel, RememberMe: sess.RememberMe,
			Agent: a.String(), Apps: []oidc.App{}, Ends: s.endsText(sess),
		})
	}
	return views
}

// endsText says both of a session's deadlines, the one that moves and the
// one that does not: "Signed out after 30 minutes without activity, and at
// the latest at 15:43 UTC on 6 Dec 2026". A remembered session has no
// inactivity limit, only its end.
func (s *Server) endsText(sess *lacop.Session) string {
	latest := sess.ExpiresAt.UTC().Format("15:04 UTC on 2 Jan 2006")
	if sess.RememberMe || s.auth.Config.InactivityTimeout <= 0 {
		return "Signed out at " + latest + " at the latest; inactivity does not end it, as it is remembered on this device"
	}
	return "Signed out after " + spell(s.auth.Config.InactivityTimeout) + " without activity, and at the latest at " + latest
}

// spell says a duration as a person would: "30 minutes", "1 hour",
// "2 hours 30 minutes", "7 days".
func spell(d time.Duration) string {
	days, hours, minutes := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{days, "day"}, {hours, "hour"}, {minutes, "minute"}} {
		if p.n > 0 {
			parts = append(parts, plural(p.n, p.unit))
		}
	}
	if len(parts) == 0 {
		return plural(int(d/time.Second), "second")
	}
	return strings.Join(parts, " ")
}

// mySessions lists the caller's sessions, most recently active first.
func (s *Server) mySessions(r *http.Request) ([]sessionView, error) {
	id := identity(r)
	list, err := s.auth.Sessions.UserSessions(r.Context(), id.User.ID)
	if err != nil {
		return nil, lacop.Errorf(lacop.EUNAVAILABLE, "Your sessions cannot be listed right now.")
	}
	views := s.sessionViews(list, id.Session.ID)
	return views, s.addApps(r, views)
}

// addApps fills in the apps signed in through each session.
func (s *Server) addApps(r *http.Request, views []sessionView) error {
	if s.cfg.Apps == nil {
		return nil
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	apps, err := s.cfg.Apps.SessionApps(r.Context(), ids...)
	if err != nil {
		return lacop.Errorf(lacop.EUNAVAILABLE, "Your sessions cannot be listed right now.")
	}
	for i := range views {
		views[i].Apps = apps[views[i].ID]
	}
	return nil
}

// handleSessionsList answers GET /api/sessions.
func (s *Server) handleSessionsList(w http.ResponseWriter, r *http.Request) {
	views, err := s.mySessions(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"sessions": views})
}

// handleSessionDelete ends one of the caller's sessions. Another user's id
// and an unknown one get the same 404.
func (s *Server) handleSessionDelete(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	out, err := s.auth.EndMySession(r.Context(), id, r.PathValue("id"), s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.applyOutcome(w, out, id.Session)
	w.WriteHeader(http.StatusNoContent)
}

// handleSessionsRevokeAll signs the caller out everywhere, or everywhere
// else when keepCurrent is set.
func (s *Server) handleSessionsRevokeAll(w http.ResponseWriter, r *http.Request) {
	var req struct {
		KeepCurrent bool `json:"keepCurrent"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.error(w, r, err)
		return
	}
	s.respondOutcome(w, r, "revoked", func(id *auth.Identity) (*auth.Outcome, error) {
		return s.auth.SignOutEverywhere(r.Context(), id, req.KeepCurrent, s.client(r))
	})
}

// respondOutcome runs an event for the caller and answers with the number of
// sessions it ended under key, updating or deleting the caller's cookie.
func (s *Server) respondOutcome(w http.ResponseWriter, r *http.Request, key string, event func(*auth.Identity) (*auth.Outcome, error)) {
	id := identity(r)
	out, err := event(id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.applyOutcome(w, out, id.Session)
	s.json(w, http.StatusOK, map[string]int{key: out.Revoked()})
}
