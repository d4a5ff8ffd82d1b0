package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maintenanceEvery is how often secrets of finished events are erased;
// retention purges run every purgeEvery.
const (
	maintenanceEvery = 5 * time.Second
	purgeEvery       = 10 * time.Minute
)

// maintain erases the secrets of events whose deliveries have all ended and
// purges delivered events past retention. Every replica may run it: the
// statements are idempotent.
func (b *Bus) maintain(ctx context.Context) {
	tick := time.NewTicker(maintenanceEvery)
	defer tick.Stop()

	lastPurge := time.Time{}

	for {
		if _, err := b.EraseSecrets(ctx); err != nil && ctx.Err() == nil {
			b.logger.WarnContext(ctx, "events: erase secrets", "error", err)
		}

		if time.Since(lastPurge) >= purgeEvery {
			b.housekeep(ctx)

			lastPurge = time.Now()
		}

		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// housekeep keeps this process's subscriptions marked as seen and purges
// what is past the retention.
func (b *Bus) housekeep(ctx context.Context) {
	if err := registerSubscriptions(ctx, b.pool, b.subscribers()); err != nil && ctx.Err() == nil {
		b.logger.WarnContext(ctx, "events: refresh subscriptions", "error", err)
	}

	if _, err := b.Purge(ctx); err != nil && ctx.Err() == nil {
		b.logger.WarnContext(ctx, "events: purge", "error", err)
	}
}

// EraseSecrets erases the sealed secrets of events none of whose
// deliveries is pending or failing any more, and returns how many.
func (b *Bus) EraseSecrets(ctx context.Context) (int64, error) {
	tag, err := b.pool.Exec(ctx, `UPDATE events.outbox o SET secret = NULL
		WHERE o.secret IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM events.deliveries d WHERE d.event_id = o.id AND d.state IN ('pending', 'failed'))`)
	if err != nil {
		return 0, fmt.Errorf("erase secrets: %w", err)
	}

	return tag.RowsAffected(), nil
}

// Purge deletes events older than the retention whose deliveries all
// succeeded (dead or pending ones are kept for inspection and redrive), and
// idempotency records past the retention. It also drops the subscriptions
// no process has registered for longer than the retention (a subscriber
// removed from the code) with their unfinished deliveries, which nobody
// would ever handle. It returns the events deleted.
func (b *Bus) Purge(ctx context.Context) (int64, error) {
	cutoff := b.now().Add(-b.cfg.Retention)

	if err := dropAbandoned(ctx, b.pool, cutoff); err != nil {
		return 0, err
	}

	tag, err := b.pool.Exec(ctx, `DELETE FROM events.outbox o
		WHERE o.created_at < $1 AND NOT EXISTS (
			SELECT 1 FROM events.deliveries d WHERE d.event_id = o.id AND d.state <> 'delivered')`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("purge events: %w", err)
	}

	if _, err := b.pool.Exec(ctx, `DELETE FROM events.processed WHERE processed_at < $1`, cutoff); err != nil {
		return tag.RowsAffected(), fmt.Errorf("purge idempotency records: %w", err)
	}

	return tag.RowsAffected(), nil
}

// dropAbandoned deletes subscriptions unseen since cutoff and the deliveries
// no remaining subscription will handle.
func dropAbandoned(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM events.subscriptions WHERE seen_at < $1`, cutoff); err != nil {
			return fmt.Errorf("subscriptions: %w", err)
		}

		_, err := tx.Exec(ctx, `DELETE FROM events.deliveries d
			WHERE d.state IN ('pending', 'failed', 'dead') AND NOT EXISTS (
				SELECT 1 FROM events.subscriptions s WHERE s.subscriber = d.subscriber)`)
		if err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("drop abandoned subscriptions: %w", err)
	}

	return nil
}
