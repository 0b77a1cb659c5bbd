package web

import (
	"net/http"
	"strconv"

	"github.com/lacop/lacop/auth"
)

// handlePasswordChange answers POST /api/account/password.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	s.respondOutcome(w, r, "revokedSessions", func(id *auth.Identity) (*auth.Outcome, error) {
		return s.auth.ChangePassword(r.Context(), id, req.CurrentPassword, req.NewPassword, s.client(r))
	})
}

// handleEmailChange answers POST /api/account/email.
func (s *Server) handleEmailChange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
		NewEmail string `json:"newEmail"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	if s.auth.Letters != nil {
		// With mail the new address is confirmed first: nothing changes,
		// nothing ends, until its link is opened.
		if err := s.auth.RequestEmailChange(r.Context(), identity(r), req.Password, req.NewEmail, s.client(r)); err != nil {
			s.error(w, r, err)
			return
		}
		s.json(w, http.StatusAccepted, map[string]any{"pending": true, "message": emailChangePending})
		return
	}
	s.respondOutcome(w, r, "revokedSessions", func(id *auth.Identity) (*auth.Outcome, error) {
		return s.auth.ChangeEmail(r.Context(), id, req.Password, req.NewEmail, s.client(r))
	})
}

// handleReportConcern answers POST /api/account/report-concern.
func (s *Server) handleReportConcern(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Note string `json:"note"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.error(w, r, err)
		return
	}
	s.respondOutcome(w, r, "revokedSessions", func(id *auth.Identity) (*auth.Outcome, error) {
		return s.auth.ReportConcern(r.Context(), id, req.Note, s.client(r))
	})
}

// handleActivity answers GET /api/account/activity: the caller's own audit
// events, newest first; ?before=ID pages back, ?limit=N (at most 200).
func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit")) // anything unparsable means the default
	events, err := s.auth.Activity(r.Context(), identity(r).User.ID, q.Get("before"), limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"events": events})
}
