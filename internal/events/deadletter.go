package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeadLetter is a delivery that failed MaxAttempts times.
type DeadLetter struct {
	Subscriber string
	EventID    string
	Event      string
	Attempts   int
	LastError  string
	FailedAt   time.Time
}

// DeadLetters lists dead deliveries, oldest failure first; subscriber ""
// means all.
func (b *Bus) DeadLetters(ctx context.Context, subscriber string) ([]DeadLetter, error) {
	rows, err := b.pool.Query(ctx, `SELECT d.subscriber, d.event_id, o.name, d.attempts, coalesce(d.last_error, ''), d.updated_at
		FROM events.deliveries d JOIN events.outbox o ON o.id = d.event_id
		WHERE d.state = 'dead' AND ($1 = '' OR d.subscriber = $1)
		ORDER BY d.updated_at, d.subscriber, d.event_id`, subscriber)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}

	letters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DeadLetter])
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}

	return letters, nil
}

// Redrive makes dead deliveries pending again, with their attempts reset,
// and wakes the dispatchers. subscriber and eventID narrow it ("" = all).
// It returns how many were redriven. Secrets erased after the delivery
// died are not restored: such an event arrives without them.
func (b *Bus) Redrive(ctx context.Context, subscriber, eventID string) (int64, error) {
	var n int64

	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE events.deliveries
			SET state = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(),
			    published_at = NULL, updated_at = now()
			WHERE state = 'dead' AND ($1 = '' OR subscriber = $1) AND ($2 = '' OR event_id = $2)`,
			subscriber, eventID)
		if err != nil {
			return fmt.Errorf("reset deliveries: %w", err)
		}

		n = tag.RowsAffected()

		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, 'redrive')", notifyChannel); err != nil {
			return fmt.Errorf("notify: %w", err)
		}

		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redrive: %w", err)
	}

	return n, nil
}

// Discard gives up one dead delivery for good: it deletes it, so that it
// is no longer listed, counted (events_deliveries{state="dead"}) or
// redriven; the event goes with the next purge once no other delivery
// waits for it. Only a dead delivery is discarded; it returns how many
// were (0 or 1).
func (b *Bus) Discard(ctx context.Context, subscriber, eventID string) (int64, error) {
	if subscriber == "" || eventID == "" {
		return 0, fmt.Errorf("discard: want a subscriber and an event ID")
	}

	tag, err := b.pool.Exec(ctx, `DELETE FROM events.deliveries
		WHERE state = 'dead' AND subscriber = $1 AND event_id = $2`, subscriber, eventID)
	if err != nil {
		return 0, fmt.Errorf("discard dead delivery: %w", err)
	}

	return tag.RowsAffected(), nil
}
