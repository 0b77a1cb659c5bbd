-- +goose Up
-- The browsers each person signed in from: the SHA-256 of a random id kept
-- in a long-lived cookie there. A person's choice about new-sign-in mails.
CREATE TABLE known_devices (
    user_id    TEXT NOT NULL,
    hash       BLOB NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (user_id, hash)
) STRICT;
CREATE INDEX known_devices_last_seen ON known_devices (last_seen);

CREATE TABLE sign_in_alerts_off (
    user_id TEXT PRIMARY KEY
) STRICT;

-- +goose Down
DROP TABLE sign_in_alerts_off;
DROP TABLE known_devices;
