// Package config holds lacop's configuration: one plain struct with its
// defaults, loaded from a YAML file, LACOP_* environment variables and
// command-line flags (in that order, later wins), and validated once at start.
//
// Every key has one dotted name (session.inactivity_timeout), taken from the
// yaml tags of Config; Keys lists them and EnvName gives each one's
// environment variable. Callers hand each package only the values it uses.
package config

import (
	"net/netip"
	"reflect"
	"strings"
	"time"
)

// Access-control policies, weakest first.
const (
	PolicyBypass    = "bypass"
	PolicyOneFactor = "one_factor"
	PolicyTwoFactor = "two_factor"
	PolicyDeny      = "deny"
)

// Storage drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config is lacop's whole configuration. The yaml tags are the key names used
// in the file, in environment variable names and in error messages.
type Config struct {
	Listen        string        `yaml:"listen"`
	PublicURL     string        `yaml:"public_url"`
	DataDir       string        `yaml:"data_dir"`
	Storage       Storage       `yaml:"storage"`
	Session       Session       `yaml:"session"`
	Redirect      Redirect      `yaml:"redirect"`
	Tokens        Tokens        `yaml:"tokens"`
	Regulation    Regulation    `yaml:"regulation"`
	Server        Server        `yaml:"server"`
	Auth          Auth          `yaml:"auth"`
	AccessControl AccessControl `yaml:"access_control"`
	Log           Log           `yaml:"log"`
	OIDC          OIDC          `yaml:"oidc"`
	SMTP          SMTP          `yaml:"smtp"`
	WebAuthn      WebAuthn      `yaml:"webauthn"`
	Metrics       Metrics       `yaml:"metrics"`
	CORS          CORS          `yaml:"cors"`
}

