package examples

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The graphql-transport-ws close code for a connection_init without valid
// credentials, and the query of the subscription the tests hold.
const (
	closeUnauthorized = 4401
	orderCreatedQuery = "subscription { orderCreated { orderId } }"
)

// gqlMessage is a graphql-transport-ws message.
type gqlMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// TestGraphQLSubscriptionSessionEnd shows, over the wire, what the npm
// clients' test (TestGraphQLNPMClients) relies on, for machines without
// Node.js: a connection_init without a token is refused with 4401; when
// the session of a connection ends, its subscriptions end with the
// connection (never with "complete", which would tell the client they had
// finished normally), and the same token can no longer open one (4401).
func TestGraphQLSubscriptionSessionEnd(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	ada := signInEmail(t, s, "ada@example.com")

	anonymous := s.dialGraphQL(t)
	anonymous.send(t, gqlMessage{Type: "connection_init"})

	if code := anonymous.closeCode(t); code != closeUnauthorized {
		t.Errorf("connection_init without a token: closed with %d, want %d", code, closeUnauthorized)
	}

	conn := s.dialGraphQL(t)
	conn.init(t, ada.Access)
	conn.send(t, gqlMessage{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":` + quote(orderCreatedQuery) + `}`)})
	awaitOrderEvent(t, s, conn, ada.Access)

	s.do(t, http.MethodPost, pathLogout, map[string]any{}, ada.Access).wantOK(t)

	// It closes with 1000 (gqlgen's close for an ended connection context);
	// clients such as graphql-ws reconnect, and the next connection_init
	// is refused.
	if code := conn.closeCode(t); code == -1 {
		t.Errorf("after sign-out: the connection broke off without a close code")
	}

	again := s.dialGraphQL(t)
	again.send(t, gqlMessage{Type: "connection_init", Payload: authPayload(ada.Access)})

	if code := again.closeCode(t); code != closeUnauthorized {
		t.Errorf("connection_init with the token of an ended session: closed with %d, want %d", code, closeUnauthorized)
	}
}

// awaitOrderEvent places orders for the token's user over REST until conn's
// subscription (id 1) receives one: graphql-transport-ws does not
// acknowledge a subscription, so the first order may come before the
// server registered it.
func awaitOrderEvent(t *testing.T, s *server, conn *gqlConn, token string) {
	t.Helper()

	for range 5 {
		s.do(t, http.MethodPost, pathOrders, map[string]any{
			"currency": "EUR", "items": []map[string]any{{"sku": "lamp", "quantity": 1, "unit_price_minor": 4900}},
		}, token).wantOK(t)

		m, err := conn.read(socketWait / 5)
		if errors.Is(err, errNoMessage) {
			continue
		}

		if err != nil || m.Type != "next" || m.ID != "1" || !strings.Contains(string(m.Payload), `"orderId":"order_`) {
			t.Fatalf("orderCreated: got %+v, %v; want an event", m, err)
		}

		return
	}

	t.Fatalf("orderCreated: no event within %v", socketWait)
}

// gqlConn is a WebSocket to /graphql speaking graphql-transport-ws. A
// goroutine reads it (a read that times out would close a coder/websocket
// connection), answers pings, and hands the other messages to read.
type gqlConn struct {
	conn     *websocket.Conn
	messages chan gqlMessage
	err      error // why reading stopped; set before messages is closed
}

// dialGraphQL opens a WebSocket to /graphql with the graphql-transport-ws
// subprotocol.
func (s *server) dialGraphQL(t *testing.T) *gqlConn {
	t.Helper()

	url := "ws" + strings.TrimPrefix(s.HTTP, "http") + "/graphql"

	conn, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}

	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}

	c := &gqlConn{conn: conn, messages: make(chan gqlMessage, 16)}
	done := make(chan struct{})

	go func() {
		defer close(done)

		c.receive()
	}()

	t.Cleanup(func() {
		_ = conn.CloseNow()

		<-done
	})

	return c
}

func (c *gqlConn) receive() {
	defer close(c.messages)

	ctx := context.Background() // CloseNow at the end of the test stops it

	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.err = err

			return
		}

		var m gqlMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.err = fmt.Errorf("message %s: %w", b, err)

			return
		}

		if m.Type == "ping" {
			_ = c.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))

			continue
		}

		c.messages <- m
	}
}

// read returns the next message, or why there is none: the connection
// closed (a websocket.CloseError) or d passed (errNoMessage).
func (c *gqlConn) read(d time.Duration) (gqlMessage, error) {
	select {
	case m, ok := <-c.messages:
		if !ok {
			return gqlMessage{}, c.err
		}

		return m, nil
	case <-time.After(d):
		return gqlMessage{}, errNoMessage
	}
}

// closeCode waits for the connection to close and returns its close code,
// failing the test if a message but "next" (an event late for an earlier
// wait) arrives first.
func (c *gqlConn) closeCode(t *testing.T) websocket.StatusCode {
	t.Helper()

	deadline := time.Now().Add(socketWait)

	for {
		m, err := c.read(time.Until(deadline))
		if err == nil && m.Type == "next" {
			continue
		}

		if err == nil || errors.Is(err, errNoMessage) {
			t.Fatalf("got %+v, %v; want the connection closed", m, err)
		}

		return websocket.CloseStatus(err)
	}
}

var errNoMessage = errors.New("no message")

// init authenticates the connection with an access token and waits for
// the server's connection_ack.
func (c *gqlConn) init(t *testing.T, token string) {
	t.Helper()

	c.send(t, gqlMessage{Type: "connection_init", Payload: authPayload(token)})

	if m, err := c.read(socketWait); err != nil || m.Type != "connection_ack" {
		t.Fatalf("connection_init: got %+v, %v; want connection_ack", m, err)
	}
}

func (c *gqlConn) send(t *testing.T, m gqlMessage) {
	t.Helper()

	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}

	if err := c.conn.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatalf("send %s: %v", m.Type, err)
	}
}

// authPayload is the connection_init payload that carries an access token.
func authPayload(token string) json.RawMessage {
	return json.RawMessage(`{"Authorization":` + quote("Bearer "+token) + `}`)
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)

	return string(b)
}
