package websocket

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/modulith/modulith/internal/events"
)

// SubscriberName is the forwarder's durable subscriber name on the bus.
const SubscriberName = "websocket"

// Fanout carries an envelope to the hub of every replica, this one
// included. A replica that is not listening at that moment misses it.
type Fanout interface {
	Publish(ctx context.Context, env Envelope) error
}

// Forwarder turns bus events into envelopes on the fan-out, as the
// modules' routes say. The bus hands each event to one process of the
// cluster; the fan-out reaches the replica that holds the sockets.
type Forwarder struct {
	routes map[string]forward
	fanout Fanout
}

// forward is what the routes of one event do.
type forward struct {
	message, session Route
}

// NewForwarder checks routes (at most one message route and one session
// route per event) and returns a forwarder publishing to fanout.
func NewForwarder(routes []Route, fanout Fanout) (*Forwarder, error) {
	byEvent := make(map[string]forward, len(routes))

	for _, r := range routes {
		if r.event == "" || (r.message == nil) == (r.session == nil) {
			return nil, errors.New("websocket: a route must be made by ToUser, ToEveryone or EndSession")
		}

		f := byEvent[r.event]

		slot := &f.message
		if r.session != nil {
			slot = &f.session
		}

		if slot.event != "" {
			return nil, fmt.Errorf("websocket: event %s routed twice", r.event)
		}

		*slot = r
		byEvent[r.event] = f
	}

	return &Forwarder{routes: byEvent, fanout: fanout}, nil
}

// Subscribe subscribes the forwarder to every routed event; call it
// before the bus starts.
func (f *Forwarder) Subscribe(bus events.Subscriber) error {
	names := make([]string, 0, len(f.routes))
	for name := range f.routes {
		names = append(names, name)
	}

	sort.Strings(names)

	for _, name := range names {
		if err := bus.Subscribe(SubscriberName, name, f.handle); err != nil {
			return fmt.Errorf("websocket: %w", err)
		}
	}

	return nil
}

// handle publishes the envelope of e. An event that cannot make one (a
// payload that does not decode or names no user, an envelope too large to
// carry) is a permanent failure, a dead letter; a fan-out failure is
// retried by the bus.
func (f *Forwarder) handle(ctx context.Context, e events.Raw) error {
	env, err := f.envelope(e)
	if err != nil {
		return err
	}

	err = f.fanout.Publish(ctx, env)
	if errors.Is(err, ErrMessageTooLarge) {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Name, e.ID, err))
	}

	return err
}

// envelope builds what e asks the replicas to do.
func (f *Forwarder) envelope(e events.Raw) (Envelope, error) {
	routes := f.routes[e.Name]
	env := Envelope{ID: e.ID}

	if routes.message.message != nil {
		m, err := routes.message.message(e)
		if err != nil {
			return Envelope{}, err
		}

		env.Message = &m
	}

	if routes.session.session != nil {
		id, err := routes.session.session(e)
		if err != nil {
			return Envelope{}, err
		}

		env.EndSession = id
	}

	return env, nil
}
