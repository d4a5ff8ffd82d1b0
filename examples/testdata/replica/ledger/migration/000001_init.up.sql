-- The runner creates the schema before migrating.
CREATE SCHEMA IF NOT EXISTS ledger;

-- What each subscriber applied: one row per application of an event. There
-- is deliberately no unique constraint on event_id: an event applied twice
-- must show up as two rows for the durability test to count, not as a
-- failing handler.
CREATE TABLE ledger.applied_a (
    id         bigserial   PRIMARY KEY,
    event_id   text        NOT NULL,
    subscriber text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger.applied_b (
    id         bigserial   PRIMARY KEY,
    event_id   text        NOT NULL,
    subscriber text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
