package events

import (
	"context"
	"fmt"
	"time"
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
			if _, err := b.Purge(ctx); err != nil && ctx.Err() == nil {
				b.logger.WarnContext(ctx, "events: purge", "error", err)
			}

			lastPurge = time.Now()
		}

		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
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
// idempotency records past the retention. It returns the events deleted.
func (b *Bus) Purge(ctx context.Context) (int64, error) {
	cutoff := b.now().Add(-b.cfg.Retention)

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
