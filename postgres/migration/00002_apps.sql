-- +goose Up
-- The OpenID Connect provider's state, shared by every instance.

-- Authorization requests in flight. code_hash (the SHA-256 of the code) is
-- NULL until a code is issued; grant_id is '' until the code is exchanged,
-- and is set at most once (ClaimAuthRequest) so a second use is caught.
CREATE TABLE auth_requests (
    id         text PRIMARY KEY,
    client_id  text NOT NULL,
    data       bytea NOT NULL,
    code_hash  bytea UNIQUE,
    grant_id   text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX auth_requests_expires ON auth_requests (expires_at);

-- One app signed in through one session. No foreign key to sessions: a
-- grant is ended explicitly with its session (EndAppGrants), and the sweep
-- finds those a crash left behind (AppGrantSessionIDs).
CREATE TABLE app_grants (
    id         text PRIMARY KEY,
    session_id text NOT NULL,
    user_id    text NOT NULL,
    client_id  text NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    auth_time  bigint NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX app_grants_session ON app_grants (session_id);
CREATE INDEX app_grants_user ON app_grants (user_id, client_id);

-- Access and refresh tokens given to apps: only SHA-256 hashes. Each hangs
-- off a grant; EndAppGrants deletes them with it (no cascade, as
-- refresh_tokens), and a token is only inserted while holding its grant's
-- row FOR SHARE, so none is written for a grant being ended.
CREATE TABLE app_tokens (
    hash       bytea PRIMARY KEY,
    grant_id   text NOT NULL,
    kind       text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    spent_at   bigint NOT NULL DEFAULT 0
);
CREATE INDEX app_tokens_grant ON app_tokens (grant_id);
CREATE INDEX app_tokens_expires ON app_tokens (expires_at);

-- A person's remembered permission for an app.
CREATE TABLE consents (
    user_id    text NOT NULL,
    client_id  text NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    created_at bigint NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Deliveries that must reach another system at least once (see the outbox
-- store). Ending grants writes here in the same transaction, so the table
-- is created with the grants; the outbox's own migration creates it only
-- if missing, with exactly these columns. Times are Unix milliseconds, 0
-- for "not set".
CREATE TABLE IF NOT EXISTS outbox (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    key             text NOT NULL DEFAULT '',
    payload         bytea NOT NULL,
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     bigint NOT NULL DEFAULT 0
);
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
