package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

func TestHandlerEffectsCommitOnlyWithSuccess(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	db.CreateEffects()

	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	bustest.Subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Raw) error {
		if err := bustest.RecordEffect(ctx, e); err != nil {
			return err
		}

		if e.Attempt < 3 {
			return errBoom // after writing: the write must not stay
		}

		return nil
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)
	db.AwaitState("ledger", e.ID, events.StateDelivered)

	if got := db.Effects(e.ID); len(got) != 1 || got[0] != 3 {
		t.Errorf("effects of %s = attempts %v, want only the successful attempt [3]", e.ID, got)
	}
}

func TestHandlerOfDeadDeliveryLeavesNoEffect(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	db.CreateEffects()

	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 2

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Raw) error {
		return errors.Join(bustest.RecordEffect(ctx, e), errBoom)
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)
	db.AwaitState("ledger", e.ID, events.StateDead)

	if got := db.Effects(e.ID); len(got) != 0 {
		t.Errorf("effects of %s = attempts %v, want none", e.ID, got)
	}
}

// TestRedeliveredEventIsSkipped: doc.go promises that "the bus records
// (subscriber, event ID) in the handler's transaction (Tx), so a
// redelivered event is skipped" (events.processed). Here a delivery that
// succeeded is delivered again (its row made dead, then redriven): the
// handler's effect must not be applied twice.
func TestRedeliveredEventIsSkipped(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	db.CreateEffects()

	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	bustest.Subscribe(t, bus, "ledger", "order.placed", bustest.RecordEffect)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)
	db.AwaitState("ledger", e.ID, events.StateDelivered)

	db.Exec("UPDATE events.deliveries SET state = 'dead' WHERE event_id = $1", e.ID)

	if n, err := bus.Redrive(t.Context(), "ledger", e.ID); n != 1 || err != nil {
		t.Fatalf("Redrive() = %d, %v; want 1", n, err)
	}

	db.AwaitState("ledger", e.ID, events.StateDelivered)

	if got := db.Effects(e.ID); len(got) != 1 {
		t.Errorf("effects of %s delivered twice = attempts %v, want one", e.ID, got)
	}
}

// TestHandlerTimeoutIsRecordedAsFailure: a handler that overruns
// HandlerTimeout inside a query on Tx(ctx) fails like any other: the
// failure is recorded and the delivery retried.
func TestHandlerTimeoutIsRecordedAsFailure(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.HandlerTimeout = 300 * time.Millisecond

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Raw) error {
		if e.Attempt > 1 {
			return nil
		}

		tx, _ := events.Tx(ctx)
		if _, err := tx.Exec(ctx, "SELECT pg_sleep(2)"); err != nil {
			return fmt.Errorf("slow query: %w", err)
		}

		return nil
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)

	if got := db.AwaitState("ledger", e.ID, events.StateDelivered); got.Attempts != 2 {
		t.Errorf("delivered after %d attempts, want 2 (the first timed out)", got.Attempts)
	}
}

// TestLongNonASCIIErrorIsRecorded: last_error is cut to 2000 bytes, which
// must not split a UTF-8 character (PostgreSQL refuses invalid text, and
// the failure would never be recorded).
func TestLongNonASCIIErrorIsRecorded(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 1

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "mailer", "order.placed", func(_ context.Context, e events.Raw) error {
		// The bus prefixes "subscriber mailer, event <id>: "; pad so that
		// byte 2000 falls inside a two-byte "é".
		prefix := len("subscriber mailer, event " + e.ID + ": ")
		pad := strings.Repeat("x", (prefix+1)%2)

		return errors.New(pad + strings.Repeat("é", 1500))
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)

	if got := db.AwaitState("mailer", e.ID, events.StateDead); !strings.Contains(got.LastError, "ééé") {
		t.Errorf("dead delivery's last error = %.40q…, want the handler's message", got.LastError)
	}
}
