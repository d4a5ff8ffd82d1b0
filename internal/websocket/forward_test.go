package websocket_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/testutil"
	"github.com/modulith/modulith/internal/websocket"
)

// recordingFanout records what it is asked to publish, failing with err.
type recordingFanout struct {
	mu   sync.Mutex
	envs []websocket.Envelope
	err  error
}

func (f *recordingFanout) Publish(_ context.Context, env websocket.Envelope) error {
	f.mu.Lock()
	defer f.mu.Unlock()

	if f.err != nil {
		return f.err
	}

	f.envs = append(f.envs, env)

	return nil
}

// recordingBus records subscriptions.
type recordingBus struct {
	subscriber string
	events     []string
	handlers   map[string]events.Handler
}

func (b *recordingBus) Subscribe(subscriber, event string, h events.Handler) error {
	b.subscriber = subscriber
	b.events = append(b.events, event)

	if b.handlers == nil {
		b.handlers = make(map[string]events.Handler)
	}

	b.handlers[event] = h

	return nil
}

var testRoutes = []websocket.Route{
	{Event: "user.profile_updated", UserKey: "user_id"},
	{Event: "maintenance.scheduled"},
}

func TestForwarderSubscribesToRoutesAndSessionRevocations(t *testing.T) {
	t.Parallel()

	f, err := websocket.NewForwarder(testRoutes, &recordingFanout{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	var bus recordingBus
	if err := f.Subscribe(&bus); err != nil {
		t.Fatal(err)
	}

	want := []string{events.SessionRevokedEvent, "maintenance.scheduled", "user.profile_updated"}
	if bus.subscriber != websocket.SubscriberName || !slices.Equal(bus.events, want) {
		t.Errorf("subscribed %s to %v, want %s to %v", bus.subscriber, bus.events, websocket.SubscriberName, want)
	}
}

func TestNewForwarderRefusesBadRoutes(t *testing.T) {
	t.Parallel()

	for name, routes := range map[string][]websocket.Route{
		"unnamed":   {{UserKey: "user_id"}},
		"duplicate": {{Event: "a.b", UserKey: "user_id"}, {Event: "a.b"}},
	} {
		if _, err := websocket.NewForwarder(routes, &recordingFanout{}, discardLogger()); err == nil {
			t.Errorf("NewForwarder(%s routes) = nil error, want one", name)
		}
	}
}

func TestForwarderEnvelopes(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		event events.Event
		want  []websocket.Envelope // nil: nothing published
	}{
		{
			name: "user event",
			event: events.Event{
				ID: "evt_1", Name: "user.profile_updated",
				Payload: map[string]any{"user_id": "user_ada", "fields": []any{"display_name"}},
				Secret:  map[string]string{"code": "123456"},
			},
			want: []websocket.Envelope{{ID: "evt_1", Message: &websocket.Message{
				Event: "user.profile_updated", UserID: "user_ada",
				Data: json.RawMessage(`{"fields":["display_name"],"user_id":"user_ada"}`),
			}}},
		},
		{
			name:  "broadcast event",
			event: events.Event{ID: "evt_2", Name: "maintenance.scheduled", Payload: map[string]any{"at": "noon"}},
			want: []websocket.Envelope{{ID: "evt_2", Message: &websocket.Message{
				Event: "maintenance.scheduled", Broadcast: true, Data: json.RawMessage(`{"at":"noon"}`),
			}}},
		},
		{
			name:  "user event without its user",
			event: events.Event{ID: "evt_3", Name: "user.profile_updated", Payload: map[string]any{"fields": []any{}}},
		},
		{
			name:  "user event with a user that is no string",
			event: events.Event{ID: "evt_4", Name: "user.profile_updated", Payload: map[string]any{"user_id": 42}},
		},
		{
			name: "session revoked",
			event: events.Event{
				ID: "evt_5", Name: events.SessionRevokedEvent,
				Payload: map[string]any{events.KeyUserID: "user_ada", events.KeySessionID: "sess_1"},
			},
			want: []websocket.Envelope{{ID: "evt_5", EndSession: "sess_1"}},
		},
		{
			name:  "session revoked without its session",
			event: events.Event{ID: "evt_6", Name: events.SessionRevokedEvent, Payload: map[string]any{}},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			fanout := &recordingFanout{}
			handler := subscribedHandler(t, fanout, tt.event.Name)

			if err := handler(t.Context(), tt.event); err != nil {
				t.Fatalf("handler(%s) = %v, want nil", tt.event.Name, err)
			}

			if diff := cmp.Diff(tt.want, fanout.envs); diff != "" {
				t.Errorf("published (-want +got):\n%s", diff)
			}
		})
	}
}

