package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/propagation"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes dispatchers.
const notifyChannel = "modulith_events"

const insertEventSQL = `
WITH e AS (
    INSERT INTO events.outbox (id, name, version, payload, secret, ordering_key, trace, occurred_at)
    VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8)
    RETURNING id, seq, ordering_key)
INSERT INTO events.deliveries (subscriber, event_id, seq, ordering_key)
SELECT s.subscriber, e.id, e.seq, e.ordering_key
FROM e JOIN events.subscriptions s ON s.event_name = $2`

// insertEvent stores an event and its deliveries, and asks PostgreSQL to
// wake the dispatchers when tx commits; one round trip.
func insertEvent(ctx context.Context, tx pgx.Tx, e Event, sealed []byte, trace propagation.MapCarrier) error {
	batch := &pgx.Batch{}
	batch.Queue(insertEventSQL, e.ID, e.Name, e.Version, e.Payload, sealed, e.OrderingKey, map[string]string(trace), e.OccurredAt)
	batch.Queue("SELECT pg_notify($1, $2)", notifyChannel, e.Name)

	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("store event: %w", err)
	}

	return nil
}

// registerSubscriptions records which events this process's subscribers
// handle, so publishers everywhere fan events out to them.
func registerSubscriptions(ctx context.Context, pool *pgxpool.Pool, subs []*subscriber) error {
	batch := &pgx.Batch{}

	for _, s := range subs {
		for _, name := range s.eventNames() {
			batch.Queue(`INSERT INTO events.subscriptions (subscriber, event_name) VALUES ($1, $2)
				ON CONFLICT (event_name, subscriber) DO UPDATE SET seen_at = now()`, s.name, name)
		}
	}

	if batch.Len() == 0 {
		return nil
	}

	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("upsert subscriptions: %w", err)
	}

	return nil
}

// claimed is a delivery a dispatcher holds locked in its transaction.
type claimed struct {
	EventID     string
	Name        string
	Version     int
	Payload     map[string]any
	Secret      []byte
	OrderingKey *string
	Trace       map[string]string
	OccurredAt  time.Time
	Attempts    int
}

// claimSQL locks up to $3 due deliveries of subscriber $1 for event names
// $2, oldest first, skipping rows other dispatchers hold. A delivery that
// shares an ordering key with an older unfinished one waits for it.
const claimSQL = `
SELECT d.event_id, o.name, o.version, o.payload, o.secret, o.ordering_key, o.trace, o.occurred_at, d.attempts
FROM events.deliveries d
JOIN events.outbox o ON o.id = d.event_id
WHERE d.subscriber = $1
  AND o.name = ANY($2)
  AND d.state IN ('pending', 'failed')
  AND d.next_attempt_at <= now()
  AND (d.ordering_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM events.deliveries p
        WHERE p.subscriber = d.subscriber AND p.ordering_key = d.ordering_key
          AND p.seq < d.seq AND p.state IN ('pending', 'failed')))
ORDER BY d.seq
LIMIT $3
FOR UPDATE OF d SKIP LOCKED`

func claim(ctx context.Context, tx pgx.Tx, subscriber string, names []string, limit int) ([]claimed, error) {
	rows, err := tx.Query(ctx, claimSQL, subscriber, names, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}

	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		err := r.Scan(&c.EventID, &c.Name, &c.Version, &c.Payload, &c.Secret, &c.OrderingKey, &c.Trace, &c.OccurredAt, &c.Attempts)

		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}

	return out, nil
}

// markDelivered records deliveries as done: in PostgreSQL mode this row,
// written in the handler's transaction, is the record that the handler ran.
func markDelivered(ctx context.Context, tx pgx.Tx, subscriber string, eventIDs []string) error {
	if len(eventIDs) == 0 {
		return nil
	}

	_, err := tx.Exec(ctx, `UPDATE events.deliveries
		SET state = 'delivered', attempts = attempts + 1, delivered_at = now(), updated_at = now(), last_error = NULL
		WHERE subscriber = $1 AND event_id = ANY($2)`, subscriber, eventIDs)
	if err != nil {
		return fmt.Errorf("mark delivered: %w", err)
	}

	return nil
}

// markFailed records a failed attempt: retried after delay, or dead.
func markFailed(ctx context.Context, tx pgx.Tx, subscriber, eventID, state, lastError string, attempts int, delay time.Duration) error {
	_, err := tx.Exec(ctx, `UPDATE events.deliveries
		SET state = $3, attempts = $4, last_error = $5, next_attempt_at = now() + $6::interval, updated_at = now()
		WHERE subscriber = $1 AND event_id = $2`, subscriber, eventID, state, attempts, truncate(lastError, 2000), delay)
	if err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}

	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}

	return s
}
