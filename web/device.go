package web

import (
	"net/http"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// deviceCookie names the cookie that lets lacop recognise a browser a
// person signed in from before: a random id, its hash stored; HttpOnly,
// host-only, never sent to the apps' hosts.
const deviceCookie = "__Host-lacop_device"

// device returns the browser's device id, "" when it has none.
func device(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setDevice has the browser keep id (for as long as browsers keep a
// cookie; every sign-in renews it).
func (s *Server) setDevice(w http.ResponseWriter, id string) {
	if id == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.DeviceMaxAge / time.Second)})
}

// notMeView is what not_me.html shows.
type notMeView struct {
	Email, Browser, Token string
	Done                  bool
	Ended                 int
	Mail                  bool // self-service reset is on
}

// handleNotMePage shows GET /not-me/{token}: what the button does.
// Opening the link changes nothing: mail scanners open links too.
func (s *Server) handleNotMePage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.PathValue("token")
	n, err := s.auth.NotMeTarget(r.Context(), token)
	if err != nil {
		s.notMeError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "not_me.html", pageData{Title: "This wasn't me",
		Data: notMeView{Email: n.User.Email, Browser: n.Browser, Token: token}})
}

func (s *Server) notMeError(w http.ResponseWriter, r *http.Request, err error) {
	if lacop.ErrorCode(err) != lacop.EINVALID {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusGone, "not_me.html", pageData{Title: "This wasn't me", Error: lacop.ErrorMessage(err)})
}

// handleNotMeSubmit ends every session of the account and leads the
// person to a new password.
func (s *Server) handleNotMeSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	out, u, err := s.auth.ConfirmNotMe(r.Context(), r.PathValue("token"), s.client(r))
	if err != nil {
		s.notMeError(w, r, err)
		return
	}
	if s.sessionSecret(r) != "" {
		s.forgetSession(w) // every session of the account ended; this browser's, if it had one, too
	}
	s.render(w, r, http.StatusOK, "not_me.html", pageData{Title: "This wasn't me",
		Data: notMeView{Email: u.Email, Done: true, Ended: out.Revoked(), Mail: s.auth.Letters != nil}})
}

// handleAlertsSubmit is the new-sign-in mails switch on /security.
func (s *Server) handleAlertsSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	on := r.PostForm.Get("newSignIn") == "on"
	if err := s.auth.SetNewSignInAlerts(r.Context(), identity(r), on, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	done := "alerts_off"
	if on {
		done = "alerts_on"
	}
	seeOther(w, "/security?done="+done)
}
