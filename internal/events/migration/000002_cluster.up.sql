-- The cluster's identity: the replicas that share this database. Names on
-- shared infrastructure (the NATS stream, subjects) carry it, so that two
-- deployments on one NATS server never take each other's messages. Keyed
-- by database name: a copy made with CREATE DATABASE … TEMPLATE (a test
-- database, a staging clone) is a cluster of its own.
CREATE TABLE events.cluster (
    database   name PRIMARY KEY,
    id         text NOT NULL CHECK (id ~ '^[a-z0-9]{1,32}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
