-- +goose Up
-- Times are Unix milliseconds (bigint), as in the SQLite store, so that
-- both keep the same precision and compare the same way.

CREATE TABLE users (
    id             text PRIMARY KEY,
    email          text NOT NULL,
    name           text NOT NULL DEFAULT '',
    admin          boolean NOT NULL DEFAULT false,
    groups         text[] NOT NULL DEFAULT '{}',
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    token_version  bigint NOT NULL DEFAULT 0,
    -- The TOTP secret is sealed (AES-GCM) by lacop before it is stored;
    -- empty when the user has no second factor.
    totp_secret    bytea NOT NULL DEFAULT '\x',
    totp_last_step bigint NOT NULL DEFAULT 0,
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL,
    -- seq orders users created within the same millisecond, as SQLite's
    -- rowid does.
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    CONSTRAINT users_email_key UNIQUE (email)
);

-- Only the SHA-256 of a session secret is kept. sessions_user is the
-- per-user index that makes "list" and "end all" one indexed operation.
CREATE TABLE sessions (
    id             text PRIMARY KEY,
    secret_hash    bytea NOT NULL UNIQUE,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_level     integer NOT NULL,
    remember_me    boolean NOT NULL,
    created_at     bigint NOT NULL,
    last_active_at bigint NOT NULL,
    expires_at     bigint NOT NULL,
    ip             text NOT NULL DEFAULT '',
    user_agent     text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, last_active_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
-- The sweep's other half: sessions idle past the timeout (remember-me ones
-- never idle out), so it need not scan the table.
CREATE INDEX sessions_idle ON sessions (last_active_at) WHERE NOT remember_me;

-- Audit events outlive their users, so user_id has no foreign key.
CREATE TABLE audit_events (
    id         bigserial PRIMARY KEY,
    time       bigint NOT NULL,
    type       text NOT NULL,
    user_id    text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    actor_id   text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE setup_tokens (
    hash       bytea PRIMARY KEY,
    expires_at bigint NOT NULL
);

CREATE TABLE totp_pending (
    user_id    text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     bytea NOT NULL,
    created_at bigint NOT NULL
);

-- Only SHA-256 hashes of recovery codes are kept.
CREATE TABLE recovery_codes (
    user_id   text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- id lets ForgetFailure withdraw exactly one of several failures recorded
-- at the same millisecond, even when two withdrawals race.
CREATE TABLE regulation_failures (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key  text NOT NULL,
    time bigint NOT NULL
);
CREATE INDEX regulation_failures_key ON regulation_failures (key, time);
CREATE INDEX regulation_failures_time ON regulation_failures (time);

CREATE TABLE regulation_bans (
    key   text PRIMARY KEY,
    until bigint NOT NULL
);

-- Refresh tokens: only SHA-256 hashes. One family per session; a spent
-- token stays (until the family ends or it expires) so its reuse is caught.
-- No foreign keys: auth ends families explicitly with their sessions, and a
-- cascade would slow ending 10,000 sessions at once.
CREATE TABLE refresh_tokens (
    hash                bytea PRIMARY KEY,
    session_id          text NOT NULL,
    user_id             text NOT NULL,
    created_at          bigint NOT NULL,
    expires_at          bigint NOT NULL,
    spent_at            bigint NOT NULL DEFAULT 0,
    successor_jti       text NOT NULL DEFAULT '',
    successor_issued_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens issued to each session, until they expire, so ending the
-- session can deny them.
CREATE TABLE access_tokens (
    jti        text PRIMARY KEY,
    session_id text NOT NULL,
    user_id    text NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX access_tokens_session ON access_tokens (session_id);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- The jti denylist: entries live until the token's own expiry.
CREATE TABLE token_denylist (
    jti        text PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX token_denylist_expires ON token_denylist (expires_at);

-- Access-token signing keys; the private key is sealed by lacop.
CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at bigint NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE token_denylist;
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE regulation_bans;
DROP TABLE regulation_failures;
DROP TABLE recovery_codes;
DROP TABLE totp_pending;
DROP TABLE setup_tokens;
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
