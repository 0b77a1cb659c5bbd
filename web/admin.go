package web

import (
	"net/http"

	"github.com/lacop/lacop"
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
	if err := s.auth.ResetTOTP(r.Context(), r.PathValue("id"), identity(r).User.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
