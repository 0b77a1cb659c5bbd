package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/config"
	"github.com/lacop/lacop/postgres"
	"github.com/lacop/lacop/redis"
	"github.com/lacop/lacop/sessioncache"
	"github.com/lacop/lacop/spool"
	"github.com/lacop/lacop/sqlite"
)

// relay is a Notifier that also carries news between processes while Run
// runs: the SQLite table poller, PostgreSQL LISTEN/NOTIFY, Redis pub/sub.
type relay interface {
	lacop.Notifier
	Run(ctx context.Context) error
}

// backend is what the configured storage gives the program: every store,
// the relay, a readiness check over every service behind them, and what to
// close.
type backend struct {
	stores  auth.Stores
	relay   relay
	pings   []func(context.Context) error
	closers []func() error
	// apps and outbox live in the SQL store (never Redis): the grants of
	// apps and the deliveries that must not be lost.
	apps   lacop.AppStore
	outbox lacop.OutboxStore
	// shared is true when several machines may share the stores; then a
	// process caches only through leases (sharedCache), never through the
	// mapped epoch, which is one machine's file.
	shared bool
	// leases keep the shared caches coherent: in Redis when there is one
	// (beside the bus it uses), else in PostgreSQL.
	leases lacop.CacheLeaseStore
	// sessionCache is the cache in front of the stores, nil when none:
	// serve reports its hits and misses.
	sessionCache *sessioncache.Cache
}

// openBackend opens the configured stores: SQLite or PostgreSQL for
// everything, and Redis, when configured, for sessions, the denylist,
// regulation counters and notifications in front of either.
func (m *Main) openBackend(ctx context.Context) (*backend, error) {
	b := &backend{}
	if err := b.openSQL(ctx, m); err != nil {
		return nil, errors.Join(err, b.close())
	}
	if url := m.Config.Storage.RedisURL; url != "" {
		redis.LogTo(m.Logger)
		rc, err := redis.Open(ctx, url, m.Config.Storage.RedisPrefix)
		if err != nil {
			return nil, errors.Join(err, b.close())
		}
		b.closers = append(b.closers, rc.Close)
		if unchecked, err := rc.CheckConfig(ctx); err != nil {
			return nil, errors.Join(err, b.close())
		} else if unchecked {
			m.Logger.Warn("cannot read Redis's configuration (CONFIG not allowed); make sure appendonly is yes and maxmemory-policy is noeviction, " +
				"or ended sessions and revoked tokens may work again after a Redis restart or an eviction")
		}
		b.pings = append(b.pings, rc.Ping)
		b.stores.Sessions = redis.NewSessionStore(rc)
		reg := redis.NewRegulationStore(rc)
		// Failures must outlive the window they are counted in, and bans
		// their own end, however long the configuration makes them.
		reg.Keep = max(reg.Keep, m.Config.Regulation.Window+m.Config.Regulation.Ban+time.Hour)
		b.stores.Regulation = reg
		b.stores.Tokens = redis.NewTokenStore(rc, b.stores.Tokens)
		n := redis.NewNotifier(rc, m.Logger)
		b.stores.Notify, b.relay = n, n
		b.shared = true
		b.leases = redis.NewCacheLeases(rc)
	}
	return b, nil
}

func (b *backend) openSQL(ctx context.Context, m *Main) error {
	switch m.Config.Storage.Driver {
	case config.DriverPostgres:
		db, err := postgres.Open(ctx, m.Config.Storage.PostgresURL)
		if err != nil {
			return err
		}
		b.closers = append(b.closers, db.Close)
		b.pings = append(b.pings, db.Ping)
		n := postgres.NewNotifier(db, m.Logger)
		b.stores = auth.Stores{
			Users: postgres.NewUserStore(db), Sessions: postgres.NewSessionStore(db), Audit: postgres.NewAuditStore(db),
			Setup: postgres.NewSetupStore(db), SecondFactors: postgres.NewSecondFactorStore(db),
			Regulation: postgres.NewRegulationStore(db), Tokens: postgres.NewTokenStore(db), Keys: postgres.NewKeyStore(db),
			Notify: n, Links: postgres.NewLinkStore(db), Devices: postgres.NewDeviceStore(db), Passkeys: postgres.NewPasskeyStore(db),
		}
		b.apps, b.outbox = postgres.NewAppStore(db), postgres.NewOutboxStore(db)
		b.relay = n
		b.shared = true
		b.leases = postgres.NewCacheLeases(db)
	case config.DriverSQLite:
		db, err := sqlite.Open(ctx, filepath.Join(m.Config.DataDir, "lacop.db"))
		if err != nil {
			return err
		}
		b.closers = append(b.closers, db.Close)
		b.pings = append(b.pings, db.Ping)
		n := sqlite.NewNotifier(db, m.Logger)
		b.stores = auth.Stores{
			Users: sqlite.NewUserStore(db), Sessions: sqlite.NewSessionStore(db), Audit: sqlite.NewAuditStore(db),
			Setup: sqlite.NewSetupStore(db), SecondFactors: sqlite.NewSecondFactorStore(db),
			Regulation: sqlite.NewRegulationStore(db), Tokens: sqlite.NewTokenStore(db), Keys: sqlite.NewKeyStore(db),
			Notify: n, Links: sqlite.NewLinkStore(db), Devices: sqlite.NewDeviceStore(db), Passkeys: sqlite.NewPasskeyStore(db),
		}
		b.apps, b.outbox = sqlite.NewAppStore(db), sqlite.NewOutboxStore(db)
		b.relay = n
	default:
		return fmt.Errorf("storage driver %q is not known", m.Config.Storage.Driver)
	}
	return nil
}

