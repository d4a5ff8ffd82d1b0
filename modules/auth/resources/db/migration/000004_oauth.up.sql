-- A user may now sign in with a provider account only: such a user has
-- neither email nor phone until they add one (docs/OAUTH.md, linking rules).
ALTER TABLE auth.users DROP CONSTRAINT users_contact;

-- Provider accounts (OAuth 2, OpenID Connect, OAuth 1.0a) users sign in
-- with. A provider account belongs to one user; a user may have several.
-- Provider tokens are not stored: nothing uses them after sign-in.
CREATE TABLE auth.oauth_accounts (
    id             varchar(64) PRIMARY KEY,
    user_id        varchar(64) NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    provider       text        NOT NULL,
    subject        text        NOT NULL, -- the provider's stable user ID
    email          text        NOT NULL DEFAULT '',
    email_verified boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    UNIQUE (provider, subject)
);

CREATE INDEX oauth_accounts_user_id ON auth.oauth_accounts (user_id, created_at);

-- Sign-ins started at a provider, known by the SHA-256 of their state and
-- bound to the client that started them by the SHA-256 of a cookie. Each
-- is usable once, until it expires.
CREATE TABLE auth.oauth_states (
    state_hash    bytea PRIMARY KEY,
    provider      text        NOT NULL,
    binding_hash  bytea       NOT NULL,
    user_id       varchar(64) REFERENCES auth.users (id) ON DELETE CASCADE, -- links only
    redirect_uri  text        NOT NULL DEFAULT '', -- browser flows only
    code_verifier text        NOT NULL DEFAULT '', -- PKCE
    nonce         text        NOT NULL DEFAULT '', -- OpenID Connect
    session       text        NOT NULL, -- the provider library's flow data
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

CREATE INDEX oauth_states_expires_at ON auth.oauth_states (expires_at);

-- One-time codes a browser sign-in returns to its page, exchanged once for
-- tokens; stored as SHA-256 hashes.
CREATE TABLE auth.oauth_exchange_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    varchar(64) NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    new_user   boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX oauth_exchange_codes_expires_at ON auth.oauth_exchange_codes (expires_at);
