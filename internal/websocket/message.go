package websocket

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// Subprotocol is the protocol the server speaks and selects; a browser
// offers it next to its token ("bearer." + access token).
const Subprotocol = "modulith.v1"

// TokenProtocolPrefix starts the subprotocol that carries an access token.
const TokenProtocolPrefix = "bearer."

// Close codes the server sends. A client reconnects after all of them
// except CloseSessionEnded, which means "sign in again".
const (
	// CloseGoingAway: the server is shutting down; reconnect (another
	// replica answers).
	CloseGoingAway = websocket.StatusGoingAway
	// CloseTooSlow: the client did not read fast enough and messages were
	// about to be dropped; reconnect and refetch state.
	CloseTooSlow = websocket.StatusTryAgainLater
	// CloseTooManyConnections: the user already holds the most sockets a
	// replica allows.
	CloseTooManyConnections = websocket.StatusPolicyViolation
	// CloseSessionEnded: the socket's session was revoked (logout, session
	// revoked, refresh token reused); its token no longer works.
	CloseSessionEnded websocket.StatusCode = 4401
)

// ErrMessageTooLarge is returned by a fan-out for an envelope larger than
// its transport carries (under 8000 bytes for PostgreSQL NOTIFY).
var ErrMessageTooLarge = errors.New("websocket: message too large for the fan-out")

// Message is an event on its way to sockets. Exactly one of UserID and
// Broadcast says which sockets.
type Message struct {
	// Event names the event ("user.profile_updated").
	Event string `json:"event"`
	// Data is the event's payload, a JSON object.
	Data json.RawMessage `json:"data,omitempty"`
	// UserID addresses every socket of one user.
	UserID string `json:"user_id,omitempty"`
	// Broadcast addresses every socket.
	Broadcast bool `json:"broadcast,omitempty"`
}

// frame is what a client receives: {"event": "…", "data": {…}}.
type frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// encode returns the text frame of m.
func (m Message) encode() ([]byte, error) {
	if m.Event == "" {
		return nil, errors.New("websocket: message has no event name")
	}

	if (m.UserID != "") == m.Broadcast {
		return nil, fmt.Errorf("websocket: message %s must have a user ID or be a broadcast, not both or neither", m.Event)
	}

	data := m.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}

	b, err := json.Marshal(frame{Event: m.Event, Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", m.Event, err)
	}

	return b, nil
}

// Envelope is what replicas exchange through a fan-out: a message for
// sockets, a session whose sockets close, or both (message first).
type Envelope struct {
	// ID identifies what the envelope reports (the event's ID). It keeps
	// PostgreSQL from merging equal notifications sent in one transaction.
	ID string `json:"id,omitempty"`
	// Message, when set, is delivered to the sockets it addresses.
	Message *Message `json:"message,omitempty"`
	// EndSession, when set, names a session whose sockets close with
	// CloseSessionEnded.
	EndSession string `json:"end_session,omitempty"`
}

// encodeEnvelope returns env as JSON, refusing more than limit bytes.
func encodeEnvelope(env Envelope, limit int64) ([]byte, error) {
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope %s: %w", env.ID, err)
	}

	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: envelope %s is %d bytes, the limit is %d", ErrMessageTooLarge, env.ID, len(b), limit)
	}

	return b, nil
}
