-- The client (IP address, as the trusted-proxy rules give it) that asked
-- for a code: a new request revokes only that client's older codes, and a
-- check tries the checking client's own code first, so a stranger asking
-- for codes or guessing cannot revoke the code a victim is about to use.
ALTER TABLE auth.magic_codes ADD COLUMN client text NOT NULL DEFAULT '';

-- Failed code checks per identity, across codes and clients, with the
-- escalating cool-down they trigger. One row per identity (and purpose),
-- shared by every replica; a successful sign-in resets it.
CREATE TABLE auth.login_lockouts (
    key          text PRIMARY KEY, -- purpose, user (contact changes) and identity
    window_start timestamptz NOT NULL, -- the rate window the failures were counted in
    failures     integer     NOT NULL DEFAULT 0,
    lockouts     integer     NOT NULL DEFAULT 0, -- cool-downs so far: the next one lasts twice as long
    locked_until timestamptz
);
