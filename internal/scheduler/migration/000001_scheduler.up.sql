-- The runs of scheduled tasks: one row per task and slot (the time the
-- schedule said it was due). Every worker replica tries to insert the row
-- of a due slot; the one whose insert succeeds runs the task, so each slot
-- runs once across the cluster.
CREATE SCHEMA IF NOT EXISTS scheduler;

CREATE TABLE scheduler.runs (
    task        text        NOT NULL,
    slot        timestamptz NOT NULL,
    runner      text        NOT NULL, -- host/process that ran it
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text,
    PRIMARY KEY (task, slot)
);

CREATE INDEX runs_slot ON scheduler.runs (slot);
