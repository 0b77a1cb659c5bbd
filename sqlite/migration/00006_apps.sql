-- +goose Up
-- The OpenID Connect provider's state, shared by every process on the file.

-- Authorization requests in flight. code_hash (the SHA-256 of the code) is
-- NULL until a code is issued; grant_id is '' until the code is exchanged,
-- and is set at most once (ClaimAuthRequest) so a second use is caught.
CREATE TABLE auth_requests (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    data       BLOB NOT NULL,
    code_hash  BLOB UNIQUE,
    grant_id   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_requests_expires ON auth_requests (expires_at);

-- One app signed in through one session. No foreign key to sessions: a
-- grant is ended explicitly with its session (EndAppGrants), and the sweep
-- finds those a crash left behind (AppGrantSessionIDs). scopes is a JSON
-- array, as users.groups_json.
CREATE TABLE app_grants (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX app_grants_session ON app_grants (session_id);
CREATE INDEX app_grants_user ON app_grants (user_id, client_id);

-- Access and refresh tokens given to apps: only SHA-256 hashes. Each hangs
-- off a grant; EndAppGrants deletes them with it (no cascade, as
-- refresh_tokens), and a token is only ever inserted while its grant is.
CREATE TABLE app_tokens (
    hash       BLOB PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE INDEX app_tokens_grant ON app_tokens (grant_id);
CREATE INDEX app_tokens_expires ON app_tokens (expires_at);

-- A person's remembered permission for an app; scopes is a JSON array.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

-- Deliveries that must reach another system at least once (see the outbox
-- store). Ending grants writes here in the same transaction, so the table
-- is created with the grants; the outbox's own migration creates it only
-- if missing, with exactly these columns. Times are Unix milliseconds, 0
-- for "not set".
CREATE TABLE IF NOT EXISTS outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    key             TEXT NOT NULL DEFAULT '',
    payload         BLOB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
-- Claims walk the receivers with pending deliveries, then each one's
-- earliest (see ClaimDeliveries).
CREATE INDEX IF NOT EXISTS outbox_key_due ON outbox (state, key, next_attempt_at, created_at, id);

-- +goose Down
DROP TABLE IF EXISTS outbox;
DROP TABLE consents;
DROP TABLE app_tokens;
DROP TABLE app_grants;
DROP TABLE auth_requests;
