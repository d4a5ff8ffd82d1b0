// Package bustest helps tests of the event bus and of what modules
// publish: a Collector records the events a bus delivers, and Start runs a
// bus for the length of a test. For tests of the bus itself and of
// handlers, DB is a test's own database with the events schema, on which
// NewBus makes buses with a given transport (FastConfig retries quickly);
// its methods publish in transactions of their own and read or await the
// state of deliveries. CheckPermanentFailures is a check every transport
// passes. Production code does not import it.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/events"
)

// ErrNoEvent is returned by WaitForEvent when no event arrived in time.
var ErrNoEvent = errors.New("no event")

// Collector records the events a bus delivers to it, for tests that
// check what a module published.
type Collector struct {
	mu     sync.Mutex
	events []events.Raw
	taken  []bool        // whether WaitForEvent has returned events[i]
	added  chan struct{} // closed and replaced on every event
}

// NewCollector returns an empty collector.
func NewCollector() *Collector {
	return &Collector{added: make(chan struct{})}
}

// CollectorSubscriber is the durable subscriber name of collectors.
const CollectorSubscriber = "bustest-collector"

// Subscribe collects the events named names that bus delivers; call it
// before the bus starts (Start).
func (c *Collector) Subscribe(bus events.Subscriber, names ...string) error {
	for _, name := range names {
		if err := bus.Subscribe(CollectorSubscriber, name, c.record); err != nil {
			return err
		}
	}

	return nil
}

func (c *Collector) record(_ context.Context, e events.Raw) error {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.events = append(c.events, e)
	c.taken = append(c.taken, false)
	close(c.added)
	c.added = make(chan struct{})

	return nil
}

// WaitForEvent returns the oldest event named name that it has not returned
// before, waiting up to timeout for one to arrive; so calling it twice
// returns two events. After timeout it returns an error that wraps
// ErrNoEvent.
func (c *Collector) WaitForEvent(name string, timeout time.Duration) (events.Raw, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	for {
		e, ok, added := c.next(name)
		if ok {
			return e, nil
		}

		select {
		case <-added:
		case <-deadline.C:
			return events.Raw{}, fmt.Errorf("%w named %s within %v (got %v)", ErrNoEvent, name, timeout, c.names())
		}
	}
}

// next takes the oldest event named name not returned yet, or returns the
// channel closed at the next event.
func (c *Collector) next(name string) (events.Raw, bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()

	for i, e := range c.events {
		if e.Name == name && !c.taken[i] {
			c.taken[i] = true

			return e, true, nil
		}
	}

	return events.Raw{}, false, c.added
}

// AllEvents returns every event collected so far, in order of delivery.
func (c *Collector) AllEvents() []events.Raw {
	c.mu.Lock()
	defer c.mu.Unlock()

	return slices.Clone(c.events)
}

func (c *Collector) names() []string {
	var names []string
	for _, e := range c.AllEvents() {
		names = append(names, e.Name)
	}

	return names
}

// Wait returns the next event of type T the collector has (see
// WaitForEvent), decoded; it fails the test when none arrives in time or
// the event does not decode.
func Wait[T events.Payload](t testing.TB, c *Collector, timeout time.Duration) events.Event[T] {
	t.Helper()

	var zero T

	raw, err := c.WaitForEvent(zero.EventName(), timeout)
	if err != nil {
		t.Fatal(err)
	}

	e, err := events.Decode[T](raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw.Name, err)
	}

	return e
}

// Start starts bus (after its subscribers subscribed) and closes it
// (Close) when the test ends.
func Start(t testing.TB, bus *events.Bus) {
	t.Helper()

	if err := bus.Start(t.Context()); err != nil {
		t.Fatalf("bustest: start event bus: %v", err)
	}

	t.Cleanup(func() { Close(t, bus) })
}
