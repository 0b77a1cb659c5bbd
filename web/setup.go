package web

import (
	"net/http"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// handleSetupPage shows the form that creates the first admin, if the
// one-time link is still good.
func (s *Server) handleSetupPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	token := r.URL.Query().Get("token")
	ok, err := s.auth.SetupTokenValid(r.Context(), token)
	if err != nil {
		s.error(w, r, err)
		return
	} else if !ok {
		s.error(w, r, lacop.Errorf(lacop.ENOTFOUND, "This setup link is no longer valid. Restart lacop on an empty database for a new one, or sign in."))
		return
	}
	s.render(w, r, http.StatusOK, "setup.html", pageData{Title: "Set up lacop", Form: map[string]string{"token": token}})
}

// handleSetupSubmit creates the first admin, spends the link and signs in.
func (s *Server) handleSetupSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	f := r.PostForm
	form := map[string]string{"token": f.Get("token"), "email": f.Get("email"), "name": f.Get("name")}
	fail := func(err error) {
		switch lacop.ErrorCode(err) {
		case lacop.EINVALID, lacop.EWEAKPASSWORD:
			s.render(w, r, errorStatus(err), "setup.html", pageData{Title: "Set up lacop", Error: lacop.ErrorMessage(err), Form: form})
		default:
			s.error(w, r, err)
		}
	}
	if f.Get("password") != f.Get("passwordConfirm") {
		fail(lacop.Errorf(lacop.EINVALID, "The two passwords differ."))
		return
	}
	in, err := s.auth.CompleteSetup(r.Context(), f.Get("token"), auth.NewUser{
		Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password"),
	}, s.client(r))
	if err != nil {
		fail(err)
		return
	}
	s.setSessionCookie(w, in.Secret, in.Session)
	seeOther(w, "/")
}
