-- +goose Up
-- The browsers each person signed in from: the SHA-256 of a random id kept
-- in a long-lived cookie there. A person's choice about new-sign-in mails.
CREATE TABLE known_devices (
    user_id    text NOT NULL,
    hash       bytea NOT NULL,
    first_seen bigint NOT NULL,
    last_seen  bigint NOT NULL,
    PRIMARY KEY (user_id, hash)
);
CREATE INDEX known_devices_last_seen ON known_devices (last_seen);

CREATE TABLE sign_in_alerts_off (
    user_id text PRIMARY KEY
);

-- +goose Down
DROP TABLE sign_in_alerts_off;
DROP TABLE known_devices;
