package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/modulith/modulith/internal/events"
)

// SubscriberName is the forwarder's durable subscriber name on the bus.
const SubscriberName = "websocket"

// Subscriber registers event handlers (events.Bus).
type Subscriber interface {
	Subscribe(subscriber, event string, h events.Handler) error
}

// Fanout carries an envelope to the hub of every replica, this one
// included. A replica that is not listening at that moment misses it.
type Fanout interface {
	Publish(ctx context.Context, env Envelope) error
}

// Forwarder turns bus events into envelopes on the fan-out: the events of
// the declared routes become messages for their user (or everyone), and
// auth.session_revoked ends the sockets of its session on every replica.
// The bus hands each event to one process of the cluster; the fan-out
// reaches the replica that holds the sockets.
type Forwarder struct {
	routes map[string]Route
	fanout Fanout
	logger *slog.Logger
}

// NewForwarder checks routes (one per event, each named) and returns a
// forwarder publishing to fanout.
func NewForwarder(routes []Route, fanout Fanout, logger *slog.Logger) (*Forwarder, error) {
	byEvent := make(map[string]Route, len(routes))

	for _, r := range routes {
		if r.Event == "" {
			return nil, errors.New("websocket: a realtime route has no event name")
		}

		if _, dup := byEvent[r.Event]; dup {
			return nil, fmt.Errorf("websocket: event %s routed twice", r.Event)
		}

		byEvent[r.Event] = r
	}

	return &Forwarder{routes: byEvent, fanout: fanout, logger: logger}, nil
}

// Subscribe subscribes the forwarder to every routed event and to
// auth.session_revoked; call it before the bus starts.
func (f *Forwarder) Subscribe(bus Subscriber) error {
	names := make([]string, 0, len(f.routes)+1)
	for name := range f.routes {
		names = append(names, name)
	}

	if _, routed := f.routes[events.SessionRevokedEvent]; !routed {
		names = append(names, events.SessionRevokedEvent)
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
// payload without its user key, an envelope too large to carry) is logged
// and skipped, since retrying cannot fix it; a fan-out failure is returned
// for the bus to retry.
func (f *Forwarder) handle(ctx context.Context, e events.Event) error {
	env, err := f.envelope(e)
	if err != nil {
		f.skip(ctx, e, err)

		return nil
	}

	if env.Message == nil && env.EndSession == "" {
		return nil
	}

	err = f.fanout.Publish(ctx, env)
	if errors.Is(err, ErrMessageTooLarge) {
		f.skip(ctx, e, err)

		return nil
	}

	return err
}

func (f *Forwarder) skip(ctx context.Context, e events.Event, err error) {
	f.logger.ErrorContext(ctx, "websocket: event not forwarded", "event", e.Name, "event_id", e.ID, "error", err)
}

// envelope builds what e asks the replicas to do. The message's data is
// the event's payload, never its secret.
func (f *Forwarder) envelope(e events.Event) (Envelope, error) {
	env := Envelope{ID: e.ID}

	if r, ok := f.routes[e.Name]; ok {
		m, err := r.message(e)
		if err != nil {
			return Envelope{}, err
		}

		env.Message = &m
	}

	if e.Name == events.SessionRevokedEvent {
		sid, _ := e.Payload[events.KeySessionID].(string)
		if sid == "" {
			return Envelope{}, fmt.Errorf("payload has no %s", events.KeySessionID)
		}

		env.EndSession = sid
	}

	return env, nil
}

// message is the message of an event on r.
func (r Route) message(e events.Event) (Message, error) {
	data, err := json.Marshal(e.Payload)
	if err != nil {
		return Message{}, fmt.Errorf("encode payload: %w", err)
	}

	m := Message{Event: e.Name, Data: data}

	if r.UserKey == "" {
		m.Broadcast = true

		return m, nil
	}

	m.UserID, _ = e.Payload[r.UserKey].(string)
	if m.UserID == "" {
		// Never broadcast what was meant for one user.
		return Message{}, fmt.Errorf("payload has no user ID under %s", r.UserKey)
	}

	return m, nil
}
