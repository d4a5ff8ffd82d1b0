-- The runner creates the schema first; sqlc-style readers need this line.
CREATE SCHEMA IF NOT EXISTS events;

-- Which subscriber handles which event, registered by every process at start
-- for the subscribers it runs. Publishing fans an event out to the
-- subscribers registered for its name, cluster-wide.
CREATE TABLE events.subscriptions (
    subscriber    text        NOT NULL,
    event_name    text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_name, subscriber)
);

-- The transactional outbox: written in the publisher's transaction.
CREATE TABLE events.outbox (
    id           text PRIMARY KEY,   -- TypeID evt_…
    seq          bigserial   NOT NULL UNIQUE,
    name         text        NOT NULL,
    version      integer     NOT NULL,
    payload      jsonb       NOT NULL,
    secret       bytea,              -- AES-GCM sealed secrets; NULL once every delivery ended
    ordering_key text,
    trace        jsonb       NOT NULL DEFAULT '{}', -- W3C trace context of the publisher
    occurred_at  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outbox_created_at ON events.outbox (created_at);

-- One row per (subscriber, event): the delivery state machine.
--   pending → delivered
--   pending → failed (attempts, last_error, next_attempt_at) → … → delivered | dead
--   dead → pending (redrive)
CREATE TABLE events.deliveries (
    subscriber      text        NOT NULL,
    event_id        text        NOT NULL REFERENCES events.outbox (id) ON DELETE CASCADE,
    seq             bigint      NOT NULL,
    ordering_key    text,
    state           text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'failed', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz, -- NATS transport: handed to JetStream
    delivered_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, event_id)
);

CREATE INDEX deliveries_due ON events.deliveries (subscriber, seq)
    WHERE state IN ('pending', 'failed');
CREATE INDEX deliveries_ordering ON events.deliveries (subscriber, ordering_key, seq)
    WHERE ordering_key IS NOT NULL AND state IN ('pending', 'failed');
CREATE INDEX deliveries_unpublished ON events.deliveries (seq)
    WHERE published_at IS NULL AND state IN ('pending', 'failed');
CREATE INDEX deliveries_event ON events.deliveries (event_id);
CREATE INDEX deliveries_dead ON events.deliveries (subscriber, updated_at) WHERE state = 'dead';

-- Idempotency: written in the subscriber's transaction with its effects, so
-- a redelivered event is recognized and skipped.
CREATE TABLE events.processed (
    subscriber   text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, event_id)
);

CREATE INDEX processed_at ON events.processed (processed_at);
