// Command lacop runs the lacop sign-in portal and manages its data. All
// wiring of stores, services and the web server happens here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/config"
	"github.com/lacop/lacop/mail"
	"github.com/lacop/lacop/oidc"
	"github.com/lacop/lacop/outbox"
	"github.com/lacop/lacop/passkey"
	"github.com/lacop/lacop/password"
	"github.com/lacop/lacop/seal"
	"github.com/lacop/lacop/sessioncache"
	"github.com/lacop/lacop/spool"
)

func main() {
	m := NewMain()
	err := m.Execute(context.Background(), os.Args[1:])
	m.Close()
	if err != nil {
		fmt.Fprintln(m.Stderr, "lacop:", err)
		os.Exit(1)
	}
}

// Main is the program: its configuration, its open resources and the
// service built on them.
type Main struct {
	Config config.Config
	// Epoch invalidates the session cache; nil when nothing is cached.
	Epoch *sessioncache.FileEpoch
	// Peers keeps the cache coherent across instances on shared stores;
	// nil on SQLite or with storage.shared_cache off.
	Peers *sessioncache.Peers
	// serving is set by serve before OpenService: this process caches.
	serving bool
	// Spool keeps audit events the audit store could not take.
	Spool  *spool.AuditStore
	Auth   *auth.Service
	Logger *slog.Logger
	// Apps is the OpenID Connect provider; nil when no app is configured.
	Apps *oidc.Provider
	// Outbox sends back-channel logouts and mail; only serve runs one.
	Outbox *outbox.Sender
	// Letters seals mail into the outbox and Mailer sends it; both nil
	// without smtp.url.
	Letters *mail.Queue
	Mailer  *mail.Mailer

	backend *backend

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Environ        []string

	flags flagValues
}

// flagValues are the flags shared by every command that touches data.
type flagValues struct {
	configFile string
	values     map[string]*string // config key -> flag value
	names      map[string]string  // config key -> flag name
	// tlsSelfSigned is server.tls_self_signed.
	tlsSelfSigned *bool
}

// NewMain returns a Main wired to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}
}

// Command builds the command tree.
func (m *Main) Command() *cobra.Command {
	root := &cobra.Command{
		Use:           "lacop",
		Short:         "A sign-in portal and session server whose sessions really end",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&m.flags.configFile, "config", "", "YAML config file")
	m.flags.values = map[string]*string{}
	m.flags.names = map[string]string{}
	for _, f := range []struct{ key, name, usage string }{
		{"listen", "listen", "address to listen on (default 127.0.0.1:9440)"},
		{"data_dir", "data", "data directory: SQLite file and keys (default ./lacop-data)"},
		{"public_url", "public-url", "URL people use to reach the portal (default: follows --listen)"},
		{"storage.driver", "storage-driver", "sqlite or postgres (default sqlite)"},
		{"storage.postgres_url", "postgres-url", "PostgreSQL URL when storage.driver is postgres"},
		{"storage.redis_url", "redis-url", "Redis URL for sessions, denylist and notifications"},
		{"log.format", "log-format", "text or json (one structured line per sign-in, sign-out and ban)"},
	} {
		m.flags.values[f.key] = pf.String(f.name, "", f.usage)
		m.flags.names[f.key] = f.name
	}
	// A switch, so a bare --tls-self-signed turns it on.
	m.flags.tlsSelfSigned = pf.Bool("tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in the data directory")
	root.AddCommand(m.serveCommand(), m.userCommand(), m.sessionCommand(), m.auditCommand(), m.bansCommand(), m.versionCommand(), m.checkCommand(), m.configCommand(), m.keysCommand(), m.oidcCommand())
	return root
}

