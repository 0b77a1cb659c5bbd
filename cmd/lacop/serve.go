package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop/access"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/connlimit"
	"github.com/lacop/lacop/metrics"
	"github.com/lacop/lacop/oplog"
	"github.com/lacop/lacop/redirect"
	"github.com/lacop/lacop/web"
)

func (m *Main) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the portal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Configure(cmd); err != nil {
				return err
			}
			// Bind before anything is written: a start that fails here (the
			// port is taken, by another lacop perhaps) must leave alone
			// what a running instance depends on, its setup link first.
			ln, err := m.listen()
			if err != nil {
				return err
			}
			defer ln.Close()
			m.serving = true
			if err := m.OpenService(cmd.Context()); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return m.Run(ctx, ln)
		},
	}
}

// Run serves the portal on ln until ctx is cancelled, then shuts down
// gracefully.
func (m *Main) Run(ctx context.Context, ln *connlimit.Listener) error {
	publicURL, err := url.Parse(m.Config.PublicURL)
	if err != nil {
		return fmt.Errorf("public_url: %w", err)
	}
	redirects, err := redirect.New(m.Config.PublicURL, m.Config.Redirect.AllowedDomains)
	if err != nil {
		return err
	}
	rules := make([]access.Rule, len(m.Config.AccessControl.Rules))
	for i, r := range m.Config.AccessControl.Rules {
		rules[i] = access.Rule{Domain: r.Domain, Policy: r.Policy, Groups: r.Groups, Resources: r.Resources}
	}
	accessRules, err := access.New(m.Config.AccessControl.DefaultPolicy, rules)
	if err != nil {
		return err
	}
	// Every event recorded from here on is counted (the audit store is
	// the one place they all pass); forward-auth counts its decisions.
	met := metrics.New()
	m.Auth.Audit = oplog.Audit(met.Audit(m.Auth.Audit), m.Logger)
	if c := m.backend.sessionCache; c != nil {
		met.Register(
			metrics.CounterFunc("lacop_session_cache_hits_total", "Session look-ups (cookie checks) answered from memory.",
				func() float64 { h, _ := c.Stats(); return float64(h) }),
			metrics.CounterFunc("lacop_session_cache_misses_total", "Session look-ups (cookie checks) read from the store.",
				func() float64 { _, mi := c.Stats(); return float64(mi) }))
	}
	srv, err := web.NewServer(web.Config{
		PublicURL:         publicURL,
		CookieDomain:      m.Config.Session.CookieDomain,
		TrustedProxies:    m.Config.Server.TrustedProxies,
		AllowedDomains:    m.Config.Redirect.AllowedDomains,
		MaxUnknownCookies: m.Config.Regulation.MaxUnknownCookies,
		Access:            accessRules,
		Apps:              m.Apps,
		Outbox:            m.appsOutbox(),
		AppOrigins:        m.appOrigins(),
		Metrics:           met,
		MetricsHere:       m.Config.Metrics.Listen == "",
		CORSOrigins:       m.Config.CORS.AllowedOrigins,
	}, m.Auth, redirects, m.backend.ping, m.Logger)
	if err != nil {
		return err
	}

	tlsConf, err := m.tlsConfig()
	if err != nil {
		return err
	}

	token, err := m.Auth.PrepareSetup(ctx)
	if err != nil {
		return err
	} else if token != "" {
		fmt.Fprintf(m.Stdout, "lacop: no users yet. Create the first admin within 24h, once, at:\n  %s/setup?token=%s\n",
			publicURL.String(), url.QueryEscape(token))
	}

	go func() {
		// Ending because serving ends is no failure.
		if err := m.backend.relay.Run(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("session event relay stopped", "err", err)
		}
	}()
	if m.Peers != nil {
		go func() { _ = m.Peers.Run(ctx) }()
	}
	// News published before the relay listens is lost to this instance's
	// streams, so serving waits (briefly) until it listens.
	if r, ok := m.backend.relay.(interface{ Ready() <-chan struct{} }); ok {
		select {
		case <-r.Ready():
		case <-time.After(5 * time.Second):
			m.Logger.Warn("session event relay not listening yet; open streams learn of ended sessions on their next re-check")
		case <-ctx.Done():
			return nil
		}
	}

	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	// The metrics listener is bound before the portal says it listens, so
	// whoever reads that line finds both.
	if m.Config.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", m.Config.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics.listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", met.Handler())
		metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
		defer metricsServer.Close()
		fmt.Fprintf(m.Stdout, "lacop: metrics on http://%s/metrics\n", mln.Addr())
		go func() {
			if err := metricsServer.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	store := m.Config.Storage.Driver
	if store == "" {
		store = "sqlite"
	}
	if m.Config.Storage.RedisURL != "" {
		store += "+redis"
	}
	m.Logger.Info("lacop started", "version", version, "store", store, "listen", ln.Addr().String(),
		"public_url", m.Config.PublicURL, "apps", len(m.Config.OIDC.Clients), "access_rules", len(m.Config.AccessControl.Rules),
		"default_policy", m.Config.AccessControl.DefaultPolicy, "metrics", metricsWhere(m.Config.Metrics.Listen),
		"mail", m.Config.SMTP.URL != "", "cors_origins", len(m.Config.CORS.AllowedOrigins))
	// Tests and scripts read the actual address from this line.
	fmt.Fprintf(m.Stdout, "lacop: listening on %s://%s (public URL %s)\n", scheme, ln.Addr(), m.Config.PublicURL)

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConf,
		ConnState:         ln.ConnState,
	}
	hs.RegisterOnShutdown(srv.Close)
	go m.sweep(ctx)
	go m.sweepApps(ctx)
	go m.runOutbox(ctx)
	go m.reloadKeys(ctx)
	go m.Spool.Run(ctx)

	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- hs.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down", "grace", m.Config.Server.ShutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.Config.Server.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Events spooled while the audit store was away go in now if it is
	// back; otherwise they stay in the spool file for the next start.
	if err := m.Spool.Drain(shutdownCtx); err != nil {
		m.Logger.Warn("audit spool not drained; it is kept for the next start", "err", err)
	}
	return nil
}

