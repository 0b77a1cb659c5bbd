-- +goose Up
-- Ending every session of a person is one write: their generation goes up,
-- and only sessions of the current generation are live. Deleting 10,000
-- rows at once would rewrite ~10,000 random pages of the secret-hash index
-- (hundreds of ms among a million sessions); the rows of an old generation
-- are removed afterwards by the sweep, in small batches, from the queue in
-- session_purges.
ALTER TABLE users ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
CREATE TABLE session_purges (
    user_id TEXT PRIMARY KEY
) STRICT;

-- +goose Down
DROP TABLE session_purges;
ALTER TABLE sessions DROP COLUMN gen;
ALTER TABLE users DROP COLUMN session_gen;
