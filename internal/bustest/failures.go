package bustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/events"
)

// orderPlaced is the typed payload of CheckPermanentFailures; its ordering
// key finds its event (DB.EventWithKey).
type orderPlaced struct {
	OrderID string `json:"order_id"`
	Total   int64  `json:"total"`
}

const orderPlacedVersion = 2

// The orders of CheckPermanentFailures, named for their handler's outcome.
const (
	orderPermanent = "ord_permanent"
	orderWrapped   = "ord_wrapped"
	orderFlaky     = "ord_flaky"
	orderBad       = "ord_bad"
)

func (orderPlaced) EventName() string { return "order.placed" }

func (orderPlaced) EventVersion() int { return orderPlacedVersion }

func (p orderPlaced) OrderingKey() string { return p.OrderID }

// errUnavailable is what the handler of CheckPermanentFailures fails with.
var errUnavailable = errors.New("downstream unavailable")

// CheckPermanentFailures checks how the failures of a typed handler end
// its deliveries, as every transport must end them: a Permanent error,
// wrapped or not, makes the delivery dead at once; a plain error is
// retried; a payload that does not decode is dead at once and never
// reaches the handler. bus, on db, must not be started: the check
// subscribes "typed" to order.placed, then starts it until the test ends.
func CheckPermanentFailures(t testing.TB, db *DB, bus *events.Bus) {
	t.Helper()

	runs := &Runs{}

	err := events.Subscribe(bus, "typed", func(_ context.Context, e events.Event[orderPlaced]) error {
		runs.Add(e.Payload.OrderID)

		return permanentRuleOutcome(e)
	})
	if err != nil {
		t.Fatalf("Subscribe[orderPlaced](typed) = %v", err)
	}

	Start(t, bus)

	for _, id := range []string{orderPermanent, orderWrapped, orderFlaky} {
		db.Publish(bus, orderPlaced{OrderID: id})
	}

	db.PublishRaw(bus, events.Raw{Name: "order.placed", Version: orderPlacedVersion, OrderingKey: orderBad,
		Payload: json.RawMessage(`{"order_id": "ord_bad", "total": "many"}`)})

	dead := []struct {
		id      string
		runs    int
		wantErr string
	}{
		{id: orderPermanent, runs: 1, wantErr: errUnavailable.Error()},
		{id: orderWrapped, runs: 1, wantErr: "send: " + errUnavailable.Error()},
		{id: orderBad, runs: 0, wantErr: "orderPlaced"},
	}

	for _, tt := range dead {
		d := db.AwaitState("typed", db.EventWithKey(tt.id), events.StateDead)
		if n := count(runs.All(), tt.id); d.Attempts != 1 || !strings.Contains(d.LastError, tt.wantErr) || n != tt.runs {
			t.Errorf("%s: dead delivery %+v after %d handler runs, want 1 attempt, %d runs and an error about %q",
				tt.id, d, n, tt.runs, tt.wantErr)
		}
	}

	d := db.AwaitState("typed", db.EventWithKey(orderFlaky), events.StateDelivered)
	if n := count(runs.All(), orderFlaky); d.Attempts != 2 || n != 2 {
		t.Errorf("plain error: delivery %+v after %d handler runs, want delivered on attempt 2", d, n)
	}
}

// permanentRuleOutcome fails ord_permanent and ord_wrapped for good, and
// ord_flaky's first attempt only.
func permanentRuleOutcome(e events.Event[orderPlaced]) error {
	switch e.Payload.OrderID {
	case orderPermanent:
		return events.Permanent(errUnavailable)
	case orderWrapped:
		return fmt.Errorf("send: %w", events.Permanent(errUnavailable))
	case orderFlaky:
		if e.Attempt == 1 {
			return errUnavailable
		}
	}

	return nil
}

// count returns how many of runs are run.
func count(runs []string, run string) int {
	n := 0

	for _, r := range runs {
		if r == run {
			n++
		}
	}

	return n
}
