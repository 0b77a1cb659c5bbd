package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/oidc"
)

// errNoApps answers the OpenID Connect routes when no app is configured.
var errNoApps = lacop.Errorf(lacop.ENOTFOUND, "No apps sign in through this server.")

// appsOnly serves h when the OpenID Connect provider is on.
func (s *Server) appsOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Apps == nil {
			s.error(w, r, errNoApps)
			return
		}
		h(w, r)
	}
}

// handleProvider hands a request to the protocol library.
func (s *Server) handleProvider(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	s.cfg.Apps.Handler().ServeHTTP(w, r)
}

// forApps reports whether a request to an endpoint lacop's own token
// flows share (token, revocation) comes from an app, and if so serves it.
func (s *Server) forApps(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Apps == nil {
		return false
	}
	if err := parseForm(r); err != nil {
		return false // the endpoint's own handler answers the error
	}
	if !oidc.HasClient(r) {
		return false
	}
	s.handleProvider(w, r)
	return true
}

// handleDiscovery serves the provider's metadata.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(s.cfg.Apps.Discovery(r.Context()))
}

// consentData is the consent page's.
type consentData struct {
	ID     string
	App    string
	Scopes []string
}

// handleOAuthContinue answers an authorization request with the signed-in
// session: sign in first (unless prompt=none, which fails instead), then
// the app's group rule, then consent when the app asks for it, then back
// to the library, which issues the code.
func (s *Server) handleOAuthContinue(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method == http.MethodPost {
		if err := parseForm(r); err != nil {
			s.error(w, r, err)
			return
		}
	}
	id := r.FormValue("id")
	pr, err := s.cfg.Apps.PendingRequest(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ident, err := s.authenticate(r)
	if err != nil && lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED {
		s.error(w, r, err)
		return
	}
	if err != nil || s.auth.Pending(ident) != auth.StepNone || s.staleSignIn(pr, ident.Session) {
		if pr.PromptNone {
			s.cfg.Apps.Refuse(w, r, pr, oidc.LoginRequired())
			return
		}
		next := "/login?rd=" + url.QueryEscape(oidc.PathContinue+"?id="+url.QueryEscape(id))
		if err == nil && s.auth.Pending(ident) == auth.StepNone {
			next += "&reauth=1" // signed in, but not freshly enough
		}
		seeOther(w, next)
		return
	}
	if !s.cfg.Apps.Allowed(pr, ident.User) {
		s.cfg.Apps.Refuse(w, r, pr, oidc.AccessDenied().WithDescription("You are not in a group allowed to use this app."))
		return
	}
	need, err := s.cfg.Apps.NeedsConsent(r.Context(), pr, ident.User.ID)
	if err != nil {
		s.error(w, r, lacop.Errorf(lacop.EUNAVAILABLE, "The service is temporarily unavailable. Please try again."))
		return
	}
	if need {
		switch {
		case pr.PromptNone:
			s.cfg.Apps.Refuse(w, r, pr, oidc.ConsentRequired())
			return
		case r.Method == http.MethodPost && r.PostForm.Get("decision") == "deny":
			s.cfg.Apps.Refuse(w, r, pr, oidc.AccessDenied())
			return
		case r.Method == http.MethodPost && r.PostForm.Get("decision") == "allow":
			if err := s.cfg.Apps.Consent(r.Context(), pr, ident.User.ID); err != nil {
				s.error(w, r, lacop.Errorf(lacop.EUNAVAILABLE, "Your answer could not be saved. Please try again."))
				return
			}
		default:
			s.render(w, r, http.StatusOK, "consent.html", pageData{
				Title: "Allow " + pr.ClientName + "?", Identity: ident,
				Data: consentData{ID: pr.ID, App: pr.ClientName, Scopes: pr.Scopes},
			})
			return
		}
	}
	loc, err := s.cfg.Apps.Answer(r.Context(), pr.ID, ident.User, ident.Session)
	if err != nil {
		s.error(w, r, oidc.ErrNoRequest)
		return
	}
	seeOther(w, loc)
}

// staleSignIn reports whether the request wants a sign-in fresher than the
// session's: prompt=login, or a max_age the session's sign-in is older than
// when the request came. A sign-in made after the request came is fresh
// enough for both (the library turns prompt=login into max_age=0, so
// judging max_age by the clock alone would ask again forever). The person
// signs in again through the login page, which makes a new session.
func (s *Server) staleSignIn(pr *oidc.Pending, sess *lacop.Session) bool {
	if !sess.CreatedAt.Before(pr.CreatedAt) {
		return false
	}
	return pr.PromptLogin || pr.MaxAge != nil && pr.CreatedAt.Sub(sess.CreatedAt) > time.Duration(*pr.MaxAge)*time.Second
}

// endSessionData is the confirmation page's.
type endSessionData struct {
	App    string
	Params map[string]string
}

// handleEndSession is RP-initiated logout. A top-level navigation carrying
// a valid id_token_hint of the signed-in session ends it at once; anything
// else (no hint, another session's, a request an image, frame or script
// could make) asks first with a POST button. The person then goes to the
// app's registered post_logout_redirect_uri (state added), or to the
// signed-out page.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := parseForm(r); err != nil {
			s.error(w, r, err)
			return
		}
		form = r.PostForm
	}
	es, err := s.cfg.Apps.ParseEndSession(r.Context(), form)
	if err != nil {
		s.error(w, r, err)
		return
	}
	target := es.Redirect
	if target == "" {
		target = loggedOutPage
	}
	ident, err := s.authenticate(r)
	if lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED {
		// Nothing to end here: the app's own sign-out goes on.
		if s.sessionSecret(r) != "" {
			s.clearSessionCookie(w)
		}
		seeOther(w, target)
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	confirmed := r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes" && s.sameOrigin(r)
	navigation := r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate" &&
		r.Header.Get("Sec-Fetch-Dest") == "document"
	if !confirmed && !(navigation && es.Names(s.cfg.Apps, ident.Session)) {
		params := map[string]string{}
		for k := range es.Params {
			params[k] = es.Params.Get(k)
		}
		s.render(w, r, http.StatusOK, "end_session.html", pageData{
			Title: "Sign out", Identity: ident, Data: endSessionData{App: es.ClientName, Params: params},
		})
		return
	}
	front := s.cfg.Apps.FrontchannelURLs(r.Context(), ident.Session.ID)
	if err := s.logout(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	s.signedOut(w, r, front, target)
}

// signedOut sends the browser on after a sign-out: straight away, or, when
// apps signed in through the session asked for front-channel logout,
// through a page that loads each app's logout URI in a hidden frame first.
func (s *Server) signedOut(w http.ResponseWriter, r *http.Request, front []string, target string) {
	if len(front) == 0 {
		seeOther(w, target)
		return
	}
	origins := make([]string, 0, len(front))
	for _, f := range front {
		if u, err := url.Parse(f); err == nil {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	w.Header().Set("Content-Security-Policy", s.csp+"; frame-src "+strings.Join(origins, " "))
	s.render(w, r, http.StatusOK, "signed_out.html", pageData{
		Title: "Signed out", Data: signedOutData{Frames: front, Next: target},
	})
}

// signedOutData is the front-channel page's.
type signedOutData struct {
	Frames []string
	Next   string
}

// sameOrigin reports whether a POST came from lacop's own page (for a route
// that cross-origin protection lets through because apps may post to it).
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	return r.Header.Get("Origin") == s.cfg.PublicURL.Scheme+"://"+s.cfg.PublicURL.Host
}

// handleAppsList answers GET /api/account/apps: the apps the person allowed.
func (s *Server) handleAppsList(w http.ResponseWriter, r *http.Request) {
	apps, err := s.cfg.Apps.AllowedApps(r.Context(), identity(r).User.ID)
	if err != nil {
		s.error(w, r, lacop.Errorf(lacop.EUNAVAILABLE, "Your apps cannot be listed right now."))
		return
	}
	if apps == nil {
		apps = []oidc.AllowedApp{}
	}
	s.json(w, http.StatusOK, map[string]any{"apps": apps})
}

// removeAccess ends an app's grants in every session of the caller.
func (s *Server) removeAccess(r *http.Request) error {
	id := identity(r)
	clientID := r.PathValue("id")
	if _, ok := s.cfg.Apps.Client(clientID); !ok {
		return lacop.Errorf(lacop.ENOTFOUND, "No such app.")
	}
	return s.cfg.Apps.RemoveAccess(r.Context(), id.User.ID, clientID, id.User.ID)
}

// handleAppRemove answers DELETE /api/account/apps/{id}.
func (s *Server) handleAppRemove(w http.ResponseWriter, r *http.Request) {
	if err := s.removeAccess(r); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAppRemoveSubmit is the Security page's Remove access button.
func (s *Server) handleAppRemoveSubmit(w http.ResponseWriter, r *http.Request) {
	if err := s.removeAccess(r); err != nil {
		s.error(w, r, err)
		return
	}
	seeOther(w, "/security?done=app")
}
