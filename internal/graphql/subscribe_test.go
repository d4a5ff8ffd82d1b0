package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/websocket"
)

const wait = 5 * time.Second

// created is a typed event, as a module declares them.
type created struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
}

func (created) EventName() string { return "thing.created" }

func (created) EventVersion() int { return 1 }

func newHub(t *testing.T, cfg websocket.Config) *websocket.Hub {
	t.Helper()

	hub, err := websocket.NewHub(cfg, slog.New(slog.DiscardHandler), noop.Meter{})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()

		_ = hub.Close(ctx)
	})

	return hub
}

func hubConfig() websocket.Config {
	return websocket.Config{
		SendBuffer: 8, PingInterval: time.Minute, PongTimeout: time.Second, WriteTimeout: time.Second,
		MaxUserConnections: 2, PostgresChannel: "t",
	}
}

// fakeAuth accepts one token, for user ada's session s1.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, authorization string) (authn.Identity, error) {
	if authorization != "Bearer good" {
		return authn.Identity{}, errors.New("bad token")
	}

	return authn.Identity{UserID: "ada", SessionID: "s1", Role: "user"}, nil
}

// connect runs connection_init as the WebSocket transport does and returns
// the connection's context.
func connect(t *testing.T, hub *websocket.Hub) context.Context {
	t.Helper()

	c := &connections{auth: fakeAuth{}, hub: hub, logger: slog.New(slog.DiscardHandler)}

	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)

	ctx, _, err := c.init(ctx, map[string]any{"Authorization": "Bearer good"})
	if err != nil {
		t.Fatalf("init: %v", err)
	}

	return ctx
}

func event(name, user, id string) websocket.Message {
	data, _ := json.Marshal(created{ID: id, UserID: user})

	return websocket.Message{Event: name, UserID: user, Data: data}
}

func receive[M any](t *testing.T, ch <-chan M) (M, bool) {
	t.Helper()

	select {
	case m, ok := <-ch:
		return m, ok
	case <-time.After(wait):
		t.Fatal("nothing received")

		var zero M

		return zero, false
	}
}

func TestSubscribeStreamsTheSubscribersEventsOfItsType(t *testing.T) {
	t.Parallel()

	hub := newHub(t, hubConfig())
	conn := connect(t, hub)

	ctx, cancel := context.WithCancel(conn)
	defer cancel()

	ch, err := Subscribe(ctx, func(e created) string { return e.ID })
	if err != nil {
		t.Fatal(err)
	}

	hub.Send(event("thing.created", "bob", "not-for-ada"))
	hub.Send(event("thing.deleted", "ada", "another-type"))
	hub.Send(event("thing.created", "ada", "t1"))

	if got, ok := receive(t, ch); !ok || got != "t1" {
		t.Errorf("received %q (open %v), want t1: only ada's thing.created", got, ok)
	}

	cancel()

	if _, ok := receive(t, ch); ok {
		t.Error("the subscription went on after its context ended")
	}
}

func TestSubscriptionsEndWithTheSession(t *testing.T) {
	t.Parallel()

	hub := newHub(t, hubConfig())
	conn := connect(t, hub)

	ch, err := Subscribe(conn, func(e created) string { return e.ID })
	if err != nil {
		t.Fatal(err)
	}

	hub.CloseSession("s1")

	if _, ok := receive(t, ch); ok {
		t.Error("the subscription went on after its session ended")
	}

	select {
	case <-conn.Done():
	case <-time.After(wait):
		t.Error("the connection's context did not end with its session: the socket would stay open")
	}
}

func TestSlowSubscriberLosesOnlyItsSubscription(t *testing.T) {
	t.Parallel()

	hub := newHub(t, hubConfig())
	conn := connect(t, hub)

	slow, _ := Subscribe(conn, func(e created) string { return e.ID })
	fast, _ := Subscribe(conn, func(e created) string { return e.ID })

	// fast reads everything; slow reads nothing until its buffer (and the
	// converter's hand-off) overflow.
	got := make(chan int)

	go func() {
		n := 0
		for range fast {
			n++
		}

		got <- n
	}()

	const sent = subscriptionBuffer + 8
	for i := range sent {
		hub.Send(event("thing.created", "ada", string(rune('a'+i))))
		time.Sleep(time.Millisecond) // the hub's queue for the connection is small too
	}

	n := 0
	for range slow {
		n++
	}

	if n >= sent {
		t.Errorf("the slow subscriber got all %d events; want its subscription ended", n)
	}

	hub.CloseSession("s1")

	if n := <-got; n != sent {
		t.Errorf("the fast subscriber got %d events, want %d", n, sent)
	}
}

func TestConnectionsAreAuthenticated(t *testing.T) {
	t.Parallel()

	hub := newHub(t, hubConfig())
	c := &connections{auth: fakeAuth{}, hub: hub, logger: slog.New(slog.DiscardHandler)}

	for name, payload := range map[string]map[string]any{
		"no token":  nil,
		"bad token": {"Authorization": "Bearer bad"},
	} {
		if _, _, err := c.init(t.Context(), payload); err == nil {
			t.Errorf("%s: connection accepted", name)
		}
	}

	// The upgrade request's header counts too (server-side clients).
	ctx, _, err := c.init(withHeaderAuthorization(t.Context(), "Bearer good"), nil)
	if err != nil {
		t.Fatalf("header token: %v", err)
	}

	if id, ok := authn.FromContext(ctx); !ok || id.UserID != "ada" {
		t.Errorf("identity = %+v, %v, want ada", id, ok)
	}

	// WS_MAX_USER_CONNECTIONS=2: the third connection of ada is refused.
	if _, _, err := c.init(t.Context(), map[string]any{"Authorization": "Bearer good"}); err != nil {
		t.Fatalf("second connection: %v", err)
	}

	if _, _, err := c.init(t.Context(), map[string]any{"Authorization": "Bearer good"}); err == nil {
		t.Error("a connection beyond WS_MAX_USER_CONNECTIONS was accepted")
	}
}

func TestSubscribeNeedsAConnection(t *testing.T) {
	t.Parallel()

	if _, err := Subscribe(t.Context(), func(e created) string { return e.ID }); !errors.Is(err, errNoFeed) {
		t.Errorf("Subscribe() over HTTP = %v, want errNoFeed", err)
	}
}