// sweep removes expired sessions periodically, recording each as expired,
// and drops regulation counts and bans, and tokens and denylist entries,
// that no longer matter.
func (m *Main) sweep(ctx context.Context) {
	every(ctx, time.Minute, func() {
		if n, err := m.Auth.Sweep(ctx); err != nil {
			m.warnUnlessEnded(ctx, "sweep expired sessions", err)
		} else if n > 0 {
			m.Logger.Debug("swept expired sessions", "count", n)
		}
		if err := m.Auth.PruneRegulation(ctx); err != nil {
			m.warnUnlessEnded(ctx, "prune regulation", err)
		}
		if err := m.Auth.PruneTokens(ctx); err != nil {
			m.warnUnlessEnded(ctx, "prune tokens", err)
		}
		if err := m.Auth.Links.PruneLinks(ctx, m.Auth.Now()); err != nil {
			m.warnUnlessEnded(ctx, "prune links", err)
		}
		if err := m.Auth.Devices.PruneDevices(ctx, m.Auth.Now().Add(-auth.DeviceMaxAge)); err != nil {
			m.warnUnlessEnded(ctx, "prune devices", err)
		}
		m.pruneApps(ctx)
	})
}

// reloadKeys picks up signing keys added by lacop keys rotate or another
// instance, so the newest key signs everywhere within a second or two.
func (m *Main) reloadKeys(ctx context.Context) {
	every(ctx, time.Second, func() {
		if err := m.Auth.LoadKeys(ctx); err != nil {
			m.warnUnlessEnded(ctx, "reload signing keys", err)
		}
	})
}

// warnUnlessEnded logs err, unless it came from ctx ending: a task cut
// short at shutdown has not failed.
func (m *Main) warnUnlessEnded(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		m.Logger.Warn(msg, "err", err)
	}
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// metricsWhere says where /metrics is served, for the start line.
func metricsWhere(listen string) string {
	if listen == "" {
		return "main listener, this machine only"
	}
	return listen
}
