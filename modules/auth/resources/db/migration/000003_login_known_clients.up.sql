-- The clients (IP addresses, as the trusted-proxy rules give them) that
-- completed a code check for an identity: an identity's cool-down does not
-- refuse them, nor does its ceiling on code requests from all clients, so
-- strangers with many addresses cannot lock the owner out of the devices
-- they already use. Written on every successful check; entries older than
-- AUTH_KNOWN_CLIENT_TTL are ignored, and removed by cleanup-magic-codes.
CREATE TABLE auth.login_known_clients (
    key             text        NOT NULL, -- as auth.login_lockouts.key: purpose, user and identity
    client          text        NOT NULL,
    last_success_at timestamptz NOT NULL,
    PRIMARY KEY (key, client)
);

CREATE INDEX login_known_clients_last_success_at_idx ON auth.login_known_clients (last_success_at);
