package events

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

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

// insertEvent stores an event and its deliveries and returns the ID of the
// transaction, for the waker; one round trip.
func insertEvent(ctx context.Context, tx pgx.Tx, e Raw, sealed []byte, trace propagation.MapCarrier) (string, error) {
	batch := &pgx.Batch{}
	batch.Queue(insertEventSQL, e.ID, e.Name, e.Version, e.Payload, sealed, e.OrderingKey, map[string]string(trace), e.OccurredAt)

	var xid string

	batch.Queue("SELECT pg_current_xact_id()::text").QueryRow(func(row pgx.Row) error { return row.Scan(&xid) })

	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return "", fmt.Errorf("store event: %w", err)
	}

	return xid, nil
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

// claimSQL locks up to $3 due deliveries of subscriber $1 for event names
// $2, oldest first, skipping rows other dispatchers hold. A delivery that
// shares an ordering key with an older unfinished one waits for it.
const claimSQL = `
SELECT d.event_id, o.name, o.version, o.payload, o.secret, coalesce(o.ordering_key, ''), o.trace, o.occurred_at, d.attempts
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

// claim returns the deliveries it locked, which the dispatcher holds in tx.
func claim(ctx context.Context, tx pgx.Tx, subscriber string, names []string, limit int) ([]Delivery, error) {
	rows, err := tx.Query(ctx, claimSQL, subscriber, names, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}

	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var c Delivery
		if err := r.Scan(&c.EventID, &c.Name, &c.Version, &c.Payload, &c.Sealed, &c.OrderingKey, &c.Trace,
			&c.OccurredAt, &c.Attempts); err != nil {
			return c, fmt.Errorf("scan: %w", err)
		}

		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}

	return out, nil
}

// processedAmong returns which events of a claimed batch the subscriber
// already processed: they are redelivered and must not run again.
func processedAmong(ctx context.Context, tx pgx.Tx, subscriber string, batch []Delivery) (map[string]bool, error) {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.EventID
	}

	rows, err := tx.Query(ctx, `SELECT event_id FROM events.processed WHERE subscriber = $1 AND event_id = ANY($2)`, subscriber, ids)
	if err != nil {
		return nil, fmt.Errorf("check processed: %w", err)
	}

	seen, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check processed: %w", err)
	}

	out := make(map[string]bool, len(seen))
	for _, id := range seen {
		out[id] = true
	}

	return out, nil
}

// recordDone marks handled and skipped deliveries delivered and records the
// handled ones as processed, in the handlers' transaction: the record that
// a handler ran commits with its effects.
func recordDone(ctx context.Context, tx pgx.Tx, subscriber string, handled, skipped []string) error {
	if err := markDelivered(ctx, tx, subscriber, append(append([]string(nil), handled...), skipped...)); err != nil {
		return err
	}

	if len(handled) == 0 {
		return nil
	}

	_, err := tx.Exec(ctx, `INSERT INTO events.processed (subscriber, event_id)
		SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, subscriber, handled)
	if err != nil {
		return fmt.Errorf("record processed: %w", err)
	}

	return nil
}

// markDelivered records deliveries as done.
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

// markFailed records a failed attempt: retried after delay, or dead. The
// delay counts from the failure (clock_timestamp), not from the start of
// the transaction that ran the handler (now()): a slow handler or a batch
// of them would otherwise eat into its backoff.
func markFailed(ctx context.Context, tx pgx.Tx, subscriber, eventID, state, lastError string, attempts int, delay time.Duration) error {
	_, err := tx.Exec(ctx, `UPDATE events.deliveries
		SET state = $3, attempts = $4, last_error = $5, next_attempt_at = clock_timestamp() + $6::interval, updated_at = now()
		WHERE subscriber = $1 AND event_id = $2`, subscriber, eventID, state, attempts, truncate(lastError, 2000), delay)
	if err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}

	return nil
}

// truncate shortens s to at most n bytes without splitting a UTF-8
// character (PostgreSQL refuses invalid UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}

	return s[:n]
}
