package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// Why a listener ended, as Listener.Next reports it.
var (
	// ErrSessionEnded: the listener's session was revoked; its token no
	// longer works.
	ErrSessionEnded = errors.New("websocket: session ended")
	// ErrGoingAway: the hub is closing (the server shuts down).
	ErrGoingAway = errors.New("websocket: server shutting down")
	// ErrTooSlow: the listener let its queue fill; messages were dropped.
	ErrTooSlow = errors.New("websocket: listener too slow: send buffer full")
	// ErrTooMany: the user already holds the most sockets and listeners a
	// replica allows.
	ErrTooMany = errTooMany
)

// Listener receives, in this process, what a socket of one user's session
// would: the messages addressed to the user, on every replica, until the
// session ends or the hub closes. It is how another protocol on a socket
// of its own (GraphQL subscriptions) gets the same events as /ws. It counts
// against the user's MaxUserConnections, like a socket.
type Listener struct {
	c *client
}

// Listen registers a listener for the session sessionID of userID. Close
// it when done.
func (h *Hub) Listen(userID, sessionID string) (*Listener, error) {
	c := newListener(h, userID, sessionID)

	h.mu.Lock()
	defer h.mu.Unlock()

	switch {
	case h.closed:
		return nil, ErrGoingAway
	case len(h.users[userID]) >= h.cfg.MaxUserConnections:
		return nil, ErrTooMany
	}

	add(h.users, userID, c)
	add(h.sessions, sessionID, c)

	return &Listener{c: c}, nil
}

// Next returns the next message, or the reason the listener ended
// (ErrSessionEnded, ErrGoingAway, ErrTooSlow, or ctx's error). Messages
// queued when it ends are dropped.
func (l *Listener) Next(ctx context.Context) (Message, error) {
	for {
		b, err := l.take()
		if err != nil {
			return Message{}, err
		}

		if b != nil {
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				return Message{}, fmt.Errorf("websocket: decode frame: %w", err)
			}

			return Message{Event: f.Event, Data: f.Data, UserID: l.c.userID}, nil
		}

		select {
		case <-l.c.done:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-l.c.wake:
		}
	}
}

// take returns the next queued frame, nil if none waits, or why the
// listener ended.
func (l *Listener) take() ([]byte, error) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()

	switch {
	case c.stopped:
		return nil, l.reason()
	case c.queue.len() == 0:
		return nil, nil
	default:
		return c.queue.pop(), nil
	}
}

// Done is closed when the listener ends; Err then says why.
func (l *Listener) Done() <-chan struct{} { return l.c.done }

// Err returns why the listener ended, nil while it has not.
func (l *Listener) Err() error {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()

	if !l.c.stopped {
		return nil
	}

	return l.reason()
}

// reason maps the close code of an ended listener to its error; c.mu is
// held.
func (l *Listener) reason() error {
	switch l.c.code {
	case CloseSessionEnded:
		return ErrSessionEnded
	case CloseTooSlow:
		return ErrTooSlow
	case CloseGoingAway:
		return ErrGoingAway
	default:
		return context.Canceled
	}
}

// Close unregisters the listener; Next then returns context.Canceled.
// Later calls do nothing.
func (l *Listener) Close() {
	l.c.close(websocket.StatusNormalClosure, "")

	h := l.c.hub
	h.mu.Lock()
	defer h.mu.Unlock()

	remove(h.users, l.c.userID, l.c)
	remove(h.sessions, l.c.sessionID, l.c)
}
