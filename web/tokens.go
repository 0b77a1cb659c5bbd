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
	noStore(w)
	w.Header().Set("Pragma", "no-cache")
	if err := oauthForm(r); err != nil {
		s.oauthError(w, r, err)
		return
	}
	switch grant := r.PostForm.Get("grant_type"); {
	case grant == "":
		s.oauthError(w, r, errGrantMissing)
		return
	case grant != "refresh_token":
		s.oauthError(w, r, errGrantUnsupported)
		return
	}
	refresh := r.PostForm.Get("refresh_token")
	if refresh == "" {
		s.oauthError(w, r, errRefreshMissing)
		return
	}
	pair, err := s.auth.Refresh(r.Context(), refresh, s.client(r))
	if err != nil {
		s.oauthError(w, r, err)
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
	noStore(w)
	if err := oauthForm(r); err != nil {
		s.oauthError(w, r, err)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		s.oauthError(w, r, errTokenMissing)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), token, s.client(r)); err != nil {
		s.oauthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// oauthError answers in RFC 6749's error format: {"error",
// "error_description"}, with the status from the one status table.
func (s *Server) oauthError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorHead(w, r, err)
	s.json(w, status, map[string]string{"error": code, "error_description": lacop.ErrorMessage(err)})
}

// handleJWKS publishes the public keys that verify access tokens.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(s.auth.JWKS())
}

// bearerToken returns the token of an "Authorization: Bearer" header, and
// whether the request has an Authorization header at all.
func bearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// apiSessionOrBearer is apiSession that also accepts an access token in
// "Authorization: Bearer". A request with an Authorization header is judged
// by it alone.
func (s *Server) apiSessionOrBearer(h http.HandlerFunc) http.HandlerFunc {
	cookie := s.apiSession(h)
	return func(w http.ResponseWriter, r *http.Request) {
		token, present := bearerToken(r)
		if !present {
			cookie(w, r)
			return
		}
		noStore(w)
		id, err := s.auth.AuthenticateBearer(r.Context(), token, s.client(r))
		if err != nil {
			if lacop.ErrorCode(err) == lacop.EUNAUTHENTICATED {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			s.error(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
}
