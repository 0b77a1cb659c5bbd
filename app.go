package lacop

import (
	"context"
	"time"
)

// AuthRequest is an OpenID Connect authorization request in flight. It is
// kept in the store, not in memory, so that whichever instance the browser
// comes back to can finish it.
type AuthRequest struct {
	ID       string
	ClientID string
	// Data is the protocol package's own encoding of the request and of
	// the sign-in that answers it; the store keeps it as given.
	Data []byte
	// CodeHash is the SHA-256 of the authorization code once one is
	// issued; nil before.
	CodeHash []byte
	// GrantID is set when the code has been exchanged: a second use of the
	// code finds it and ends that grant (RFC 6749 section 4.1.2).
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AppGrant is one app signed in through one lacop session. Every token the
// app holds hangs off a grant, and a grant hangs off its session: when the
// session ends, its grants end with it and each app is told.
type AppGrant struct {
	ID        string
	SessionID string
	UserID    string
	ClientID  string
	Scopes    []string
	// AuthTime is when the person last proved who they are in the session.
	AuthTime  time.Time
	CreatedAt time.Time
}

// Kinds of app token.
const (
	AppTokenAccess  = "access"
	AppTokenRefresh = "refresh"
)

// AppToken is an access or refresh token given to an app. Only the SHA-256
// of its secret (access tokens: of their id) is stored.
type AppToken struct {
	Hash      []byte
	GrantID   string
	Kind      string // AppTokenAccess or AppTokenRefresh
	CreatedAt time.Time
	ExpiresAt time.Time
	// SpentAt is when a refresh token was exchanged; zero while unspent.
	SpentAt time.Time
}

// Consent is a person's permission for an app to sign them in with these
// scopes, remembered so the consent page is shown once.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// GrantSelection picks the grants EndAppGrants ends. Fields combine with
// AND; at least one of GrantIDs, SessionIDs and UserID must be set.
type GrantSelection struct {
	GrantIDs   []string
	SessionIDs []string
	UserID     string
	ClientID   string
	// DropConsent also forgets UserID's consent for ClientID ("Remove
	// access"); it needs both.
	DropConsent bool
}

// AppStore keeps what lacop's OpenID Connect provider must share between
// instances: requests in flight, grants, app tokens and consents.
type AppStore interface {
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	// AuthRequestByID returns ENOTFOUND when the request is gone or past
	// its ExpiresAt.
	AuthRequestByID(ctx context.Context, id string, now time.Time) (*AuthRequest, error)
	// UpdateAuthRequest replaces Data (the sign-in answered it); ENOTFOUND
	// when gone.
	UpdateAuthRequest(ctx context.Context, id string, data []byte) error
	// SetAuthRequestCode records the code's hash; ENOTFOUND when gone,
	// ECONFLICT when a code was set already.
	SetAuthRequestCode(ctx context.Context, id string, codeHash []byte) error
	// AuthRequestByCode returns the request a code was issued for, used or
	// not (GrantID tells); ENOTFOUND when there is none or it expired.
	AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (*AuthRequest, error)
	// ClaimAuthRequest marks the request's code used by grantID, once:
	// ECONFLICT if it was used already, ENOTFOUND if gone. Of two
	// concurrent claims exactly one wins.
	ClaimAuthRequest(ctx context.Context, id, grantID string) error
	DeleteAuthRequest(ctx context.Context, id string) error

	CreateAppGrant(ctx context.Context, g *AppGrant) error
	// AppGrantByID returns ENOTFOUND when the grant has ended.
	AppGrantByID(ctx context.Context, id string) (*AppGrant, error)
	// AppGrants lists the live grants a selection picks (DropConsent
	// ignored), oldest first.
	AppGrants(ctx context.Context, sel GrantSelection) ([]*AppGrant, error)
	// AppGrantSessionIDs lists, in order, up to limit distinct session ids
	// that have live grants and sort after after; the sweep uses it to find
	// grants whose session ended without them (a crash between the two, or
	// a store that expires sessions by itself).
	AppGrantSessionIDs(ctx context.Context, after string, limit int) ([]string, error)
	// EndAppGrants deletes the selected grants and their tokens and, in the
	// same transaction, enqueues the deliveries outbox returns for each
	// ended grant, so no grant ends without its app being told even if the
	// process dies right after. It returns the grants it ended.
	EndAppGrants(ctx context.Context, sel GrantSelection, outbox func(*AppGrant) []*Delivery) ([]*AppGrant, error)

	// CreateAppToken stores a token; ENOTFOUND if its grant has ended
	// (a token is never stored for a dead grant).
	CreateAppToken(ctx context.Context, t *AppToken) error
	// AppTokenByHash returns ENOTFOUND when the token, or its grant, is gone.
	AppTokenByHash(ctx context.Context, hash []byte) (*AppToken, error)
	// SpendAppToken marks a refresh token spent at at and stores next, in
	// one step; ECONFLICT if it was spent already, ENOTFOUND if gone.
	SpendAppToken(ctx context.Context, hash []byte, at time.Time, next *AppToken) error
	// DeleteAppToken removes one token (revocation); no error if gone.
	DeleteAppToken(ctx context.Context, hash []byte) error

	Consent(ctx context.Context, userID, clientID string) (*Consent, error)
	SaveConsent(ctx context.Context, c *Consent) error
	// UserConsents lists the apps a person has allowed, oldest first.
	UserConsents(ctx context.Context, userID string) ([]*Consent, error)

	// PruneApps deletes requests, tokens and spent tokens that expired
	// before now.
	PruneApps(ctx context.Context, now time.Time) error
}

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliveryFailed  = "failed" // gave up after the last retry; kept for admins
)