// cache puts the session cache in front of the stores read on every
// request, when one machine holds them all. Every process on this data
// directory (serve and the CLI beside it) shares the epoch that invalidates
// the cache, so a change made anywhere on the machine is seen at once. With
// PostgreSQL or Redis another machine can end a session, and its change
// must be refused here on the very next request: no cache then. Where the
// platform has no shared mappings, no process caches. Where it has, failing
// to open the epoch is fatal: another process may be caching, and this
// one's changes must reach it.
func (b *backend) cache(dataDir string) (*sessioncache.FileEpoch, error) {
	if b.shared {
		return nil, nil
	}
	epoch, err := sessioncache.OpenFileEpoch(filepath.Join(dataDir, "cache.epoch"))
	switch {
	case errors.Is(err, sessioncache.ErrNoSharedEpoch):
		return nil, nil
	case err != nil:
		return nil, err
	}
	c := sessioncache.New(epoch, sessioncache.DefaultSize)
	b.sessionCache = c
	s := &b.stores
	s.Users, s.Sessions = c.Users(s.Users), c.Sessions(s.Sessions)
	s.SecondFactors, s.Tokens = c.SecondFactors(s.SecondFactors), c.Tokens(s.Tokens)
	s.Passkeys = c.Passkeys(s.Passkeys)
	b.closers = append(b.closers, epoch.Close)
	return epoch, nil
}

// sharedCache puts the session cache in front of the shared stores, kept
// coherent with every other instance and CLI process by leases and
// acknowledged invalidations (sessioncache.Peers). hold is true for serve,
// which caches and so holds a lease; the CLI caches nothing but its
// changes still wait until every instance has dropped what they change.
// A cached session is served only while its recorded activity is younger
// than fresh, since other instances record activity too. The returned
// Peers must run (Peers.Run) for the cache to be served and for changes to
// be acknowledged promptly.
func (b *backend) sharedCache(hold bool, fresh time.Duration, logger *slog.Logger) *sessioncache.Peers {
	if !b.shared || b.leases == nil {
		return nil
	}
	epoch := &sessioncache.LocalEpoch{}
	peers := sessioncache.NewPeers(b.leases, epoch, hold, logger)
	c := sessioncache.Shared(epoch, sessioncache.DefaultSize, peers, fresh)
	b.sessionCache = c
	s := &b.stores
	s.Users, s.Sessions = c.Users(s.Users), c.Sessions(s.Sessions)
	s.SecondFactors, s.Tokens = c.SecondFactors(s.SecondFactors), c.Tokens(s.Tokens)
	s.Passkeys = c.Passkeys(s.Passkeys)
	return peers
}

// spool lets audit events outlive an audit store that cannot be reached:
// they wait in the data directory and reach the store when it answers.
func (b *backend) spool(dataDir string, m *Main) (*spool.AuditStore, error) {
	s, err := spool.New(b.stores.Audit, filepath.Join(dataDir, "audit.spool"), m.Logger)
	if err != nil {
		return nil, err
	}
	b.stores.Audit = s
	return s, nil
}

// ping reports whether every service behind the stores answers.
func (b *backend) ping(ctx context.Context) error {
	for _, p := range b.pings {
		if err := p(ctx); err != nil {
			return err
		}
	}
	return nil
}

// close closes what was opened, last first.
func (b *backend) close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}
