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
	c := newClient(h, nil, userID, sessionID)

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
	select {
	case <-l.c.stop:
		return Message{}, l.Err()
	default:
	}

	select {
	case <-l.c.stop:
		return Message{}, l.Err()
	case <-ctx.Done():
		return Message{}, ctx.Err()
	case b := <-l.c.send:
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			return Message{}, fmt.Errorf("websocket: decode frame: %w", err)
		}

		return Message{Event: f.Event, Data: f.Data, UserID: l.c.userID}, nil
	}
}

// Done is closed when the listener ends; Err then says why.
func (l *Listener) Done() <-chan struct{} { return l.c.stop }

// Err returns why the listener ended, nil while it has not.
func (l *Listener) Err() error {
	select {
	case <-l.c.stop:
	default:
		return nil
	}

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
