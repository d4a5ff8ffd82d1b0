package websocket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/websocket"
)

// next reads the listener's next message within wait.
func nextMessage(t *testing.T, l *websocket.Listener) (websocket.Message, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	return l.Next(ctx)
}

func TestListenerReceivesWhatTheUsersSocketsReceive(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())

	l, err := hub.Listen("ada", "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	if n := hub.Send(message("order.created", "bob")); n != 0 {
		t.Errorf("Send(to bob) reached %d, want 0", n)
	}

	if n := hub.Send(message("order.created", "ada")); n != 1 {
		t.Errorf("Send(to ada) reached %d, want the listener", n)
	}

	hub.Send(broadcast("maintenance.scheduled"))

	m, err := nextMessage(t, l)
	if err != nil || m.Event != "order.created" || string(m.Data) != `{"user_id":"ada"}` {
		t.Errorf("Next() = %+v, %v, want ada's order.created", m, err)
	}

	if m, err := nextMessage(t, l); err != nil || m.Event != "maintenance.scheduled" {
		t.Errorf("Next() = %+v, %v, want the broadcast", m, err)
	}

	if got := hub.Stats(); got.Connections != 0 {
		t.Errorf("Stats().Connections = %d, want 0: a listener is no socket", got.Connections)
	}
}

func TestListenerEndsWithItsSession(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	l, _ := hub.Listen("ada", "s1")
	other, _ := hub.Listen("ada", "s2")

	defer other.Close()

	if n := hub.CloseSession("s1"); n != 1 {
		t.Errorf("CloseSession(s1) = %d, want 1", n)
	}

	if _, err := nextMessage(t, l); !errors.Is(err, websocket.ErrSessionEnded) {
		t.Errorf("Next() after the session ended = %v, want ErrSessionEnded", err)
	}

	select {
	case <-l.Done():
	default:
		t.Error("Done() not closed")
	}

	if other.Err() != nil {
		t.Errorf("the other session's listener ended: %v", other.Err())
	}
}

func TestListenerEndsWithTheHub(t *testing.T) {
	t.Parallel()

	hub, err := websocket.NewHub(testConfig(t), discardLogger(), noop.Meter{})
	if err != nil {
		t.Fatal(err)
	}

	l, _ := hub.Listen("ada", "s1")

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	if err := hub.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := nextMessage(t, l); !errors.Is(err, websocket.ErrGoingAway) {
		t.Errorf("Next() after Close = %v, want ErrGoingAway", err)
	}

	if _, err := hub.Listen("ada", "s1"); !errors.Is(err, websocket.ErrGoingAway) {
		t.Errorf("Listen() on a closed hub = %v, want ErrGoingAway", err)
	}
}

func TestListenerEndsWhenTooSlow(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t, "WS_SEND_BUFFER", "2"), discardLogger())
	l, _ := hub.Listen("ada", "s1")

	for range 3 {
		hub.Send(message("order.created", "ada"))
	}

	if err := l.Err(); !errors.Is(err, websocket.ErrTooSlow) {
		t.Errorf("Err() after the queue overflowed = %v, want ErrTooSlow", err)
	}
}

func TestListenerCloseLeavesRoom(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t, "WS_MAX_USER_CONNECTIONS", "1"), discardLogger())
	l, _ := hub.Listen("ada", "s1")

	if _, err := hub.Listen("ada", "s2"); !errors.Is(err, websocket.ErrTooMany) {
		t.Errorf("a second listener beyond WS_MAX_USER_CONNECTIONS = %v, want ErrTooMany", err)
	}

	l.Close()
	l.Close() // again: nothing

	if _, err := nextMessage(t, l); !errors.Is(err, context.Canceled) {
		t.Errorf("Next() after Close = %v, want context.Canceled", err)
	}

	again, err := hub.Listen("ada", "s2")
	if err != nil {
		t.Fatalf("Listen() after the first closed = %v", err)
	}

	again.Close()
}

func TestListenerNextEndsWithItsContext(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	l, _ := hub.Listen("ada", "s1")

	defer l.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()

	if _, err := l.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next() = %v, want the context's deadline", err)
	}
}
