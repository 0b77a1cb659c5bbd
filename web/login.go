package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// userJSON is the public shape of a user in API answers.
type userJSON struct {
	ID     string   `json:"id"`
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Admin  bool     `json:"admin"`
	Groups []string `json:"groups"`
}

func newUserJSON(u *lacop.User) userJSON {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Groups: groups}
}

// handleLoginAPI signs in with JSON. A session cookie sent along is ignored:
// sign-in always starts a new session with a fresh secret.
func (s *Server) handleLoginAPI(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req struct {
		Email      string `json:"email"`
		Password   string `json:"password"`
		RememberMe bool   `json:"rememberMe"`
		TargetURL  string `json:"targetURL"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	in, err := s.auth.Login(r.Context(), auth.LoginRequest{
		Email: req.Email, Password: req.Password, RememberMe: req.RememberMe, Client: s.client(r), Device: device(r),
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.setDevice(w, in.Device)
	s.setSessionCookie(w, in.Secret, in.Session)
	s.json(w, http.StatusOK, map[string]any{
		"user":                 newUserJSON(in.User),
		"secondFactorRequired": in.SecondFactorRequired,
		"redirect":             s.redirects.Target(req.TargetURL, "/"),
	})
}

// endReasons tell a person on the login page why their session ended, by
// the reason an open tab was given.
var endReasons = map[string]string{
	"logout":                 "You have signed out. This browser no longer has access.",
	"revoked":                "This session was ended from your session list, perhaps on another device.",
	"revoked_all":            "You were signed out everywhere.",
	"password_changed":       "Your password was changed, which ended this session. Sign in with the new password.",
	"email_changed":          "Your email address was changed, which ended this session. Sign in with the new address.",
	"concern_reported":       "A security concern was reported on your account, which ended this session.",
	"second_factor_disabled": "Your second factor was turned off, which ended this session.",
	"admin":                  "An administrator ended your session.",
	"expired":                "Your session timed out. Please sign in again.",
	"token_reuse":            "This session was ended because one of its app tokens was used twice, which can mean it was copied.",
	"session_limit":          "You are signed in on too many devices; this least recently used session was ended.",
	"ended":                  "Your session has ended. Please sign in again.",
	"passkey_removed":        "The passkey this session signed in with was removed, which ended it.",
	"passkey_cloned":         "The passkey this session signed in with looked copied, so its sessions were ended. Remove it on the Security page if you did not expect this.",
}

// handleLoginPage shows the sign-in form, or sends a signed-in person on:
// to the step their session still owes, else to the safe target. A cookie
// that cannot be checked now (the store, or the unknown-cookie throttle)
// is left alone and the form shown: signing in replaces it.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	q := r.URL.Query()
	rd := q.Get("rd")
	data := pageData{Title: "Sign in", Form: s.loginForm(rd, "")}
	if secret := s.sessionSecret(r); secret != "" {
		id, err := s.checkCookie(r.Context(), secret, s.client(r))
		switch {
		case err == nil && q.Get("reauth") == "1" && s.auth.Pending(id) == auth.StepNone:
			// An app asked for a fresh sign-in (prompt=login, max_age):
			// the form, even though this browser is signed in. Signing
			// in replaces the session (handleLoginSubmit).
			data.Form["email"] = id.User.Email
			data.Notice = "Sign in again to continue."
		case err == nil:
			seeOther(w, s.signedInTarget(id, rd))
			return
		case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED:
			// A dead cookie is of no use to anyone: drop it.
			s.clearSessionCookie(w)
		}
	}
	switch {
	case q.Get("loggedOut") == "1" && endReasons[q.Get("reason")] != "":
		data.Notice = endReasons[q.Get("reason")]
	case q.Get("loggedOut") == "1":
		data.Notice = "You have signed out. This browser no longer has access."
	case q.Get("emailChanged") == "1":
		data.Notice = "Your email address is changed, and your account was signed out everywhere. Sign in with the new address."
	case q.Get("reset") == "1":
		data.Notice = "Your new password is set, and your account was signed out everywhere. Sign in with the new password."
	case q.Get("expired") == "1":
		data.Notice = "Your session ended because it was inactive or too old. Please sign in again."
	case q.Get("ended") == "1":
		data.Notice = "Your session has ended. Please sign in again."
	}
	s.render(w, r, http.StatusOK, "login.html", data)
}

// loginForm is the login form's values; passkeys says the page offers
// them (the portal has a domain browsers accept as an RP ID).
func (s *Server) loginForm(rd, email string) map[string]string {
	f := map[string]string{"rd": rd, "email": email}
	if s.auth.PasskeysOn() {
		f["passkeys"] = "1"
	}
	return f
}

// handleLoginSubmit signs in from the HTML form and redirects to the safe
// target, so the page works without JavaScript.
func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	rd := r.PostForm.Get("rd")
	email := r.PostForm.Get("email")
	in, err := s.auth.Login(r.Context(), auth.LoginRequest{
		Email:      email,
		Password:   r.PostForm.Get("password"),
		RememberMe: r.PostForm.Get("rememberMe") != "",
		Client:     s.client(r),
		Device:     device(r),
	})
	if err != nil {
		switch lacop.ErrorCode(err) {
		case lacop.EINVALIDCREDENTIALS, lacop.ETOOMANYATTEMPTS:
		default:
			s.error(w, r, err)
			return
		}
		s.render(w, r, errorStatus(err), "login.html", pageData{
			Title: "Sign in", Error: formError(w, err),
			Form: s.loginForm(rd, email),
		})
		return
	}
	// Signing in on the form over a live session of this browser (an app
	// asked for a fresh sign-in) replaces it: the old session ends as on
	// sign-out, apps signed in through it included. Left alive, it would
	// outlive every sign-out this browser can do.
	if !s.startSignedIn(w, r, in) {
		return
	}
	seeOther(w, s.signedInTarget(&auth.Identity{User: in.User, Session: in.Session}, rd))
}

// signedInTarget is where a signed-in person goes next: to the page of the
// step their session still owes (never to rd, whose app would only send
// them back here), else to rd if it is safe.
func (s *Server) signedInTarget(id *auth.Identity, rd string) string {
	if page := stepPage(s.auth.Pending(id), rd); page != "" {
		return page
	}
	return s.redirects.Target(rd, "/")
}

// stepPage is the page that completes step, carrying the target rd along
// for after it; "" when nothing is owed.
func stepPage(step auth.Step, rd string) string {
	switch step {
	case auth.StepNone:
		return ""
	case auth.StepSecondFactor:
		return "/login/second-factor?rd=" + url.QueryEscape(rd)
	default:
		return "/security?enrol=1"
	}
}

// sessionJSON is the public shape of the caller's session.
type sessionJSON struct {
	ID           string    `json:"id"`
	AuthLevel    int       `json:"authLevel"`
	CreatedAt    time.Time `json:"createdAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// handleMe tells the caller who they are and about their session.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	sess, err := s.auth.SessionOf(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{
		"user": newUserJSON(id.User),
		"session": sessionJSON{
			ID: sess.ID, AuthLevel: sess.AuthLevel, CreatedAt: sess.CreatedAt,
			LastActiveAt: sess.LastActiveAt, ExpiresAt: s.auth.SessionExpiry(sess),
		},
	})
}

// startSignedIn gives the browser the new session of in. A session this
// browser already had ends first, as on sign-out, apps signed in through
// it included: left alive, it would outlive every sign-out this browser
// can do. When that end fails, the new session is withdrawn, the error
// answered, and false returned.
func (s *Server) startSignedIn(w http.ResponseWriter, r *http.Request, in *auth.SignIn) bool {
	if old := s.sessionSecret(r); old != "" {
		if err := s.auth.Logout(r.Context(), old, s.client(r)); err != nil {
			_ = s.auth.Logout(r.Context(), in.Secret, s.client(r))
			s.error(w, r, err)
			return false
		}
		s.cookies.ended(s.cookies.key(old))
	}
	s.setDevice(w, in.Device)
	s.setSessionCookie(w, in.Secret, in.Session)
	return true
}
