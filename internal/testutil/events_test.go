package testutil

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/events"
)

func TestEventCollector(t *testing.T) {
	t.Parallel()

	bus := events.NewBus(slog.New(slog.DiscardHandler))
	c := NewEventCollector()
	c.Subscribe(bus, "a.happened", "b.happened")

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
		if _, err := c.WaitForEvent(name, 50*time.Millisecond); !errors.Is(err, ErrNoEvent) {
			t.Errorf("WaitForEvent(%s) with none left = %v, want ErrNoEvent", name, err)
		}
	}

	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	if got := c.AllEvents(); len(got) != 3 {
		t.Errorf("AllEvents() = %d events, want 3 (c.happened is not subscribed)", len(got))
	}
}

func wait(t *testing.T, c *EventCollector, name string) events.Event {
	t.Helper()

	e, err := c.WaitForEvent(name, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	return e
}

func TestEventCollectorWaitsForLaterEvent(t *testing.T) {
	t.Parallel()

	bus := events.NewBus(slog.New(slog.DiscardHandler))
	c := NewEventCollector()
	c.Subscribe(bus, events.UserCreatedEvent)

	go func() {
		time.Sleep(50 * time.Millisecond)

		_ = bus.Publish(t.Context(), events.Event{Name: events.UserCreatedEvent, Payload: map[string]any{"n": 1}})
	}()

	e, err := c.WaitForEvent(events.UserCreatedEvent, 5*time.Second)
	if err != nil || e.Payload["n"] != 1 {
		t.Errorf("WaitForEvent(%s) = %v, %v; want the event published later", events.UserCreatedEvent, e, err)
	}
}
