-- +goose Up
-- WebAuthn passkeys: public data only (the credential id and the record
-- holding its public key). passkey_sessions says which sessions signed in
-- (or passed their second factor) with each one, so removing a passkey ends
-- exactly those.
CREATE TABLE passkeys (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id bytea NOT NULL UNIQUE,
    name          text NOT NULL,
    record        bytea NOT NULL,
    sign_count    bigint NOT NULL,
    user_verified boolean NOT NULL,
    created_at    bigint NOT NULL,
    last_used_at  bigint NOT NULL
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_sessions (
    passkey_id text NOT NULL,
    session_id text NOT NULL,
    -- true: signed in with the passkey alone; false: the passkey was the
    -- second factor after a password. Tells apps how the person signed in (amr).
    passwordless boolean NOT NULL,
    bound_at   bigint NOT NULL,
    PRIMARY KEY (passkey_id, session_id)
);
CREATE INDEX passkey_sessions_session ON passkey_sessions (session_id);

-- +goose Down
DROP TABLE passkey_sessions;
DROP TABLE passkeys;
