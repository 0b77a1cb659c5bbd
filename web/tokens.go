package web

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/lacop/lacop"
)

// handleTokensIssue gives the signed-in session an access token and a
// refresh token; both die with the session.
func (s *Server) handleTokensIssue(w http.ResponseWriter, r *http.Request) {
	pair, err := s.auth.IssueTokens(r.Context(), identity(r), s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{
		"accessToken": pair.Access, "refreshToken": pair.Refresh, "tokenType": "Bearer",
		"expiresIn": int(pair.ExpiresIn.Seconds()),
	})
}

var (
	errGrantMissing     = lacop.Errorf(lacop.EINVALID, "grant_type is required.")
	errGrantUnsupported = lacop.Errorf(lacop.EUNSUPPORTEDGRANT, "Only the refresh_token grant is supported.")
	errRefreshMissing   = lacop.Errorf(lacop.EINVALID, "refresh_token is required.")
	errTokenMissing     = lacop.Errorf(lacop.EINVALID, "token is required.")
	errNotForm          = lacop.Errorf(lacop.EINVALID, "The body must be application/x-www-form-urlencoded.")
)

// oauthForm reads an OAuth endpoint's form body (RFC 6749 section 3.2:
// form-encoded, POST only; parameters in the query are not accepted, so
// tokens stay out of access logs).
func oauthForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return errNotForm
	}
	if err := parseForm(r); err != nil {
		return err
	}
	for _, name := range []string{"grant_type", "refresh_token", "token", "token_type_hint"} {
		if len(r.PostForm[name]) > 1 {
			return lacop.Errorf(lacop.EINVALID, "%s is repeated.", name)
		}
	}
	return nil
}

// handleOAuthToken is the token endpoint: grant_type=refresh_token rotates
// the refresh token and returns a new pair.
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	if s.forApps(w, r) {
		return
	}
	noStore(w)
	w.Header().Set("Pragma", "no-cache")
	if err := oauthForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	switch grant := r.PostForm.Get("grant_type"); {
	case grant == "":
		s.error(w, r, errGrantMissing)
		return
	case grant != "refresh_token":
		s.error(w, r, errGrantUnsupported)
		return
	}
	refresh := r.PostForm.Get("refresh_token")
	if refresh == "" {
		s.error(w, r, errRefreshMissing)
		return
	}
	pair, err := s.auth.Refresh(r.Context(), refresh, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{
		"access_token": pair.Access, "refresh_token": pair.Refresh, "token_type": "Bearer",
		"expires_in": int(pair.ExpiresIn.Seconds()),
	})
}

// handleOAuthRevoke is RFC 7009 revocation: 200 whether the token was
// valid, unknown or malformed, so the answer reveals nothing.
func (s *Server) handleOAuthRevoke(w http.ResponseWriter, r *http.Request) {
	if s.forApps(w, r) {
		return
	}
	noStore(w)
	w.Header().Set("Pragma", "no-cache")
	if err := oauthForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		s.error(w, r, errTokenMissing)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), token, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleJWKS publishes the public keys that verify access tokens.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	if s.cfg.Apps != nil {
		w.Write(s.cfg.Apps.MergeJWKS(r.Context(), s.auth.JWKS()))
		return
	}
	w.Write(s.auth.JWKS())
}

// credential is what a request's Authorization header offers lacop.
type credential int

const (
	// noBearer: no Authorization header, or a scheme lacop does not take
	// (an app's own Basic auth behind forward-auth, say). RFC 6750 3.1
	// treats an unsupported method like no credentials: the cookie decides.
	noBearer credential = iota
	// bearer: "Bearer" and one well-formed token.
	bearer
	// badBearer: "Bearer" with no token, more than one part, characters
	// outside b64token, or beside another Authorization header. It is
	// judged alone, like a bearer token: 400 invalid_request.
	badBearer
)

// bearerToken reads an "Authorization: Bearer" header: credentials =
// "Bearer" 1*SP b64token (RFC 6750 2.1), the scheme in any case (RFC 9110
// 11.1). It does not allocate.
func bearerToken(r *http.Request) (string, credential) {
	values := r.Header["Authorization"]
	token, cred := "", noBearer
	for _, v := range values {
		scheme, rest := v, ""
		if i := strings.IndexAny(v, " \t"); i >= 0 {
			scheme, rest = v[:i], v[i:]
		}
		if !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		if len(values) > 1 || rest == "" || rest[0] != ' ' {
			return "", badBearer
		}
		token = strings.TrimLeft(rest, " ")
		if !b64token(token) {
			return "", badBearer
		}
		cred = bearer
	}
	return token, cred
}

// b64token reports whether t is RFC 6750's b64token: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(t string) bool {
	n := len(strings.TrimRight(t, "="))
	if n == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if !b64tokenByte[t[i]] {
			return false
		}
	}
	return true
}

// b64tokenByte marks the bytes of a b64token before its padding. It is
// never modified.
var b64tokenByte = func() (set [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") {
		set[c] = true
	}
	return set
}()

// bearerError is a refused bearer credential. code is its RFC 6750 3.1
// error code, which the answer's WWW-Authenticate challenge names.
type bearerError struct {
	code string
	err  error
}

func (e *bearerError) Error() string { return "bearer " + e.code + ": " + e.err.Error() }
func (e *bearerError) Unwrap() error { return e.err }

// RFC 6750 3.1 error codes.
const (
	bearerInvalidRequest = "invalid_request"
	bearerInvalidToken   = "invalid_token"
)

var (
	errBearerMalformed = &bearerError{bearerInvalidRequest, lacop.Errorf(lacop.EINVALID,
		`The Authorization header must be "Bearer" followed by one access token.`)}
	// errBearerMalformedNginx is errBearerMalformed for nginx's
	// auth_request, which turns any answer but 200, 401 and 403 into 500.
	errBearerMalformedNginx = &bearerError{bearerInvalidRequest, lacop.Errorf(lacop.EUNAUTHENTICATED,
		`The Authorization header must be "Bearer" followed by one access token.`)}
)

// refusedToken marks an error of AuthenticateBearer as a refusal of the
// token (invalid_token); a store that cannot answer stays what it is.
func refusedToken(err error) error {
	if lacop.ErrorCode(err) != lacop.EUNAUTHENTICATED {
		return err
	}
	return &bearerError{bearerInvalidToken, err}
}

// apiSessionOrBearer is apiSession that also accepts an access token in
// "Authorization: Bearer". A request with a Bearer header is judged by it
// alone; any other Authorization header is not lacop's, and the cookie
// decides.
func (s *Server) apiSessionOrBearer(h http.HandlerFunc) http.HandlerFunc {
	cookie := s.apiSession(h)
	return func(w http.ResponseWriter, r *http.Request) {
		token, cred := bearerToken(r)
		switch cred {
		case noBearer:
			cookie(w, r)
			return
		case badBearer:
			noStore(w)
			s.error(w, r, errBearerMalformed)
			return
		}
		noStore(w)
		id, err := s.auth.AuthenticateBearer(r.Context(), token, s.client(r))
		if err != nil {
			s.error(w, r, refusedToken(err))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}
