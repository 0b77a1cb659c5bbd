-- +goose Up
-- One-time links lacop mails (password resets): the SHA-256 of the token
-- only, so a copy of the database opens nothing.
CREATE TABLE links (
    hash       bytea PRIMARY KEY,
    kind       text NOT NULL,
    user_id    text NOT NULL,
    data       text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX links_user ON links (user_id, kind);
CREATE INDEX links_expires ON links (expires_at);

-- +goose Down
DROP TABLE links;
