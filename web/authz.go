package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/metrics"
)

// original is the request a reverse proxy asks about.
type original struct {
	method string
	scheme string
	host   string
	uri    string // path and query, as the client sent them
}

// Header values shared by every forward-auth answer, set without
// allocating. They are never modified.
var (
	noStoreValue = []string{"no-store"}
	nosniffValue = []string{"nosniff"}
)

func (o *original) url() string { return o.scheme + "://" + o.host + o.uri }

// validHost accepts host[:port] as access.ParseHost does: a name whose
// labels are 1 to 63 letters, digits, '-' or '_' (one trailing dot
// allowed), or a bracketed IPv6 address, and a port up to 65535. Anything
// else (spaces, "@", "/", control characters, an empty host or label,
// "a.example.com..") is malformed.
func validHost(h string) bool {
	_, err := access.ParseHost(h)
	return err == nil
}

// validURI accepts a request target: a path from the root with an optional
// query, no whitespace or control characters.
func validURI(u string) bool {
	if u == "" || u[0] != '/' || len(u) > 8192 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] == 0x7f {
			return false
		}
	}
	return true
}

var (
	errForwardedHeaders = lacop.Errorf(lacop.EINVALID, "X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri must describe the original request.")
	errOriginalURL      = lacop.Errorf(lacop.EINVALID, "X-Original-URL must be the absolute http(s) URL of the original request.")
)

// forwarded reads the original request from Traefik's and Caddy's
// X-Forwarded-* headers, and its path as the upstream may serve it.
func forwarded(r *http.Request) (original, access.Path, error) {
	o := original{
		method: r.Header.Get("X-Forwarded-Method"),
		scheme: strings.ToLower(r.Header.Get("X-Forwarded-Proto")),
		host:   r.Header.Get("X-Forwarded-Host"),
		uri:    r.Header.Get("X-Forwarded-Uri"),
	}
	if o.method == "" {
		o.method = http.MethodGet
	}
	if !(o.scheme == "https" || o.scheme == "http") || !validHost(o.host) || !validURI(o.uri) {
		return original{}, access.Path{}, errForwardedHeaders
	}
	path, err := parsePath(o.uri)
	return o, path, err
}

// originalURL reads the original request from nginx's X-Original-URL,
// "$scheme://$http_host$request_uri". It is split by hand, not with
// net/url: a parser decodes the path and takes a "#" for a fragment,
// where the rules must see the request target the upstream receives.
func originalURL(r *http.Request) (original, access.Path, error) {
	scheme, rest, ok := strings.Cut(r.Header.Get("X-Original-URL"), "://")
	if !ok {
		return original{}, access.Path{}, errOriginalURL
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	o := original{method: r.Header.Get("X-Original-Method"), scheme: strings.ToLower(scheme), host: rest[:end], uri: rest[end:]}
	if o.method == "" {
		o.method = http.MethodGet
	}
	if !strings.HasPrefix(o.uri, "/") {
		o.uri = "/" + o.uri
	}
	if !(o.scheme == "https" || o.scheme == "http") || !validHost(o.host) || !validURI(o.uri) {
		return original{}, access.Path{}, errOriginalURL
	}
	path, err := parsePath(o.uri)
	return o, path, err
}

// parsePath reads a request target's path for the rules; a path upstreams
// would read differently is refused with the reason, never guessed.
func parsePath(uri string) (access.Path, error) {
	path, err := access.ParsePath(uri)
	if err != nil {
		var pe *access.PathError
		if errors.As(err, &pe) {
			return path, lacop.Errorf(lacop.EINVALID, "The forwarded path is refused: it has %s.", pe.Reason)
		}
		return path, lacop.Errorf(lacop.EINVALID, "The forwarded path is refused.")
	}
	return path, nil
}

// handleForwardAuth answers Traefik's and Caddy's forward-auth: 200 with
// the Remote-* headers, 302 to the login page for a browser that must sign
// in, 401 for anything else that must, 403 when signed in but not allowed.
func (s *Server) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o, path, err := forwarded(r)
	if err != nil {
		noStore(w)
		w.Header()["X-Content-Type-Options"] = nosniffValue
		s.error(w, r, err)
		s.cfg.Metrics.ForwardAuth(metrics.Refused, time.Since(start))
		return
	}
	s.cfg.Metrics.ForwardAuth(s.authorize(w, r, &o, &path, true), time.Since(start))
}