func subscribedHandler(t *testing.T, fanout websocket.Fanout, event string) events.Handler {
	t.Helper()

	f, err := websocket.NewForwarder(testRoutes, fanout, discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	var bus recordingBus
	if err := f.Subscribe(&bus); err != nil {
		t.Fatal(err)
	}

	return bus.handlers[event]
}

// A fan-out failure is retried by the bus; a message too large never fits,
// so it is skipped.
func TestForwarderFanoutFailures(t *testing.T) {
	t.Parallel()

	e := events.Event{ID: "evt_1", Name: "maintenance.scheduled"}
	down := errors.New("connection refused")

	if err := subscribedHandler(t, &recordingFanout{err: down}, e.Name)(t.Context(), e); !errors.Is(err, down) {
		t.Errorf("handler with the fan-out down = %v, want %v", err, down)
	}

	tooLarge := &recordingFanout{err: websocket.ErrMessageTooLarge}
	if err := subscribedHandler(t, tooLarge, e.Name)(t.Context(), e); err != nil {
		t.Errorf("handler of a message too large = %v, want nil", err)
	}
}

// From a committed event to the socket of its user: bus, forwarder,
// PostgreSQL fan-out (notifying in the handler's transaction), hub.
func TestForwarderThroughBusAndPostgres(t *testing.T) {
	t.Parallel()

	db := testutil.NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})

	bus, err := events.New(db.Pool, events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 3,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Retention: time.Hour,
		Workers: 1, BatchSize: 8, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}, []byte("websocket-test-seal-key-0123456789abcdef"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	hub := newHub(t, testConfig(t), discardLogger())
	fanout := startPostgresFanout(t, db.Pool, randomChannel(t), hub)

	fwd, err := websocket.NewForwarder(testRoutes, fanout, discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	if err := fwd.Subscribe(bus); err != nil {
		t.Fatal(err)
	}

	testutil.StartBus(t, bus)

	srv := attachServer(t, hub)
	ada := dialAs(t, srv, hub, "user_ada", "sess_1", 1)
	bob := dialAs(t, srv, hub, "user_bob", "sess_2", 2)

	publish(t, bus, events.Event{Name: "user.profile_updated", Payload: map[string]any{"user_id": "user_ada"}})

	if m := wantMessage(t, ada, "user.profile_updated"); m.Data["user_id"] != "user_ada" {
		t.Errorf("data = %v, want user_id user_ada", m.Data)
	}

	publish(t, bus, events.Event{Name: events.SessionRevokedEvent, Payload: map[string]any{
		events.KeyUserID: "user_ada", events.KeySessionID: "sess_1",
	}})
	wantClosed(t, ada, websocket.CloseSessionEnded)

	publish(t, bus, events.Event{Name: "maintenance.scheduled", Payload: map[string]any{}})
	wantMessage(t, bob, "maintenance.scheduled") // and not ada's profile update before it
}

func publish(t *testing.T, bus *events.Bus, e events.Event) {
	t.Helper()

	if err := bus.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%s) = %v", e.Name, err)
	}
}

// randomChannel is a channel (or subject) name of the test's own.
func randomChannel(t *testing.T) string {
	t.Helper()

	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}

	return "ws_test_" + hex.EncodeToString(b)
}
