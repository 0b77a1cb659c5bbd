// Package web is lacop's HTTP side: the JSON API, the server-rendered pages
// and the proxy endpoints. Every route is listed in routes.go; errors become
// statuses in one place (error.go); session checks go through auth.
package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/metrics"
	"github.com/lacop/lacop/oidc"
	"github.com/lacop/lacop/redirect"
)

// Config is what the web layer needs from lacop's configuration.
type Config struct {
	// PublicURL is where people reach the portal; its scheme decides HSTS.
	PublicURL *url.URL
	// CookieDomain "" gives a host-only __Host- cookie; otherwise a shared
	// __Secure- cookie for that domain and its subdomains.
	CookieDomain string
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// AllowedDomains are the redirect domains, also allowed as form targets
	// in the content security policy.
	AllowedDomains []string
	// MaxUnknownCookies is how many unknown session cookies one address may
	// send per minute before its cookies are refused for a minute.
	MaxUnknownCookies int
	// Access holds the access_control rules forward-auth applies.
	Access *access.Rules
	// Apps is the OpenID Connect provider; nil when no app is configured.
	Apps *oidc.Provider
	// Outbox is where the apps' back-channel logouts wait, shown to admins;
	// nil when no app is configured.
	Outbox lacop.OutboxStore
	// AppOrigins are the origins of the apps' redirect URIs: a sign-in or
	// consent form ends in a redirect there, which form-action must allow.
	AppOrigins []string
	// Metrics counts forward-auth decisions and refusals for lack of a
	// store; nil counts nothing.
	Metrics *metrics.Metrics
	// CORSOrigins may call the token endpoints and read the keys and the
	// discovery document from a browser (cors.allowed_origins).
	CORSOrigins []string
	// MetricsHere serves GET /metrics on this server, to loopback clients
	// that came through no proxy; off when metrics.listen has a listener of
	// its own.
	MetricsHere bool
}

// Server serves lacop over HTTP.
type Server struct {
	auth      *auth.Service
	redirects *redirect.Policy
	logger    *slog.Logger
	cfg       Config
	// ready reports whether the stores answer; used by /readyz.
	ready func(context.Context) error

	// heartbeat is how often an idle event stream is pinged and re-checked.
	heartbeat time.Duration
	// closing is closed by Close so open event streams end at shutdown.
	closing   chan struct{}
	closeOnce sync.Once

	// guesses throttles addresses that keep sending unknown session cookies.
	guesses *guessLimiter
	// cookies remembers the session cookies seen live, so the throttle
	// never refuses them.
	cookies *cookieMemory

	cookieName string
	// loginURL is where forward-auth sends a browser that must sign in;
	// the original URL is appended, escaped.
	loginURL string
	csp      string
	pages    map[string]*template.Template
	handler  http.Handler
}

// NewServer builds the server and parses every template once.
func NewServer(cfg Config, a *auth.Service, redirects *redirect.Policy, ready func(context.Context) error, logger *slog.Logger) (*Server, error) {
	s := &Server{
		auth: a, redirects: redirects, logger: logger, cfg: cfg, ready: ready,
		cookieName: "__Host-lacop_session",
		heartbeat:  15 * time.Second,
		guesses:    newGuessLimiter(max(1, cfg.MaxUnknownCookies), time.Minute, a.Now),
		cookies:    newCookieMemory(a.Now),
		closing:    make(chan struct{}),
	}
	if cfg.CookieDomain != "" {
		s.cookieName = "__Secure-lacop_session"
	}
	if cfg.Access == nil {
		return nil, errors.New("web: no access rules")
	}
	s.loginURL = strings.TrimSuffix(cfg.PublicURL.String(), "/") + "/login?rd="
	formTargets := append([]string{"'self'"}, cfg.AppOrigins...)
	for _, d := range cfg.AllowedDomains {
		d = strings.TrimPrefix(strings.TrimPrefix(d, "*."), ".")
		formTargets = append(formTargets, "https://"+d, "https://*."+d)
	}
	s.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
		"form-action " + strings.Join(formTargets, " ")
	pages, err := parsePages(templateFuncs(a.Now))
	if err != nil {
		return nil, err
	}
	s.pages = pages

	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(cfg.PublicURL.Scheme + "://" + cfg.PublicURL.Host); err != nil {
		return nil, err
	}
	// An app's page may post its sign-out here (RP-initiated logout):
	// the handler decides itself, ending nothing a cross-site POST asks
	// for without lacop's own confirmation. Apps' servers call the token
	// endpoints with no Origin or Sec-Fetch-Site, which the protection lets
	// through; browsers on other origins stay refused there (CORS for
	// listed origins is its own change).
	cop.AddInsecureBypassPattern("POST /oauth/logout")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, errCrossOrigin)
	}))
	routes := s.routes()
	protected := cop.Handler(routes)
	// A listed browser app posts to the token endpoints from its own
	// origin; those endpoints take no cookie (the token is in the body),
	// so letting that origin past the cross-origin check gives it nothing
	// a cookie would. Every other route, and every other origin, keeps the
	// check.
	s.handler = s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corsPaths[r.URL.Path] != "" && s.corsAllowed(r.Header.Get("Origin")) {
			routes.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	}))
	return s, nil
}

// Close ends open event streams, so a graceful shutdown does not wait for
// them; their clients reconnect to another instance.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Forward-auth is asked about every request the proxy serves: it goes
	// straight to its handler, past the router and the page headers (its
	// answers are read by the proxy, never rendered). Any other method or
	// path takes the normal way, 405 and 404 included.
	if r.Method == http.MethodGet {
		switch r.URL.Path {
		case "/api/authz/forward-auth":
			s.handleForwardAuth(w, r)
			return
		case "/api/authz/auth-request":
			s.handleAuthRequest(w, r)
			return
		}
	}
	s.handler.ServeHTTP(w, r)
}

// isAPI reports whether r expects JSON rather than a page.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/oauth/")
}
