package events

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

// TestMarkFailedDelayCountsFromTheFailure records a failure late in a
// transaction: the next attempt is due the delay after the failure, not
// after the transaction began.
func TestMarkFailedDelayCountsFromTheFailure(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migration.Source{Module: SchemaName, Migrations: Migrations()})
	ctx := t.Context()

	if _, err := db.Pool.Exec(ctx, `INSERT INTO events.outbox (id, name, version, payload, occurred_at)
		VALUES ('evt_1', 'order.placed', 1, '{}', now())`); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Pool.Exec(ctx, `INSERT INTO events.deliveries (subscriber, event_id, seq) VALUES ('s', 'evt_1', 1)`); err != nil {
		t.Fatal(err)
	}

	const (
		handlerTime = 300 * time.Millisecond
		delay       = 200 * time.Millisecond
	)

	var gap time.Duration

	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var began time.Time
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&began); err != nil {
			return err
		}

		time.Sleep(handlerTime) // the handler runs

		if err := markFailed(ctx, tx, "s", "evt_1", StateFailed, "boom", 1, delay); err != nil {
			return err
		}

		var next time.Time
		if err := tx.QueryRow(ctx, `SELECT next_attempt_at FROM events.deliveries WHERE event_id = 'evt_1'`).Scan(&next); err != nil {
			return err
		}

		gap = next.Sub(began)

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if gap < handlerTime+delay {
		t.Errorf("next attempt due %v after the transaction began, want at least %v (handler time + delay)", gap, handlerTime+delay)
	}
}
