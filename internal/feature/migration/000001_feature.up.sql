-- Feature flags, owned by the platform (internal/feature). A flag's key is
-- "<module>.<name>": the module whose code evaluates it. Every replica
-- keeps all flags in memory and reloads them when a change commits (the
-- NOTIFY on feature_flags_changed that every write sends in its
-- transaction), after a reconnect, and every FEATURE_RELOAD_INTERVAL.
CREATE SCHEMA IF NOT EXISTS feature;

CREATE TABLE feature.flags (
    key         text        PRIMARY KEY,
    type        text        NOT NULL CHECK (type IN ('boolean', 'string', 'int', 'float')),
    description text        NOT NULL DEFAULT '',
    enabled     boolean     NOT NULL,
    value       jsonb       NOT NULL, -- served when no rule matches
    rules       jsonb       NOT NULL DEFAULT '[]', -- first match wins
    version     bigint      NOT NULL DEFAULT 1,    -- +1 on every update
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL -- the actor of the last change: a user ID, or cli:<OS user>
);
