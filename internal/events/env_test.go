package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/secrets"
)

// The database and bus plumbing of these tests is bustest's, shared with
// natsbus's tests; what follows only these tests use.

// sealKey keys the sealing of event secrets where a test calls events.New
// itself, to see it refuse a configuration.
var sealKey = secrets.Fixed([]byte("events-test-key-0123456789abcdef"))

func nopHandler(context.Context, events.Raw) error { return nil }

// queryStrings returns the one text column of the rows sql selects.
func queryStrings(t *testing.T, db *bustest.DB, sql string, args ...any) []string {
	t.Helper()

	rows, err := db.Pool.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}

	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	return out
}

// deliveriesOf lists "subscriber state" of an event's deliveries.
func deliveriesOf(t *testing.T, db *bustest.DB, eventID string) []string {
	t.Helper()

	return queryStrings(t, db, "SELECT subscriber || ' ' || state FROM events.deliveries WHERE event_id = $1 ORDER BY subscriber", eventID)
}

// secretOf returns the sealed secret stored with an event (nil once
// erased).
func secretOf(db *bustest.DB, eventID string) []byte {
	var sealed []byte
	db.Scan([]any{&sealed}, "SELECT secret FROM events.outbox WHERE id = $1", eventID)

	return sealed
}

// sink records the events a handler receives.
type sink struct {
	ch chan events.Raw
}

func newSink() *sink { return &sink{ch: make(chan events.Raw, 1024)} }

func (s *sink) handle(_ context.Context, e events.Raw) error {
	s.ch <- e

	return nil
}

func (s *sink) next(t *testing.T) events.Raw {
	t.Helper()

	return bustest.Receive(t, s.ch)
}

// none checks that nothing more arrives within d.
func (s *sink) none(t *testing.T, d time.Duration) {
	t.Helper()

	select {
	case e := <-s.ch:
		t.Errorf("handled %s %s, want nothing", e.Name, e.ID)
	case <-time.After(d):
	}
}
