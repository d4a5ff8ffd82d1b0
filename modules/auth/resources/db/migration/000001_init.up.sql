-- The runner creates the schema before migrating; sqlc reads this line.
CREATE SCHEMA IF NOT EXISTS auth;

-- Accounts. A user has an email address, a phone number, or both.
CREATE TABLE auth.users (
    id           varchar(64) PRIMARY KEY,
    email        text UNIQUE,
    phone        text UNIQUE,
    display_name text        NOT NULL DEFAULT '',
    role         text        NOT NULL DEFAULT 'user',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT users_contact CHECK (email IS NOT NULL OR phone IS NOT NULL)
);

-- One-time codes, stored only as an HMAC. A code is usable while it is
-- neither used nor revoked and has not expired.
CREATE TABLE auth.magic_codes (
    id         varchar(64) PRIMARY KEY,
    purpose    text        NOT NULL CHECK (purpose IN ('login', 'contact_change')),
    identity   text        NOT NULL, -- normalized email or E.164 phone the code was sent to
    user_id    varchar(64) REFERENCES auth.users (id) ON DELETE CASCADE, -- contact changes only
    code_hash  bytea       NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

CREATE INDEX magic_codes_active ON auth.magic_codes (purpose, identity, created_at DESC)
    WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX magic_codes_expires_at ON auth.magic_codes (expires_at);

-- Signed-in devices. Access tokens name their session, which every
-- authenticated request checks.
CREATE TABLE auth.sessions (
    id         varchar(64) PRIMARY KEY,
    user_id    varchar(64) NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    user_agent text        NOT NULL DEFAULT '',
    ip_address text        NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON auth.sessions (user_id, created_at DESC);

-- Refresh tokens, stored as SHA-256 hashes. Each is usable once; presenting
-- a used one revokes its session.
CREATE TABLE auth.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id varchar(64) NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_session_id ON auth.refresh_tokens (session_id);

-- Fixed-window request counters for throttling, shared by every replica.
CREATE TABLE auth.rate_limits (
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);
