package web

import (
	"net/http"

	"github.com/lacop/lacop"
)

// loggedOutPage is where a sign-out lands when no safe target was given.
const loggedOutPage = "/login?loggedOut=1"

// logout ends the caller's session on the server, and only then tells the
// browser to forget it. It answers the same whether or not there was a live
// session, and fails only when the store cannot tell (never saying "signed
// out" while the session lives on). It is not held back by the
// unknown-cookie ban: its answer is the same for a live cookie and a made-up
// one, so it tells a guesser nothing, and a person behind a flooded address
// must still be able to sign out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	if secret := s.sessionSecret(r); secret != "" {
		if err := s.auth.Logout(r.Context(), secret, s.client(r)); err != nil {
			return err
		}
		s.cookies.ended(s.cookies.key(secret))
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
	// The apps that asked for front-channel logout are loaded in hidden
	// frames on the way out (their back-channel logouts go regardless).
	var front []string
	if id, err := s.authenticate(r); err == nil {
		front = s.cfg.Apps.FrontchannelURLs(r.Context(), id.Session.ID)
	}
	if err := s.logout(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	s.signedOut(w, r, front, s.redirects.Target(r.PostForm.Get("rd"), loggedOutPage))
}
