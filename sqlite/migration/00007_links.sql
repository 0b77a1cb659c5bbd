-- +goose Up
-- One-time links lacop mails (password resets): the SHA-256 of the token
-- only, so a copy of the file opens nothing.
CREATE TABLE links (
    hash       BLOB PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX links_user ON links (user_id, kind);
CREATE INDEX links_expires ON links (expires_at);

-- +goose Down
DROP TABLE links;