// Execute runs the command that args (without the program name) name.
func (m *Main) Execute(ctx context.Context, args []string) error {
	root := m.Command()
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	args, err := checkArgs(root, args)
	if err != nil {
		return err
	}
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// ParseFlags loads the configuration: file, then LACOP_* environment, then
// the flags the user set.
func (m *Main) ParseFlags(cmd *cobra.Command) ([]string, error) {
	src := config.Source{File: m.flags.configFile, Environ: m.Environ, Flags: map[string]string{}}
	for key, v := range m.flags.values {
		if cmd.Flags().Changed(m.flags.names[key]) {
			src.Flags[key] = *v
		}
	}
	if cmd.Flags().Changed("tls-self-signed") {
		src.Flags["server.tls_self_signed"] = strconv.FormatBool(*m.flags.tlsSelfSigned)
	}
	cfg, warnings, err := config.Load(src)
	if err != nil {
		return warnings, fmt.Errorf("invalid configuration:\n%w", err)
	}
	m.Config = cfg
	return warnings, nil
}

// Open loads the configuration and opens the store and the service.
func (m *Main) Open(cmd *cobra.Command) error {
	if err := m.Configure(cmd); err != nil {
		return err
	}
	return m.OpenService(cmd.Context())
}

// Configure loads the configuration and makes the logger; it touches
// nothing on disk.
func (m *Main) Configure(cmd *cobra.Command) error {
	warnings, err := m.ParseFlags(cmd)
	if err != nil {
		return err
	}
	m.Logger = newLogger(m.Stderr, m.Config.Log)
	for _, w := range warnings {
		m.Logger.Warn("config", "warning", w)
	}
	return nil
}

// OpenService opens the data directory, the stores and the service, as
// Configure configured them.
func (m *Main) OpenService(ctx context.Context) error {
	if err := prepareDataDir(m.Config.DataDir); err != nil {
		return err
	}
	key, err := seal.LoadOrCreateKey(filepath.Join(m.Config.DataDir, "secret.key"))
	if err != nil {
		return err
	}
	sealer, err := seal.New(key)
	if err != nil {
		return err
	}
	m.backend, err = m.openBackend(ctx)
	if err != nil {
		return err
	}
	if m.Epoch, err = m.backend.cache(m.Config.DataDir); err != nil {
		return err
	}
	if m.Config.Storage.SharedCache {
		m.Peers = m.backend.sharedCache(m.serving, m.Config.Session.InactivityTimeout/2, m.Logger)
	}
	if m.Peers != nil && !m.serving {
		m.runPeers(ctx)
	}
	if m.Spool, err = m.backend.spool(m.Config.DataDir, m); err != nil {
		return err
	}
	stores := m.backend.stores
	cfg := m.Config
	hasher := passwordHasher()
	if m.serving {
		keepChecksAhead(hasher)
	}
	m.Auth = auth.NewService(auth.Config{
		InactivityTimeout:   cfg.Session.InactivityTimeout,
		Lifetime:            cfg.Session.Lifetime,
		RememberMeLifetime:  cfg.Session.RememberMeLifetime,
		MaxPerUser:          cfg.Session.MaxPerUser,
		RequireSecondFactor: cfg.Auth.RequireSecondFactor,
		Issuer:              issuer(cfg.PublicURL),
		Regulation: auth.Regulation{
			MaxFailures: cfg.Regulation.MaxFailures, MaxFailuresPerIP: cfg.Regulation.MaxFailuresPerIP,
			Window: cfg.Regulation.Window, Ban: cfg.Regulation.Ban,
		},
		Tokens: auth.Tokens{
			URL:       strings.TrimSuffix(cfg.PublicURL, "/"),
			AccessTTL: cfg.Tokens.AccessTTL, RefreshTTL: cfg.Tokens.RefreshTTL, ReuseGrace: cfg.Tokens.ReuseGrace,
		},
	}, stores, hasher, sealer, m.Logger)
	// Every command that ends sessions signs nothing, but the keys must
	// open with this data directory's secret.key: find out now.
	if err := m.Auth.LoadKeys(ctx); err != nil {
		return err
	}
	if err := m.openApps(ctx, hasher, sealer); err != nil {
		return err
	}
	if err := m.openMail(sealer); err != nil {
		return err
	}
	if rpID, ok := cfg.PasskeyRPID(); ok {
		if m.Auth.WebAuthn, err = passkey.New(rpID, cfg.PasskeyRPName(), cfg.PasskeyOrigin()); err != nil {
			return err
		}
	}
	// Like a schema migration, on every open: addresses an older lacop
	// stored un-normalised must be found by the first command run.
	return m.Auth.NormalizeStoredEmails(ctx)
}

// runPeers runs the cache coherence of a command that changes shared
// stores until Close, and waits (briefly) until it listens: a change's
// acknowledgements arrive only on the subscription, and without it the
// change waits out every instance's lease instead.
func (m *Main) runPeers(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Peers.Run(ctx)
	}()
	m.backend.closers = append(m.backend.closers, func() error {
		cancel()
		<-done
		return nil
	})
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := m.Peers.WaitListening(wctx); err != nil {
		m.Logger.Warn("cache invalidations not listening yet; changes wait for every instance's lease to run out")
	}
}

