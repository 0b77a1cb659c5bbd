package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
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

func (o *original) path() string {
	p, _, _ := strings.Cut(o.uri, "?")
	return p
}

// validHost accepts host[:port]: a name or IPv4 address of the characters
// a host can have, or a bracketed IPv6 address, and a numeric port. Anything
// else (spaces, "@", "/", control characters, an empty host, a port that is
// not a number) is malformed.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	host, port := h, ""
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if ip, err := netip.ParseAddr(h[1:end]); err != nil || !ip.Is6() || ip.Zone() != "" {
			return false
		}
		switch rest := h[end+1:]; {
		case rest == "":
			return true
		case rest[0] != ':':
			return false
		default:
			return validPort(rest[1:])
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if !validPort(port) {
			return false
		}
	}
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validPort accepts 1 to 5 digits.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
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
// X-Forwarded-* headers.
func forwarded(r *http.Request) (*original, bool) {
	o := &original{
		method: r.Header.Get("X-Forwarded-Method"),
		scheme: strings.ToLower(r.Header.Get("X-Forwarded-Proto")),
		host:   r.Header.Get("X-Forwarded-Host"),
		uri:    r.Header.Get("X-Forwarded-Uri"),
	}
	if o.method == "" {
		o.method = http.MethodGet
	}
	ok := (o.scheme == "https" || o.scheme == "http") && validHost(o.host) && validURI(o.uri)
	return o, ok
}

// originalURL reads the original request from nginx's X-Original-URL.
func originalURL(r *http.Request) (*original, bool) {
	raw := r.Header.Get("X-Original-URL")
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return nil, false
	}
	o := &original{method: r.Header.Get("X-Original-Method"), scheme: strings.ToLower(u.Scheme), host: u.Host, uri: u.RequestURI()}
	if o.method == "" {
		o.method = http.MethodGet
	}
	if u.Path == "" {
		o.uri = "/" + strings.TrimPrefix(o.uri, "/")
	}
	ok := (o.scheme == "https" || o.scheme == "http") && validHost(o.host) && validURI(o.uri)
	return o, ok
}

// handleForwardAuth answers Traefik's and Caddy's forward-auth: 200 with
// the Remote-* headers, 302 to the login page for a browser that must sign
// in, 401 for anything else that must, 403 when signed in but not allowed.
func (s *Server) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	o, ok := forwarded(r)
	if !ok {
		noStore(w)
		w.Header()["X-Content-Type-Options"] = nosniffValue
		s.error(w, r, errForwardedHeaders)
		return
	}
	s.authorize(w, r, o, true)
}

// handleAuthRequest answers nginx's auth_request, which understands only
// 200, 401 and 403: nginx itself sends a 401 to the login page.
func (s *Server) handleAuthRequest(w http.ResponseWriter, r *http.Request) {
	o, ok := originalURL(r)
	if !ok {
		noStore(w)
		w.Header()["X-Content-Type-Options"] = nosniffValue
		s.error(w, r, errOriginalURL)
		return
	}
	s.authorize(w, r, o, false)
}

// authorize decides one forwarded request. It reads the session (or checks
// the token), never writes beyond the periodic activity touch, never sets
// a cookie, and logs nothing per request at info level.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, o *original, redirect bool) {
	h := w.Header()
	h["Cache-Control"] = noStoreValue
	h["X-Content-Type-Options"] = nosniffValue
	host, path := o.host, o.path()
	// The rules as far as they can be read without knowing who asks:
	// bypass and deny need no credentials.
	switch s.cfg.Access.Decide(host, path, nil) {
	case access.Bypass:
		w.WriteHeader(http.StatusOK)
		return
	case access.Deny:
		w.WriteHeader(http.StatusForbidden)
		return
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
		return
	case lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED:
		login := s.loginURL + url.QueryEscape(o.url())
		if redirect && (o.method == http.MethodGet || o.method == http.MethodHead) &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			h.Set("Location", login)
			w.WriteHeader(http.StatusFound)
			return
		}
		if !redirect {
			// nginx cannot escape the original URL itself; it takes this
			// with auth_request_set and redirects to it on 401.
			h.Set("Login-URL", login)
		}
		h["Www-Authenticate"] = challengeValue
		w.WriteHeader(http.StatusUnauthorized)
		return
	default:
		// Throttled (429) or a store that cannot answer (503): never 200.
		s.error(w, r, err)
		return
	}

	policy := s.cfg.Access.Decide(host, path, &access.Subject{Groups: id.User.Groups})
	if policy == access.Deny || policy == access.TwoFactor && id.Session.AuthLevel < lacop.AuthLevelTwoFactor {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	v := make([]string, 4) // one allocation for the four headers
	v[0], v[1], v[2], v[3] = id.User.ID, id.User.Email, id.User.Name, strings.Join(id.User.Groups, ",")
	h["Remote-User"], h["Remote-Email"], h["Remote-Name"], h["Remote-Groups"] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
	w.WriteHeader(http.StatusOK)
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
