-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    admin         INTEGER NOT NULL DEFAULT 0,
    groups_json   TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a session secret is kept. sessions_user is the
-- per-user index that makes "list" and "end all" one indexed operation.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    secret_hash    BLOB NOT NULL UNIQUE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_level     INTEGER NOT NULL,
    remember_me    INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id, last_active_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Audit events outlive their users, so user_id has no foreign key.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    type        TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    session_id  TEXT NOT NULL DEFAULT '',
    actor_id    TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    detail_json TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE setup_tokens (
    hash       BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
