package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/reqid"
)

var (
	errCrossOrigin      = lacop.Errorf(lacop.EFORBIDDEN, "Cross-origin request refused.")
	errMalformedJSON    = lacop.Errorf(lacop.EINVALID, "The request body is not valid JSON.")
	errBodyTooLarge     = &lacop.Error{Code: codeTooLarge, Message: "The request body is too large."}
	errNotFound         = lacop.Errorf(lacop.ENOTFOUND, "Not found.")
	errMethodNotAllowed = &lacop.Error{Code: codeMethodNotAllowed, Message: "Method not allowed."}
)

// Codes the web layer adds to the domain's.
const (
	codeTooLarge         = "request_too_large"
	codeMethodNotAllowed = "method_not_allowed"
)

// statuses maps error codes to HTTP statuses. It is the only place that
// does so.
var statuses = map[string]int{
	lacop.EINVALID:            http.StatusBadRequest,
	lacop.EUNAUTHENTICATED:    http.StatusUnauthorized,
	lacop.EINVALIDCREDENTIALS: http.StatusUnauthorized,
	lacop.EFORBIDDEN:          http.StatusForbidden,
	lacop.ENOTFOUND:           http.StatusNotFound,
	codeMethodNotAllowed:      http.StatusMethodNotAllowed,
	lacop.ECONFLICT:           http.StatusConflict,
	codeTooLarge:              http.StatusRequestEntityTooLarge,
	lacop.EWEAKPASSWORD:       http.StatusUnprocessableEntity,
	lacop.ETOOMANYATTEMPTS:    http.StatusTooManyRequests,
	lacop.EINVALIDCODE:        http.StatusUnauthorized,
	lacop.ESECONDFACTOR:       http.StatusUnauthorized,
	lacop.EENROLREQUIRED:      http.StatusForbidden,
	lacop.EINVALIDGRANT:       http.StatusBadRequest,
	lacop.EUNSUPPORTEDGRANT:   http.StatusBadRequest,
	lacop.EINTERNAL:           http.StatusInternalServerError,
	lacop.EUNAVAILABLE:        http.StatusServiceUnavailable,
}

// errorStatus returns the status for err's code.
func errorStatus(err error) int {
	if errors.Is(err, auth.ErrWrongPassword) {
		// A signed-in person mistyping their own password is still signed
		// in: 403, so clients do not take it for a lost session.
		return http.StatusForbidden
	}
	if status, ok := statuses[lacop.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// error answers with err: RFC 6749's {"error","error_description"} at the
// OAuth endpoints, lacop's JSON {"error","message"} at other API paths, an
// error page elsewhere. Internal details are logged, never sent.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorHead(w, r, err)
	switch {
	case oauthEndpoint(r):
		s.json(w, status, map[string]string{"error": oauthCode(code), "error_description": lacop.ErrorMessage(err)})
	case isAPI(r) || strings.Contains(r.Header.Get("Accept"), "application/json"):
		s.json(w, status, map[string]string{"error": code, "message": lacop.ErrorMessage(err)})
	default:
		s.render(w, r, status, "error.html", pageData{Title: http.StatusText(status), Error: lacop.ErrorMessage(err)})
	}
}

// errorHead does what every error answer shares, whatever its body: the
// status from the one table, the log line for a failure of ours,
// Retry-After for a throttled or unavailable answer, the challenge every
// 401 must carry (RFC 9110 15.5.2) and the one a refused bearer credential
// gets whatever its status (RFC 6750 3), and no caching of an OAuth
// endpoint's refusal (RFC 6749 5.2).
func (s *Server) errorHead(w http.ResponseWriter, r *http.Request, err error) (code string, status int) {
	code, status = lacop.ErrorCode(err), errorStatus(err)
	if status >= 500 {
		s.logger.Error("request failed", "method", r.Method, "path", loggedPath(r.URL.Path), "code", code, "err", err,
			"request_id", reqid.From(r.Context()))
	}
	h := w.Header()
	var throttled *auth.Throttled
	switch {
	case errors.As(err, &throttled):
		h.Set("Retry-After", retryAfter(throttled))
	case code == lacop.EUNAVAILABLE:
		h.Set("Retry-After", "5")
		s.cfg.Metrics.Unavailable()
	}
	var refused *bearerError
	switch {
	case errors.As(err, &refused):
		h.Set("WWW-Authenticate", bearerChallenge(refused.code, lacop.ErrorMessage(err)))
	case status == http.StatusUnauthorized:
		h["Www-Authenticate"] = challengeValue
	}
	if oauthEndpoint(r) {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	return code, status
}

// challengeValue is the challenge of a 401 to a request that brought no
// credential lacop takes: no error code (RFC 6750 3.1). Shared, never
// modified, so the anonymous forward-auth answer allocates nothing for it.
var challengeValue = []string{`Bearer realm="lacop"`}

// bearerChallenge is the challenge for a refused bearer credential: its
// RFC 6750 error code and, as error_description, the message, kept to the
// characters that attribute allows (%x20-21 / %x23-5B / %x5D-7E).
// loggedPath is a request path as the log may keep it: a one-time link's
// token (/reset/TOKEN, /verify-email/TOKEN) is as good as a password and never written down.
func loggedPath(p string) string {
	for _, link := range []string{"/reset/", "/verify-email/", "/not-me/"} {
		if strings.HasPrefix(p, link) {
			return link + "…"
		}
	}
	return p
}

func bearerChallenge(code, description string) string {
	clean := strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return -1
		}
		return c
	}, description)
	return `Bearer realm="lacop", error="` + code + `", error_description="` + clean + `"`
}

// oauthEndpoint reports whether r is for an endpoint that answers in RFC
// 6749's error format: the token and revocation endpoints (RFC 7009 2.2.1
// uses the same format).
func oauthEndpoint(r *http.Request) bool {
	return r.URL.Path == "/oauth/token" || r.URL.Path == "/oauth/revoke"
}

// oauthCodes are the codes an OAuth client knows (RFC 6749 5.2, RFC 7009
// 2.2.1); they go out as they are.
var oauthCodes = map[string]bool{
	lacop.EINVALID: true, lacop.EINVALIDGRANT: true, lacop.EUNSUPPORTEDGRANT: true,
	"invalid_client": true, "unauthorized_client": true, "invalid_scope": true, "unsupported_token_type": true,
}

// oauthCode turns lacop's code into one an OAuth client knows: a refusal
// before the endpoint's own checks (cross-origin, wrong method, a body too
// large) is a malformed request; a failure of ours is server_error or
// temporarily_unavailable, as RFC 6749 4.1.2.1 names them.
func oauthCode(code string) string {
	switch {
	case oauthCodes[code]:
		return code
	case code == lacop.EUNAVAILABLE:
		return "temporarily_unavailable"
	case code == lacop.EINTERNAL:
		return "server_error"
	}
	return lacop.EINVALID
}

// notFound answers every request no route matched: 405 with Allow when the
// path exists for other methods, 404 otherwise.
func (s *Server) notFound(mux *http.ServeMux) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.error(w, r, errMethodNotAllowed)
			return
		}
		s.error(w, r, errNotFound)
	}
}

// retryAfter is the Retry-After value for a throttled attempt: whole
// seconds until the ban ends, at least 1.
func retryAfter(t *auth.Throttled) string {
	return strconv.Itoa(max(1, int(math.Ceil(time.Until(t.Until).Seconds()))))
}
