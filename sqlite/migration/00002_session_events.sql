-- +goose Up
-- Announcements of ended sessions, read by every lacop process on the same
-- file so that a session ended by one (serve or the CLI) reaches the open
-- streams of all. Rows are pruned after a few minutes.
CREATE TABLE session_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    time       INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE session_events;
