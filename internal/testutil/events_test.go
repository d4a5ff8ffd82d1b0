package testutil

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
)

// collectorBus returns a durable bus on a database of its own, not started.
func collectorBus(t *testing.T) *events.Bus {
	t.Helper()

	db := NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})
	cfg := events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 3,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Retention: time.Hour,
		Workers: 2, BatchSize: 4, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}

	bus, err := events.New(db.Pool, cfg, []byte(JWTSecret), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	return bus
}

func TestEventCollector(t *testing.T) {
	t.Parallel()

	bus := collectorBus(t)
	c := NewEventCollector()

	if err := c.Subscribe(bus, "a.happened", "b.happened"); err != nil {
		t.Fatalf("Subscribe() = %v", err)
	}

	StartBus(t, bus)

	for _, name := range []string{"a.happened", "b.happened", "c.happened", "a.happened"} {
		if err := bus.Publish(t.Context(), events.Event{Name: name}); err != nil {
			t.Fatal(err)
		}
	}

	first, second := wait(t, c, "a.happened"), wait(t, c, "a.happened")
	if first.ID == "" || first.ID == second.ID {
		t.Errorf("WaitForEvent(a.happened) twice = %q and %q, want the two events", first.ID, second.ID)
	}

	wait(t, c, "b.happened")

	for _, name := range []string{"a.happened", "c.happened"} {
		if _, err := c.WaitForEvent(name, 200*time.Millisecond); !errors.Is(err, ErrNoEvent) {
			t.Errorf("WaitForEvent(%s) with none left = %v, want ErrNoEvent", name, err)
		}
	}

	if got := c.AllEvents(); len(got) != 3 {
		t.Errorf("AllEvents() = %d events, want 3 (c.happened is not subscribed)", len(got))
	}
}

func TestEventCollectorSubscribeTwice(t *testing.T) {
	t.Parallel()

	bus, err := events.New(nil, events.Config{
		Transport: events.TransportPostgres, MaxAttempts: 1, BackoffBase: 1, BackoffMax: 1, Retention: 1,
		Workers: 1, BatchSize: 1, PollInterval: 1, HandlerTimeout: 1,
	}, []byte(JWTSecret), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	if err := NewEventCollector().Subscribe(bus, "a.happened", "a.happened"); err == nil {
		t.Error("Subscribe(a.happened twice) = nil, want the duplicate refused")
	}
}

func wait(t *testing.T, c *EventCollector, name string) events.Event {
	t.Helper()

	e, err := c.WaitForEvent(name, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	return e
}

func TestEventCollectorWaitsForLaterEvent(t *testing.T) {
	t.Parallel()

	bus := collectorBus(t)
	c := NewEventCollector()

	if err := c.Subscribe(bus, events.UserCreatedEvent); err != nil {
		t.Fatal(err)
	}

	StartBus(t, bus)

	published := make(chan error, 1)

	go func() {
		time.Sleep(50 * time.Millisecond)

		published <- bus.Publish(t.Context(), events.Event{Name: events.UserCreatedEvent, Payload: map[string]any{"n": 1}})
	}()

	e, err := c.WaitForEvent(events.UserCreatedEvent, 15*time.Second)
	if err != nil || e.Payload["n"] != float64(1) { // a JSON number
		t.Errorf("WaitForEvent(%s) = %v, %v; want the event published later", events.UserCreatedEvent, e, err)
	}

	if err := <-published; err != nil {
		t.Errorf("Publish() = %v", err)
	}
}