// Delivery is one message that must reach another system (a back-channel
// logout token, a mail) at least once. It is written in the same
// transaction as the change it announces and deleted once delivered.
type Delivery struct {
	ID   string
	Kind string // e.g. "backchannel_logout"
	// Key groups deliveries that share a receiver (a client id), so the
	// sender can bound its concurrency per receiver.
	Key string
	// Payload is the kind's own encoding of what to send.
	Payload   []byte
	State     string
	Attempts  int
	LastError string
	CreatedAt time.Time
	// NextAttemptAt is when the delivery may be tried (again).
	NextAttemptAt time.Time
	// LeaseOwner and LeaseUntil name the sender working on it; another
	// sender takes it only after the lease ran out (a crashed sender).
	LeaseOwner string
	LeaseUntil time.Time
}

// Claim says which deliveries a sender takes: up to Limit due at Now,
// leased to Owner until Now+Lease, and at most PerKey minus Busy[key] of
// each key (PerKey 0: no cap per key), so that a sender with its hands
// full for one receiver does not take that receiver's backlog from other
// senders, nor let it crowd out the others' deliveries.
type Claim struct {
	Owner  string
	Now    time.Time
	Lease  time.Duration
	Limit  int
	PerKey int
	Busy   map[string]int
}

// OutboxStore keeps deliveries. Every instance may run a sender; a lease
// makes sure each delivery is worked by one at a time.
type OutboxStore interface {
	EnqueueDeliveries(ctx context.Context, ds ...*Delivery) error
	// ClaimDeliveries leases pending deliveries that are due and not
	// leased (a lease that ran out is a crashed sender's, free again), as
	// the claim says, and returns them due first (Attempts not yet raised).
	// Concurrent claims never return the same delivery.
	ClaimDeliveries(ctx context.Context, c Claim) ([]*Delivery, error)
	// FinishDelivery deletes a delivered one; no error if gone.
	FinishDelivery(ctx context.Context, id string) error
	// RetryDelivery records a failed attempt (Attempts+1, lastError) and
	// makes it due at next, releasing the lease.
	RetryDelivery(ctx context.Context, id string, next time.Time, lastError string) error
	// FailDelivery records the last failed attempt and gives up: State
	// becomes DeliveryFailed.
	FailDelivery(ctx context.Context, id string, lastError string) error
	// Deliveries lists deliveries in a state, oldest first, up to limit.
	Deliveries(ctx context.Context, state string, limit int) ([]*Delivery, error)
	// CountDeliveries counts deliveries per state.
	CountDeliveries(ctx context.Context) (map[string]int, error)
	// PruneDeliveries deletes failed deliveries created before before.
	PruneDeliveries(ctx context.Context, before time.Time) error
}