// handleAuthRequest answers nginx's auth_request, which understands only
// 200, 401 and 403: nginx itself sends a 401 to the login page.
func (s *Server) handleAuthRequest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o, path, err := originalURL(r)
	if err != nil {
		noStore(w)
		w.Header()["X-Content-Type-Options"] = nosniffValue
		s.error(w, r, err)
		s.cfg.Metrics.ForwardAuth(metrics.Refused, time.Since(start))
		return
	}
	s.cfg.Metrics.ForwardAuth(s.authorize(w, r, &o, &path, false), time.Since(start))
}

// authorize decides one forwarded request, for the path as read by
// access.ParsePath. It reads the session (or checks
// the token), never writes beyond the periodic activity touch, never sets
// a cookie, and logs nothing per request at info level. It returns the
// decision, for the metrics.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, o *original, path *access.Path, redirect bool) metrics.Decision {
	h := w.Header()
	h["Cache-Control"] = noStoreValue
	h["X-Content-Type-Options"] = nosniffValue
	// The rules as far as they can be read without knowing who asks:
	// bypass and deny need no credentials.
	switch s.cfg.Access.Decide(o.host, path, nil) {
	case access.Bypass:
		w.WriteHeader(http.StatusOK)
		return metrics.Bypassed
	case access.Deny:
		w.WriteHeader(http.StatusForbidden)
		return metrics.Denied
	}

	id, err := s.forwardIdentity(r)
	// A type assertion, not errors.As, which would cost the anonymous
	// answer an allocation.
	refused, isBearer := err.(*bearerError)
	switch {
	case err == nil:
	case isBearer:
		// A client that sent a bearer token is not a browser to be sent to
		// the login page: it gets the challenge, which Traefik and Caddy
		// pass on to it. nginx takes only 200, 401 and 403.
		if !redirect && refused.code == bearerInvalidRequest {
			err = errBearerMalformedNginx
		}
		if !redirect {
			h.Set("Login-URL", s.loginURL+url.QueryEscape(o.url()))
		}
		s.error(w, r, err)
		return metrics.Refused
	case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED:
		login := s.loginURL + url.QueryEscape(o.url())
		if redirect && (o.method == http.MethodGet || o.method == http.MethodHead) &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			h.Set("Location", login)
			w.WriteHeader(http.StatusFound)
			return metrics.SignIn
		}
		if !redirect {
			// nginx cannot escape the original URL itself; it takes this
			// with auth_request_set and redirects to it on 401.
			h.Set("Login-URL", login)
		}
		h["Www-Authenticate"] = challengeValue
		w.WriteHeader(http.StatusUnauthorized)
		return metrics.SignIn
	default:
		// Throttled (429) or a store that cannot answer (503): never 200.
		s.error(w, r, err)
		if lacop.ErrorCode(err) == lacop.ETOOMANYATTEMPTS {
			return metrics.Throttled
		}
		return metrics.Failed
	}

	policy := s.cfg.Access.Decide(o.host, path, &access.Subject{Groups: id.User.Groups})
	if policy == access.Deny || policy == access.TwoFactor && id.Session.AuthLevel < lacop.AuthLevelTwoFactor {
		w.WriteHeader(http.StatusForbidden)
		return metrics.Denied
	}
	v := make([]string, 4) // one allocation for the four headers
	v[0], v[1], v[2], v[3] = id.User.ID, id.User.Email, id.User.Name, strings.Join(id.User.Groups, ",")
	h["Remote-User"], h["Remote-Email"], h["Remote-Name"], h["Remote-Groups"] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
	w.WriteHeader(http.StatusOK)
	return metrics.Allowed
}

// forwardIdentity checks the forwarded request's bearer token or session
// cookie. A session that still owes a step (the second factor, or an
// enrolment the policy requires) is not signed in here. An Authorization
// header that is not Bearer belongs to the app behind the proxy (its own
// Basic auth, say): the cookie decides. A refused bearer credential is a
// *bearerError, unwrapped.
func (s *Server) forwardIdentity(r *http.Request) (*auth.Identity, error) {
	switch token, cred := bearerToken(r); cred {
	case badBearer:
		return nil, errBearerMalformed
	case bearer:
		id, err := s.auth.AuthenticateBearer(r.Context(), token, s.client(r))
		if err != nil {
			return nil, refusedToken(err)
		}
		return id, nil
	}
	id, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	if s.auth.Pending(id) != auth.StepNone {
		return nil, errUnauthenticated
	}
	return id, nil
}
