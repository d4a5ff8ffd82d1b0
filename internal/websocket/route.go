package websocket

import (
	"errors"
	"fmt"

	"github.com/modulith/modulith/internal/events"
)

// Route says what the events of one type do to WebSocket clients: reach
// the sockets of one user (ToUser) or every socket (ToEveryone), or close
// the sockets of a session (EndSession). Modules declare their routes; the
// platform knows no event names. An event may have a route of each kind.
type Route struct {
	event string
	// message builds the message of an event, for ToUser and ToEveryone.
	message func(raw events.Raw) (Message, error)
	// session names the session an event ends, for EndSession.
	session func(raw events.Raw) (string, error)
}

// Event names the events the route handles.
func (r Route) Event() string { return r.event }

// errNoUser stops an event meant for one user from going to everyone.
var errNoUser = errors.New("no user ID in the payload")

// ToUser sends the events of type T to the sockets of the user userID
// names. The message's data is the event's payload, never its secrets.
func ToUser[T events.Payload](userID func(T) string) Route {
	var zero T

	return Route{event: zero.EventName(), message: func(raw events.Raw) (Message, error) {
		e, err := events.Decode[T](raw)
		if err != nil {
			return Message{}, err
		}

		id := userID(e.Payload)
		if id == "" {
			return Message{}, events.Permanent(fmt.Errorf("%s %s: %w", raw.Name, raw.ID, errNoUser))
		}

		return Message{Event: raw.Name, Data: raw.Payload, UserID: id}, nil
	}}
}

// ToEveryone sends the events of type T to every socket.
func ToEveryone[T events.Payload]() Route {
	var zero T

	return Route{event: zero.EventName(), message: func(raw events.Raw) (Message, error) {
		if _, err := events.Decode[T](raw); err != nil {
			return Message{}, err
		}

		return Message{Event: raw.Name, Data: raw.Payload, Broadcast: true}, nil
	}}
}

// EndSession closes, on every replica, the sockets opened with the session
// that sessionID names (with CloseSessionEnded): a session revoked by the
// module that owns sessions.
func EndSession[T events.Payload](sessionID func(T) string) Route {
	var zero T

	return Route{event: zero.EventName(), session: func(raw events.Raw) (string, error) {
		e, err := events.Decode[T](raw)
		if err != nil {
			return "", err
		}

		id := sessionID(e.Payload)
		if id == "" {
			return "", events.Permanent(fmt.Errorf("%s %s: no session ID in the payload", raw.Name, raw.ID))
		}

		return id, nil
	}}
}
