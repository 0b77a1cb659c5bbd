package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/reqid"
)

// maxBodyBytes is the largest request body lacop reads; more gets 413.
const maxBodyBytes = 64 << 10

// secure sets the security headers every response carries and bounds the
// request body.
func (s *Server) secure(next http.Handler) http.Handler {
	hsts := s.cfg.PublicURL.Scheme == "https"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		// Every request but forward-auth's (which has its own fast path)
		// gets an id: in X-Request-Id, in the log lines it causes, and on
		// its error page, so a person's "it said reference X" finds them.
		id := reqid.New()
		h.Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(reqid.With(r.Context(), id)))
	})
}

// noStore marks a response as one that carries or depends on a session, so
// no cache (browser back/forward included) keeps it.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

// identityKey is the context key for the request's *auth.Identity.
type identityKey struct{}

// identity returns the identity apiSession or pageSession put in r's context.
func identity(r *http.Request) *auth.Identity {
	id, _ := r.Context().Value(identityKey{}).(*auth.Identity)
	return id
}

// errUnauthenticated is every "no session" answer; one value, so the
// anonymous forward-auth check allocates no error.
var errUnauthenticated = lacop.Errorf(lacop.EUNAUTHENTICATED, "You are not signed in.")

// authenticate checks the request's session cookie. With no cookie it
// returns EUNAUTHENTICATED without touching the store.
func (s *Server) authenticate(r *http.Request) (*auth.Identity, error) {
	secret := s.sessionSecret(r)
	if secret == "" {
		return nil, errUnauthenticated
	}
	return s.checkCookie(r.Context(), secret, s.client(r))
}

// checkCookie looks up a session secret, guarding the store against floods
// of cookies that name no session. A cookie this process has seen live is
// always looked up, whatever its address did; one it has seen end is
// answered without a lookup and counts as no guess; only the rest (unknown
// cookies) are counted per client and rationed while the client is banned.
func (s *Server) checkCookie(ctx context.Context, secret string, c auth.Client) (*auth.Identity, error) {
	k := s.cookies.key(secret)
	known, dead := s.cookies.state(k)
	if dead {
		return nil, errUnauthenticated
	}
	var client string // counted by; found only for unknown cookies
	if !known {
		client = auth.AddressKey(c.IP)
		if until, ok := s.guesses.admit(client); !ok {
			return nil, auth.NewThrottled(until)
		}
	}
	id, err := s.auth.Authenticate(ctx, secret, c)
	switch {
	case err == nil:
		if !known {
			s.cookies.live(k, id.Session.ExpiresAt)
		}
	case lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED:
		// The store could not answer: nothing is learnt about the cookie.
	case known:
		s.cookies.ended(k) // a session that ended, not a guess
	case errors.Is(err, auth.ErrSessionExpired):
		// It existed until it ran out: not a guess either.
	case s.guesses.miss(client):
		s.logger.Warn("too many unknown session cookies; rationing their lookups from this client", "client", client)
	}
	return id, err
}

// apiSession runs h only for requests with a live, fully signed-in
// session; others get 401 unauthenticated (503 if the store cannot answer:
// never let through), and a half-signed-in one 401 second_factor_required.
func (s *Server) apiSession(h http.HandlerFunc) http.HandlerFunc {
	return s.apiStep(auth.StepNone, h)
}

var (
	errSecondFactorRequired = lacop.Errorf(lacop.ESECONDFACTOR, "Enter your second-factor code first.")
	errEnrolRequired        = lacop.Errorf(lacop.EENROLREQUIRED, "Set up a second factor first.")
)

// apiStep is apiSession that also admits sessions owing the given step, for
// the few endpoints that complete it.
func (s *Server) apiStep(allow auth.Step, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		id, err := s.authenticate(r)
		if err != nil {
			if errors.Is(err, auth.ErrSessionExpired) {
				s.clearSessionCookie(w)
			}
			s.error(w, r, err)
			return
		}
		switch step := s.auth.Pending(id); {
		case step == auth.StepNone || step == allow:
		case step == auth.StepSecondFactor:
			s.error(w, r, errSecondFactorRequired)
			return
		default:
			s.error(w, r, errEnrolRequired)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// pageSession runs h only for requests with a live, fully signed-in session;
// others are sent to the login page (or to the step they owe), which then
// brings them back here.
func (s *Server) pageSession(h http.HandlerFunc) http.HandlerFunc {
	return s.pageStep(auth.StepNone, h)
}

// pageStep is pageSession that also admits sessions owing the given step.
func (s *Server) pageStep(allow auth.Step, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		rd := url.QueryEscape(r.URL.RequestURI())
		id, err := s.authenticate(r)
		switch {
		case errors.Is(err, auth.ErrSessionExpired):
			s.clearSessionCookie(w)
			seeOther(w, "/login?expired=1&rd="+rd)
			return
		case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED && s.sessionSecret(r) != "":
			// A cookie for a session that no longer exists: ended elsewhere
			// or swept after expiry. Drop it and say so.
			s.clearSessionCookie(w)
			seeOther(w, "/login?ended=1&rd="+rd)
			return
		case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED:
			seeOther(w, "/login?rd="+rd)
			return
		case err != nil:
			s.error(w, r, err)
			return
		}
		if step := s.auth.Pending(id); step != auth.StepNone && step != allow {
			seeOther(w, stepPage(step, r.URL.RequestURI()))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}

// seeOther redirects with 303 to loc exactly as given: redirect targets are
// checked on the very string sent, so nothing may clean it afterwards (as
// http.Redirect would).
func seeOther(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
}

// client describes the request's origin for sessions and audit events.
func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{IP: clientIP(r, s.cfg.TrustedProxies), UserAgent: r.UserAgent()}
}