// CORS lists the browser apps on other origins that may call the token
// endpoints (refresh, revoke) and read the keys and discovery document.
type CORS struct {
	// AllowedOrigins are exact origins, "https://app.example.com" (http
	// only for a loopback host). No wildcard: each app is named.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Metrics says where Prometheus reads lacop's metrics.
type Metrics struct {
	// Listen is an address for /metrics alone (e.g. 127.0.0.1:9441 or
	// :9441 for a scraper on another machine). Empty: /metrics is served
	// on the main listener to clients on this machine that came through no
	// proxy, and to nobody else.
	Listen string `yaml:"listen"`
}

// Storage says where users, sessions and tokens live.
type Storage struct {
	Driver      string `yaml:"driver"`       // sqlite | postgres
	PostgresURL string `yaml:"postgres_url"` // required for postgres
	RedisURL    string `yaml:"redis_url"`    // when set: sessions, denylist and notifications live in Redis
	// RedisPrefix starts every key lacop writes, so deployments (or a
	// staging and a production) can share one Redis without meeting.
	RedisPrefix string `yaml:"redis_prefix"`
	// SharedCache lets each instance on PostgreSQL or Redis keep sessions,
	// users and denylist answers in memory, kept coherent by leases and
	// acknowledged invalidations (sessioncache.Peers): an end is answered
	// only once every instance has dropped what it ended. On by default;
	// off, every check reads the shared store (two round trips), which also
	// closes the moment between a store closing its connections and the
	// instance reading that (measured under 0.1 ms) in which a session alive
	// a moment ago can still be answered from memory. SQLite always caches
	// (one machine).
	SharedCache bool `yaml:"shared_cache"`
}

// Session sets how long sessions live and how their cookie is scoped.
type Session struct {
	InactivityTimeout  time.Duration `yaml:"inactivity_timeout"`
	Lifetime           time.Duration `yaml:"lifetime"` // absolute, from login
	RememberMeLifetime time.Duration `yaml:"remember_me_lifetime"`
	CookieDomain       string        `yaml:"cookie_domain"` // "" = host-only __Host- cookie
	MaxPerUser         int           `yaml:"max_per_user"`  // 0 = no cap
}

// Redirect lists the hosts (and their subdomains) that post-login and
// post-logout redirects may go to, besides the portal itself.
type Redirect struct {
	AllowedDomains []string `yaml:"allowed_domains"`
}

// Tokens sets the lifetimes of access and refresh tokens.
type Tokens struct {
	AccessTTL  time.Duration `yaml:"access_ttl"`
	RefreshTTL time.Duration `yaml:"refresh_ttl"`
	// ReuseGrace is how long a just-rotated refresh token may be presented
	// again (a client retrying after a lost response) without being treated
	// as reuse. 0 = never.
	ReuseGrace time.Duration `yaml:"reuse_grace"`
}

// Regulation throttles password guessing: MaxFailures within Window bans
// further attempts on that account for Ban; MaxFailuresPerIP failures from
// one client address (on any accounts) ban that address. The address limit
// is higher so that people sharing one address (an office, a NAT) are not
// shut out by a colleague's typos.
type Regulation struct {
	MaxFailures      int           `yaml:"max_failures"`
	MaxFailuresPerIP int           `yaml:"max_failures_per_ip"`
	Window           time.Duration `yaml:"window"`
	Ban              time.Duration `yaml:"ban"`
	// MaxUnknownCookies is how many session cookies naming no session one
	// client (an address, an IPv6 /64) may send in a minute before, for a
	// minute, cookies this instance has not seen live are looked up no
	// faster than that rate (429 otherwise). Nobody guesses a 256-bit
	// secret; this keeps a flood of tries from costing store lookups, and a
	// live session behind the same address is never refused.
	MaxUnknownCookies int `yaml:"max_unknown_cookies"`
}

// Server holds settings of the HTTP server itself.
type Server struct {
	// TrustedProxies are the networks whose X-Forwarded-For is believed. A
	// bare IP in the config becomes a single-address prefix. They have no
	// per-address connection cap: every client of a proxy arrives from it.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	ShutdownGrace  time.Duration  `yaml:"shutdown_grace"`
	// MaxConnections caps the open client connections, so that idle ones
	// cannot use up the process's file descriptors and lock new clients
	// out; 0 derives it from the descriptor limit at start.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps the connections of one client address (an
	// IPv6 client by its /64), so that one client cannot take every slot;
	// 0 derives it from MaxConnections.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// TLSCert and TLSKey are PEM files (both or neither): lacop then
	// serves HTTPS itself, without a reverse proxy in front.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSSelfSigned makes lacop serve HTTPS with a certificate it makes
	// itself for public_url's host and keeps in data_dir: a trial over a
	// LAN in one command, once the browser is told to trust it.
	TLSSelfSigned bool `yaml:"tls_self_signed"`
}

// TLS reports whether lacop serves HTTPS itself.
func (c *Config) TLS() bool {
	return c.Server.TLSCert != "" || c.Server.TLSKey != "" || c.Server.TLSSelfSigned
}

// Auth holds sign-in policy.
type Auth struct {
	RequireSecondFactor bool `yaml:"require_second_factor"`
}

// AccessControl decides which policy applies to a request forwarded by a
// reverse proxy: the first matching rule, else DefaultPolicy.
type AccessControl struct {
	DefaultPolicy string `yaml:"default_policy"`
	Rules         []Rule `yaml:"rules"`
}

// Rule is one access-control rule. A request matches when its host matches
// Domain ("example.com" exactly, "*.example.com" any subdomain), the user is
// in one of Groups (if any are given) and its path starts with one of
// Resources (if any are given). A user passed over for their groups who
// matches no later rule is denied, not given the default policy.
type Rule struct {
	Domain    string   `yaml:"domain"`
	Policy    string   `yaml:"policy"`
	Groups    []string `yaml:"groups"`
	Resources []string `yaml:"resources"`
}

// Log sets how lacop logs.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// OIDC makes lacop an OpenID Connect provider for the configured apps.
type OIDC struct {
	Clients []Client `yaml:"clients"`
	// BackchannelRetry is how long a back-channel logout that times out or
	// gets a 5xx is retried before it is given up (and audited as failed).
	BackchannelRetry time.Duration `yaml:"backchannel_retry"`
}

// Client is one app that signs people in through lacop. See CONTRACT.md
// "OpenID Connect provider" for what each field means.
type Client struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Secret is a PHC hash of the client secret ($argon2id$…), or
	// "$plaintext$…" (warned at start); empty for public clients.
	Secret                           string   `yaml:"secret"`
	Public                           bool     `yaml:"public"`
	RedirectURIs                     []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs           []string `yaml:"post_logout_redirect_uris"`
	BackchannelLogoutURI             string   `yaml:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool     `yaml:"backchannel_logout_session_required"`
	FrontchannelLogoutURI            string   `yaml:"frontchannel_logout_uri"`
	Scopes                           []string `yaml:"scopes"`
	Consent                          string   `yaml:"consent"` // implicit | explicit
	Groups                           []string `yaml:"groups"`
	IDTokenSignedResponseAlg         string   `yaml:"id_token_signed_response_alg"`
}

// Client consent modes.
const (
	ConsentImplicit = "implicit"
	ConsentExplicit = "explicit"
)

// Default returns the defaults from the contract.
func Default() Config {
	return Config{
		Listen:    "127.0.0.1:9440",
		PublicURL: "http://127.0.0.1:9440",
		DataDir:   "./lacop-data",
		Storage:   Storage{Driver: DriverSQLite, RedisPrefix: "lacop:", SharedCache: true},
		Session: Session{
			InactivityTimeout:  30 * time.Minute,
			Lifetime:           12 * time.Hour,
			RememberMeLifetime: 720 * time.Hour,
		},
		Tokens: Tokens{
			AccessTTL:  15 * time.Minute,
			RefreshTTL: 720 * time.Hour,
		},
		Regulation: Regulation{
			MaxFailures:       5,
			MaxFailuresPerIP:  20,
			MaxUnknownCookies: 300,
			Window:            10 * time.Minute,
			Ban:               15 * time.Minute,
		},
		Server:        Server{ShutdownGrace: 10 * time.Second},
		AccessControl: AccessControl{DefaultPolicy: PolicyOneFactor},
		Log:           Log{Level: "info", Format: "text"},
		OIDC:          OIDC{BackchannelRetry: 24 * time.Hour},
	}
}

// Keys returns every configuration key as a dotted path, in the order the
// fields appear in Config. A list of rules is one key (access_control.rules);
// the fields inside a rule are not keys of their own.
func Keys() []string {
	var keys []string
	for _, f := range leaves() {
		keys = append(keys, f.key)
	}
	return keys
}

// EnvName returns the environment variable that sets key:
// session.inactivity_timeout → LACOP_SESSION_INACTIVITY_TIMEOUT.
func EnvName(key string) string {
	return "LACOP_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// leaf is one settable key: its dotted name and where it sits in Config.
type leaf struct {
	key   string
	index []int
}

var (
	prefixType = reflect.TypeFor[netip.Prefix]()
	configType = reflect.TypeFor[Config]()
)

// leaves walks Config's fields, so the key table can never drift from the
// struct. Nested structs are sections; everything else (including lists of
// structs) is a key.
func leaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + yamlName(f)
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != prefixType {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, leaf{key: key, index: idx})
		}
	}
	walk(configType, "", nil)
	return out
}

// yamlName is the key name of a struct field.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}