// passwordHasher hashes and verifies sign-in passwords and the apps'
// client secrets. Both the server and `lacop oidc hash-secret` make theirs
// here, so a hash the CLI prints costs what the server expects to verify.
func passwordHasher() *password.Hasher {
	return password.NewHasher(password.DefaultParams(), hashSlots())
}

// hashSlots is how many argon2 computations run at once: as many as fill
// the processors with their lanes (on two cores one, whose two lanes take
// both), at least one. More would only share the same cores, each taking
// 64 MiB, without more sign-ins per second (measured: docs/performance.md,
// "Sign-ins and checks").
func hashSlots() int {
	return max(1, runtime.GOMAXPROCS(0)/int(password.DefaultParams().Threads))
}

// keepChecksAhead is serve's hashing policy under a flood of sign-ins.
// While argon2 runs, the Go scheduler gets one processor more than the
// hashes' lanes can fill, so a forward-auth check that arrives finds a
// processor at once and the kernel preempts argon2 for it, instead of
// waiting in a run queue behind lanes that run for milliseconds; when no
// hash runs, the processors go back to what they were, so checks cost
// no more CPU than before. Past 16 waiting sign-ins per slot (about a
// second and a half of hashing) a sign-in is answered 503 at once.
func keepChecksAhead(h *password.Hasher) {
	base := runtime.GOMAXPROCS(0)
	h.LimitQueue(16 * hashSlots()).OnBusy(func(busy bool) {
		if busy {
			runtime.GOMAXPROCS(base + 1)
		} else {
			runtime.GOMAXPROCS(base)
		}
	})
}

// Close releases what Open opened.
func (m *Main) Close() error {
	if m.backend == nil {
		return nil
	}
	return m.backend.close()
}

// prepareDataDir creates the data directory (owner-only) or checks that an
// existing one is a readable directory. It never replaces anything.
func prepareDataDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("data directory %s cannot be read: %w", dir, err)
	}
	return nil
}

// issuer names this portal in authenticator apps: "lacop (auth.example.com)".
func issuer(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return "lacop (" + u.Hostname() + ")"
	}
	return "lacop"
}

func newLogger(w io.Writer, cfg config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cliClient marks actions taken from the command line in audit events.
var cliClient = auth.Client{UserAgent: "lacop-cli", Via: auth.ViaCLI}

// userByEmail resolves an email argument, with a clear error when unknown.
func (m *Main) userByEmail(ctx context.Context, email string) (*lacop.User, error) {
	u, err := m.Auth.Users.UserByEmail(ctx, email)
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		return nil, fmt.Errorf("no user with email %s", strings.TrimSpace(email))
	}
	return u, err
}

// userError makes a domain error a one-line reason for the terminal.
func userError(err error) error {
	var e *lacop.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}
