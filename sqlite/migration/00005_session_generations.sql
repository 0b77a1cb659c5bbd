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
-- Without generations every row is live: remove the ended ones first, or
-- they would be signed in again.
DELETE FROM sessions WHERE gen != (SELECT session_gen FROM users WHERE users.id = sessions.user_id);
DROP TABLE session_purges;
ALTER TABLE sessions DROP COLUMN gen;
ALTER TABLE users DROP COLUMN session_gen;
