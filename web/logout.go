package web

import (
	"net/http"

	"github.com/lacop/lacop"
)

// loggedOutPage is where a sign-out lands when no safe target was given.
const loggedOutPage = "/login?loggedOut=1"

// logout ends the caller's session on the server, and only then tells the
// browser to forget it. It answers the same whether or not there was a live
// session; it fails only when it cannot tell (a store that does not answer,
// or a cookie the unknown-cookie throttle may not look up now), so it never
// says "signed out" while the session lives on.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	if secret := s.sessionSecret(r); secret != "" {
		c := s.client(r)
		_, err := s.checkCookie(r.Context(), secret, c)
		switch {
		case err == nil:
			if err := s.auth.Logout(r.Context(), secret, c); err != nil {
				return err
			}
			s.cookies.ended(s.cookies.key(secret))
		case lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED:
			return err
		}
	}
	s.forgetSession(w)
	return nil
}

// forgetSession tells the browser its session is over: the deleting
// cookie, and Clear-Site-Data so that nothing the pages cached or stored
// outlives it. Every response that ends the caller's own session sends it.
func (s *Server) forgetSession(w http.ResponseWriter) {
	s.clearSessionCookie(w)
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
}

// handleLogoutAPI signs out with JSON and names where to go next.
func (s *Server) handleLogoutAPI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TargetURL string `json:"targetURL"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.logout(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	target := s.redirects.Target(req.TargetURL, loggedOutPage)
	s.json(w, http.StatusOK, map[string]any{
		"redirect":       target,
		"targetRejected": req.TargetURL != "" && target != req.TargetURL,
	})
}

// handleLogoutPage asks for confirmation: a GET never ends a session, so a
// link or an image cannot sign anyone out. With no live session there is
// nothing to confirm; the cookie is dropped and the browser sent on.
func (s *Server) handleLogoutPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	rd := r.URL.Query().Get("rd")
	id, err := s.authenticate(r)
	switch {
	case err == nil:
		s.render(w, r, http.StatusOK, "logout.html", pageData{
			Title: "Sign out", Identity: id, Form: map[string]string{"rd": rd},
		})
	case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED:
		if s.sessionSecret(r) != "" {
			s.clearSessionCookie(w)
		}
		seeOther(w, s.redirects.Target(rd, "/login"))
	default:
		s.error(w, r, err)
	}
}

// handleLogoutSubmit signs out from the HTML form.
func (s *Server) handleLogoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.logout(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	seeOther(w, s.redirects.Target(r.PostForm.Get("rd"), loggedOutPage))
}
