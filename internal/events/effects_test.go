package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/testutil"
)

// withEffects creates the table that handlers write their effects to, in a
// schema of its own.
func (env *pgEnv) withEffects() {
	env.t.Helper()

	env.exec(`CREATE SCHEMA fx; CREATE TABLE fx.effects (event_id text NOT NULL, attempt int NOT NULL)`)
}

// recordEffect writes an effect through the handler's transaction.
func recordEffect(ctx context.Context, e events.Event) error {
	tx, ok := events.Tx(ctx)
	if !ok {
		return errors.New("no transaction in the handler's context")
	}

	if _, err := tx.Exec(ctx, "INSERT INTO fx.effects VALUES ($1, $2)", e.ID, e.Attempt); err != nil {
		return fmt.Errorf("record effect: %w", err)
	}

	return nil
}

// effects returns the attempts that left an effect for eventID.
func (env *pgEnv) effects(eventID string) []int {
	env.t.Helper()

	var attempts []int
	env.scan([]any{&attempts}, "SELECT coalesce(array_agg(attempt ORDER BY attempt), '{}') FROM fx.effects WHERE event_id = $1", eventID)

	return attempts
}

func TestHandlerEffectsCommitOnlyWithSuccess(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	env.withEffects()

	bus := env.newBus(fastConfig())
	subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Event) error {
		if err := recordEffect(ctx, e); err != nil {
			return err
		}

		if e.Attempt < 3 {
			return errBoom // after writing: the write must not stay
		}

		return nil
	})
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)
	env.awaitState("ledger", e.ID, events.StateDelivered)

	if got := env.effects(e.ID); len(got) != 1 || got[0] != 3 {
		t.Errorf("effects of %s = attempts %v, want only the successful attempt [3]", e.ID, got)
	}
}

func TestHandlerOfDeadDeliveryLeavesNoEffect(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	env.withEffects()

	cfg := fastConfig()
	cfg.MaxAttempts = 2

	bus := env.newBus(cfg)
	subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Event) error {
		return errors.Join(recordEffect(ctx, e), errBoom)
	})
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)
	env.awaitState("ledger", e.ID, events.StateDead)

	if got := env.effects(e.ID); len(got) != 0 {
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

	env := newPGEnv(t)
	env.withEffects()

	bus := env.newBus(fastConfig())
	subscribe(t, bus, "ledger", "order.placed", recordEffect)
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)
	env.awaitState("ledger", e.ID, events.StateDelivered)

	env.exec("UPDATE events.deliveries SET state = 'dead' WHERE event_id = $1", e.ID)

	if n, err := bus.Redrive(t.Context(), "ledger", e.ID); n != 1 || err != nil {
		t.Fatalf("Redrive() = %d, %v; want 1", n, err)
	}

	env.awaitState("ledger", e.ID, events.StateDelivered)

	if got := env.effects(e.ID); len(got) != 1 {
		t.Errorf("effects of %s delivered twice = attempts %v, want one", e.ID, got)
	}
}

// TestHandlerTimeoutIsRecordedAsFailure: a handler that overruns
// HandlerTimeout inside a query on Tx(ctx) fails like any other: the
// failure is recorded and the delivery retried.
func TestHandlerTimeoutIsRecordedAsFailure(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	cfg := fastConfig()
	cfg.HandlerTimeout = 300 * time.Millisecond

	bus := env.newBus(cfg)
	subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Event) error {
		if e.Attempt > 1 {
			return nil
		}

		tx, _ := events.Tx(ctx)
		if _, err := tx.Exec(ctx, "SELECT pg_sleep(2)"); err != nil {
			return fmt.Errorf("slow query: %w", err)
		}

		return nil
	})
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)

	if got := env.awaitState("ledger", e.ID, events.StateDelivered); got.Attempts != 2 {
		t.Errorf("delivered after %d attempts, want 2 (the first timed out)", got.Attempts)
	}
}

// TestLongNonASCIIErrorIsRecorded: last_error is cut to 2000 bytes, which
// must not split a UTF-8 character (PostgreSQL refuses invalid text, and
// the failure would never be recorded).
func TestLongNonASCIIErrorIsRecorded(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	cfg := fastConfig()
	cfg.MaxAttempts = 1

	bus := env.newBus(cfg)
	subscribe(t, bus, "mailer", "order.placed", func(_ context.Context, e events.Event) error {
		// The bus prefixes "subscriber mailer, event <id>: "; pad so that
		// byte 2000 falls inside a two-byte "é".
		prefix := len("subscriber mailer, event " + e.ID + ": ")
		pad := strings.Repeat("x", (prefix+1)%2)

		return errors.New(pad + strings.Repeat("é", 1500))
	})
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)

	if got := env.awaitState("mailer", e.ID, events.StateDead); !strings.Contains(got.LastError, "ééé") {
		t.Errorf("dead delivery's last error = %.40q…, want the handler's message", got.LastError)
	}
}
