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

// error answers with err: JSON {"error","message"} for API paths, an error
// page elsewhere. Internal details are logged, never sent.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorHead(w, r, err)
	if isAPI(r) || strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.json(w, status, map[string]string{"error": code, "message": lacop.ErrorMessage(err)})
		return
	}
	s.render(w, r, status, "error.html", pageData{Title: http.StatusText(status), Error: lacop.ErrorMessage(err)})
}

// errorHead does what every error answer shares, whatever its body: the
// status from the one table, the log line for a failure of ours, and
// Retry-After for a throttled or unavailable answer.
func (s *Server) errorHead(w http.ResponseWriter, r *http.Request, err error) (code string, status int) {
	code, status = lacop.ErrorCode(err), errorStatus(err)
	if status >= 500 {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	var throttled *auth.Throttled
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", retryAfter(throttled))
	case code == lacop.EUNAVAILABLE:
		w.Header().Set("Retry-After", "5")
	}
	return code, status
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
