package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/mail"
	"github.com/lacop/lacop/oidc"
	"github.com/lacop/lacop/outbox"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
)

// openApps makes lacop an OpenID Connect provider when apps are configured,
// and ties their grants to sessions: every command that ends sessions (the
// CLI's too) ends the grants and queues the apps' logouts.
func (m *Main) openApps(ctx context.Context, hasher *password.Hasher, sealer *seal.Sealer) error {
	if len(m.Config.OIDC.Clients) == 0 {
		return nil
	}
	p, err := oidc.New(ctx, oidc.Config{
		Issuer:     strings.TrimSuffix(m.Config.PublicURL, "/"),
		Clients:    m.Config.OIDC.Clients,
		AccessTTL:  m.Config.Tokens.AccessTTL,
		RefreshTTL: m.Config.Tokens.RefreshTTL,
	}, m.Auth, m.backend.apps, hasher, sealer, m.Logger)
	if err != nil {
		return err
	}
	m.Apps = p
	m.Auth.Apps = auth.Apps{Store: m.backend.apps, Logouts: p.Logouts, Queued: m.wakeOutbox}
	return nil
}

// appsOutbox is the outbox the admin panel shows: nil without apps.
func (m *Main) appsOutbox() lacop.OutboxStore {
	if m.Apps == nil {
		return nil
	}
	return m.backend.outbox
}

// wakeOutbox sends new deliveries at once when this process runs a sender;
// otherwise (the CLI) the serving instances find them on their next poll.
func (m *Main) wakeOutbox() {
	if m.Outbox != nil {
		m.Outbox.Wake()
	}
}

// runOutbox sends the outbox's deliveries until ctx ends: one sender per
// instance, each delivery worked by one at a time (a lease).
func (m *Main) runOutbox(ctx context.Context) {
	handlers, timeouts := map[string]outbox.Handler{}, map[string]time.Duration{}
	if m.Apps != nil {
		handlers[oidc.KindBackchannelLogout] = func(ctx context.Context, d *lacop.Delivery) error {
			permanent, err := m.Apps.SendLogout(ctx, d)
			if permanent {
				return outbox.Permanent(err)
			}
			return err
		}
	}
	if m.Mailer != nil {
		handlers[mail.Kind] = m.sendMail
		// A mail server takes longer than an app's logout endpoint: the
		// dial, TLS, a login and the message.
		timeouts[mail.Kind] = 15 * time.Second
	}
	if len(handlers) == 0 {
		return
	}
	m.Outbox = &outbox.Sender{
		Store:       m.backend.outbox,
		Handlers:    handlers,
		Timeout:     5 * time.Second,
		KindTimeout: timeouts,
		MaxAge:      m.Config.OIDC.BackchannelRetry,
		Logger:      m.Logger,
		OnGiveUp: func(ctx context.Context, d *lacop.Delivery, lastErr string) {
			switch d.Kind {
			case oidc.KindBackchannelLogout:
				m.Apps.LogoutFailed(ctx, d, lastErr)
			case mail.Kind:
				m.mailFailed(ctx, d, lastErr)
			}
		},
	}
	if err := m.Outbox.Run(ctx); err != nil && ctx.Err() == nil {
		m.Logger.Error("outbox sender stopped", "err", err)
	}
}

// sweepApps ends, every second, the grants of sessions that ran out or
// vanished without an end that told their apps; so an expiry reaches the
// apps within a second or two.
func (m *Main) sweepApps(ctx context.Context) {
	if m.Apps == nil {
		return
	}
	every(ctx, time.Second, func() {
		if _, err := m.Auth.SweepApps(ctx); err != nil {
			m.warnUnlessEnded(ctx, "sweep app grants", err)
		}
	})
}

// pruneApps drops expired requests and tokens, and failed deliveries kept
// a week for admins to see.
func (m *Main) pruneApps(ctx context.Context) {
	if m.Apps == nil {
		return
	}
	now := m.Auth.Now()
	if err := m.backend.apps.PruneApps(ctx, now); err != nil {
		m.warnUnlessEnded(ctx, "prune app tokens", err)
	}
	if err := m.backend.outbox.PruneDeliveries(ctx, now.Add(-7*24*time.Hour)); err != nil {
		m.warnUnlessEnded(ctx, "prune failed deliveries", err)
	}
}

// appOrigins are the origins the apps' redirect URIs point to.
func (m *Main) appOrigins() []string {
	var out []string
	for _, c := range m.Config.OIDC.Clients {
		for _, u := range append(slices.Clone(c.RedirectURIs), c.PostLogoutRedirectURIs...) {
			if p, err := url.Parse(u); err == nil && p.Host != "" {
				o := p.Scheme + "://" + p.Host
				if !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		}
	}
	return out
}
