package testutil

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/modulith/modulith/internal/events"
)

// ErrNoEvent is returned by WaitForEvent when no event arrived in time.
var ErrNoEvent = errors.New("no event")

// EventCollector records the events a bus delivers to it, for tests that
// check what a module published.
type EventCollector struct {
	mu     sync.Mutex
	events []events.Event
	taken  []bool        // whether WaitForEvent has returned events[i]
	added  chan struct{} // closed and replaced on every event
}

// NewEventCollector returns an empty collector.
func NewEventCollector() *EventCollector {
	return &EventCollector{added: make(chan struct{})}
}

// CollectorSubscriber is the durable subscriber name of collectors.
const CollectorSubscriber = "testutil-collector"

// Subscribe collects the events named names that bus delivers; call it
// before the bus starts (StartBus).
func (c *EventCollector) Subscribe(bus *events.Bus, names ...string) error {
	for _, name := range names {
		if err := bus.Subscribe(CollectorSubscriber, name, c.record); err != nil {
			return err
		}
	}

	return nil
}

func (c *EventCollector) record(_ context.Context, e events.Event) error {
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
func (c *EventCollector) WaitForEvent(name string, timeout time.Duration) (events.Event, error) {
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
			return events.Event{}, fmt.Errorf("%w named %s within %v (got %v)", ErrNoEvent, name, timeout, c.names())
		}
	}
}

// next takes the oldest event named name not returned yet, or returns the
// channel closed at the next event.
func (c *EventCollector) next(name string) (events.Event, bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()

	for i, e := range c.events {
		if e.Name == name && !c.taken[i] {
			c.taken[i] = true

			return e, true, nil
		}
	}

	return events.Event{}, false, c.added
}

// AllEvents returns every event collected so far, in order of delivery.
func (c *EventCollector) AllEvents() []events.Event {
	c.mu.Lock()
	defer c.mu.Unlock()

	return slices.Clone(c.events)
}

func (c *EventCollector) names() []string {
	var names []string
	for _, e := range c.AllEvents() {
		names = append(names, e.Name)
	}

	return names
}
