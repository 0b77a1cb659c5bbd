-- +goose Up
-- The TOTP secret is sealed (AES-GCM) by lacop before it is stored.
ALTER TABLE users ADD COLUMN totp_secret BLOB NOT NULL DEFAULT x'';
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE totp_pending (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Only SHA-256 hashes of recovery codes are kept.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE regulation_failures (
    key  TEXT NOT NULL,
    time INTEGER NOT NULL
) STRICT;
CREATE INDEX regulation_failures_key ON regulation_failures (key, time);
CREATE INDEX regulation_failures_time ON regulation_failures (time);

CREATE TABLE regulation_bans (
    key   TEXT PRIMARY KEY,
    until INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE regulation_bans;
DROP TABLE regulation_failures;
DROP TABLE recovery_codes;
DROP TABLE totp_pending;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_secret;
