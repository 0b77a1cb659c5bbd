-- +goose Up
-- WebAuthn passkeys: public data only (the credential id and the record
-- holding its public key). passkey_sessions says which sessions signed in
-- (or passed their second factor) with each one, so removing a passkey ends
-- exactly those.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    record        BLOB NOT NULL,
    sign_count    INTEGER NOT NULL,
    user_verified INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_sessions (
    passkey_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    -- 1: signed in with the passkey alone; 0: the passkey was the second
    -- factor after a password. Tells apps how the person signed in (amr).
    passwordless INTEGER NOT NULL,
    bound_at   INTEGER NOT NULL,
    PRIMARY KEY (passkey_id, session_id)
) STRICT;
CREATE INDEX passkey_sessions_session ON passkey_sessions (session_id);

-- +goose Down
DROP TABLE passkey_sessions;
DROP TABLE passkeys;
