package web

import (
	"net/http"
	"slices"
)

// corsPaths are the routes a browser app on a listed origin may call, with
// the method it calls each with: refreshing and revoking its tokens, and
// reading the keys and the discovery document. Nothing that reads the
// session cookie is among them, and no answer allows credentials.
var corsPaths = map[string]string{
	"/oauth/token":                      http.MethodPost,
	"/oauth/revoke":                     http.MethodPost,
	"/.well-known/jwks.json":            http.MethodGet,
	"/.well-known/openid-configuration": http.MethodGet,
}

// corsAllowed reports whether origin is one cors.allowed_origins lists.
func (s *Server) corsAllowed(origin string) bool {
	return origin != "" && slices.Contains(s.cfg.CORSOrigins, origin)
}

// withCORS lets a listed origin read h's answer: the origin is echoed (never
// "*"), Vary: Origin keeps caches from mixing answers, and credentials are
// never allowed. Another origin's request is answered as before, without
// the headers, so its browser keeps the answer from it.
func (s *Server) withCORS(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); s.corsAllowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		}
		h(w, r)
	}
}

// handlePreflight answers a CORS preflight (OPTIONS) for the CORS routes:
// 204 with what a listed origin may send, or 403 with no CORS headers for
// any other origin (its browser then sends nothing).
func (s *Server) handlePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	origin, method := r.Header.Get("Origin"), corsPaths[r.URL.Path]
	if !s.corsAllowed(origin) || r.Header.Get("Access-Control-Request-Method") != method {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", method)
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
