package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// sessionSecret returns the session cookie's value, or "". It scans the
// Cookie headers for our one name instead of parsing every cookie (as
// r.Cookie does), because forward-auth runs it on every proxied request
// with whatever cookies the apps behind the proxy set. Values are taken as
// sent: a session secret is base64url, and anything else fails the
// well-formedness check in auth.
func (s *Server) sessionSecret(r *http.Request) string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if name, value, ok := strings.Cut(part, "="); ok && name == s.cookieName {
				return strings.Trim(strings.TrimRight(value, " \t"), `"`)
			}
		}
	}
	return ""
}

// sessionCookie is the one place the cookie's name, path, domain and flags
// are decided, so setting and deleting always match.
func (s *Server) sessionCookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName,
		Value:    value,
		Path:     "/",
		Domain:   s.cfg.CookieDomain,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// setSessionCookie hands a session's secret to the browser. A remember-me
// session survives a browser restart until its absolute end; any other
// lasts until the browser closes. The cookie is remembered as live, so the
// unknown-cookie throttle never refuses it, even on its first use.
func (s *Server) setSessionCookie(w http.ResponseWriter, secret string, sess *lacop.Session) {
	c := s.sessionCookie(secret)
	if sess.RememberMe {
		c.MaxAge = max(1, int(sess.ExpiresAt.Sub(s.auth.Now()).Round(time.Second).Seconds()))
	}
	http.SetCookie(w, c)
	noStore(w)
	s.cookies.live(s.cookies.key(secret), sess.ExpiresAt)
}

// applyOutcome tells the browser what an event did to its own session:
// ended (forget it, as sign-out does) or given a fresh secret (replace it).
func (s *Server) applyOutcome(w http.ResponseWriter, out *auth.Outcome, current *lacop.Session) {
	switch {
	case out.CurrentEnded:
		s.forgetSession(w)
	case out.NewSecret != "":
		s.setSessionCookie(w, out.NewSecret, current)
	}
}

// clearSessionCookie tells the browser to drop the cookie: same name, path,
// domain and flags as when it was set, Max-Age=0 and an Expires in the past.
func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	c := s.sessionCookie("")
	c.MaxAge = -1 // written as Max-Age=0
	c.Expires = time.Unix(0, 0)
	http.SetCookie(w, c)
	noStore(w)
}
