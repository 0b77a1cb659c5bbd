-- +goose Up
-- Refresh tokens: only SHA-256 hashes. One family per session; a spent
-- token stays (until the family ends or it expires) so its reuse is caught.
-- No foreign keys: auth ends families explicitly with their sessions, and a
-- cascade would slow ending 10,000 sessions at once.
CREATE TABLE refresh_tokens (
    hash                BLOB PRIMARY KEY,
    session_id          TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    spent_at            INTEGER NOT NULL DEFAULT 0,
    successor_jti       TEXT NOT NULL DEFAULT '',
    successor_issued_at INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens issued to each session, until they expire, so ending the
-- session can deny them.
CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_session ON access_tokens (session_id);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- The jti denylist: entries live until the token's own expiry.
CREATE TABLE token_denylist (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX token_denylist_expires ON token_denylist (expires_at);

-- Access-token signing keys; the private key is sealed by lacop.
CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE token_denylist;
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
