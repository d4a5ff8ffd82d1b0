package websocket_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/websocket"
)

// The events of the tests, one per kind of route.

// profileUpdated goes to one user. Its code travels sealed and must never
// reach a socket.
type profileUpdated struct {
	UserID string   `json:"user_id"`
	Fields []string `json:"fields,omitempty"`
	Code   string   `json:"-" secret:"code"`
}

func (profileUpdated) EventName() string { return "test.profile_updated" }
func (profileUpdated) EventVersion() int { return 1 }

// maintenanceScheduled goes to everyone.
type maintenanceScheduled struct {
	At string `json:"at"`
}

func (maintenanceScheduled) EventName() string { return "test.maintenance_scheduled" }
func (maintenanceScheduled) EventVersion() int { return 1 }

// sessionRevoked closes the sockets of a session.
type sessionRevoked struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
}

func (sessionRevoked) EventName() string { return "test.session_revoked" }
func (sessionRevoked) EventVersion() int { return 1 }

// passwordChanged tells the user's sockets and closes those of the
// session it names.
type passwordChanged struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
}

func (passwordChanged) EventName() string { return "test.password_changed" }
func (passwordChanged) EventVersion() int { return 1 }

// itemShipped is at version 2 and checks itself.
type itemShipped struct {
	UserID string `json:"user_id"`
	Item   string `json:"item"`
}

func (itemShipped) EventName() string { return "test.item_shipped" }
func (itemShipped) EventVersion() int { return 2 }

func (e itemShipped) Validate() error {
	if e.Item == "" {
		return errors.New("item is required")
	}

	return nil
}

var (
	profileEvent     = profileUpdated{}.EventName()
	maintenanceEvent = maintenanceScheduled{}.EventName()
	revokedEvent     = sessionRevoked{}.EventName()
	passwordEvent    = passwordChanged{}.EventName()
	shippedEvent     = itemShipped{}.EventName()
)

var testRoutes = []websocket.Route{
	websocket.ToUser(func(e profileUpdated) string { return e.UserID }),
	websocket.ToEveryone[maintenanceScheduled](),
	websocket.EndSession(func(e sessionRevoked) string { return e.SessionID }),
	websocket.ToUser(func(e passwordChanged) string { return e.UserID }),
	websocket.EndSession(func(e passwordChanged) string { return e.SessionID }),
	websocket.ToUser(func(e itemShipped) string { return e.UserID }),
}

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

func (f *recordingFanout) published() []websocket.Envelope {
	f.mu.Lock()
	defer f.mu.Unlock()

	return slices.Clone(f.envs)
}

// recordingBus records subscriptions.
type recordingBus struct {
	subscribers []string
	events      []string
	handlers    map[string]events.Handler
}

func (b *recordingBus) Subscribe(subscriber, event string, h events.Handler) error {
	b.subscribers = append(b.subscribers, subscriber)
	b.events = append(b.events, event)

	if b.handlers == nil {
		b.handlers = make(map[string]events.Handler)
	}

	b.handlers[event] = h

	return nil
}

func TestForwarderSubscribesToRoutedEvents(t *testing.T) {
	t.Parallel()

	f, err := websocket.NewForwarder(testRoutes, &recordingFanout{})
	if err != nil {
		t.Fatalf("NewForwarder() = %v", err)
	}

	var bus recordingBus
	if err := f.Subscribe(&bus); err != nil {
		t.Fatalf("Subscribe() = %v", err)
	}

	// Once each, in order, whatever the number of routes of an event.
	want := []string{shippedEvent, maintenanceEvent, passwordEvent, profileEvent, revokedEvent}
	if diff := cmp.Diff(want, bus.events); diff != "" {
		t.Errorf("subscribed events (-want +got):\n%s", diff)
	}

	for _, s := range bus.subscribers {
		if s != websocket.SubscriberName {
			t.Errorf("subscribed as %q, want %q", s, websocket.SubscriberName)
		}
	}
}

func TestNewForwarder(t *testing.T) {
	t.Parallel()

	toAda := websocket.ToUser(func(profileUpdated) string { return "ada" })

	tests := []struct {
		name   string
		routes []websocket.Route
		ok     bool
	}{
		{name: "none", ok: true},
		{name: "a message and a session route", ok: true, routes: []websocket.Route{
			websocket.ToUser(func(e passwordChanged) string { return e.UserID }),
			websocket.EndSession(func(e passwordChanged) string { return e.SessionID }),
		}},
		{name: "the zero route", routes: []websocket.Route{{}}},
		{name: "two ToUser", routes: []websocket.Route{toAda, toAda}},
		{name: "ToUser and ToEveryone", routes: []websocket.Route{toAda, websocket.ToEveryone[profileUpdated]()}},
		{name: "two ToEveryone", routes: []websocket.Route{
			websocket.ToEveryone[maintenanceScheduled](), websocket.ToEveryone[maintenanceScheduled](),
		}},
		{name: "two EndSession", routes: []websocket.Route{
			websocket.EndSession(func(e sessionRevoked) string { return e.SessionID }),
			websocket.EndSession(func(e sessionRevoked) string { return e.UserID }),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, err := websocket.NewForwarder(tt.routes, &recordingFanout{})
			if (err == nil) != tt.ok {
				t.Errorf("NewForwarder(%s) = %v, want error: %t", tt.name, err, !tt.ok)
			}
		})
	}
}

func TestRouteEvent(t *testing.T) {
	t.Parallel()

	for want, r := range map[string]websocket.Route{
		profileEvent:     websocket.ToUser(func(e profileUpdated) string { return e.UserID }),
		maintenanceEvent: websocket.ToEveryone[maintenanceScheduled](),
		revokedEvent:     websocket.EndSession(func(e sessionRevoked) string { return e.SessionID }),
	} {
		if got := r.Event(); got != want {
			t.Errorf("Event() = %q, want %q", got, want)
		}
	}
}

// subscribedHandler returns the forwarder's handler of event, publishing
// to fanout.
func subscribedHandler(t *testing.T, fanout websocket.Fanout, event string) events.Handler {
	t.Helper()

	f, err := websocket.NewForwarder(testRoutes, fanout)
	if err != nil {
		t.Fatal(err)
	}

	var bus recordingBus
	if err := f.Subscribe(&bus); err != nil {
		t.Fatal(err)
	}

	h := bus.handlers[event]
	if h == nil {
		t.Fatalf("the forwarder does not handle %s", event)
	}

	return h
}

// raw is an event as the bus hands it to the forwarder.
func raw(id, name string, version int, payload string) events.Raw {
	return events.Raw{ID: id, Name: name, Version: version, Payload: json.RawMessage(payload)}
}

func TestForwarderEnvelopes(t *testing.T) {
	t.Parallel()

	withCode := raw("evt_1", profileEvent, 1, `{"user_id":"user_ada", "fields":["display_name"]}`)
	withCode.Secret = map[string]string{"code": "123456"}

	tests := []struct {
		name  string
		event events.Raw
		want  websocket.Envelope
	}{
		{
			name:  "to a user, the payload as published and no secret",
			event: withCode,
			want: websocket.Envelope{ID: "evt_1", Message: &websocket.Message{
				Event: profileEvent, UserID: "user_ada", Data: json.RawMessage(`{"user_id":"user_ada", "fields":["display_name"]}`),
			}},
		},
		{
			name:  "to everyone",
			event: raw("evt_2", maintenanceEvent, 1, `{"at":"noon"}`),
			want: websocket.Envelope{ID: "evt_2", Message: &websocket.Message{
				Event: maintenanceEvent, Broadcast: true, Data: json.RawMessage(`{"at":"noon"}`),
			}},
		},
		{
			name:  "session end",
			event: raw("evt_3", revokedEvent, 1, `{"user_id":"user_ada","session_id":"sess_1"}`),
			want:  websocket.Envelope{ID: "evt_3", EndSession: "sess_1"},
		},
		{
			name:  "message and session end",
			event: raw("evt_4", passwordEvent, 1, `{"user_id":"user_ada","session_id":"sess_1"}`),
			want: websocket.Envelope{ID: "evt_4", EndSession: "sess_1", Message: &websocket.Message{
				Event: passwordEvent, UserID: "user_ada", Data: json.RawMessage(`{"user_id":"user_ada","session_id":"sess_1"}`),
			}},
		},
		{
			name:  "unknown fields kept",
			event: raw("evt_5", shippedEvent, 2, `{"user_id":"user_bob","item":"book","carrier":"post"}`),
			want: websocket.Envelope{ID: "evt_5", Message: &websocket.Message{
				Event: shippedEvent, UserID: "user_bob", Data: json.RawMessage(`{"user_id":"user_bob","item":"book","carrier":"post"}`),
			}},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			fanout := &recordingFanout{}
			if err := subscribedHandler(t, fanout, tt.event.Name)(t.Context(), tt.event); err != nil {
				t.Fatalf("handle(%s) = %v, want nil", tt.event.Name, err)
			}

			if diff := cmp.Diff([]websocket.Envelope{tt.want}, fanout.published()); diff != "" {
				t.Errorf("handle(%s) published (-want +got):\n%s", tt.event.Name, diff)
			}
		})
	}
}

// An event that cannot make an envelope is a permanent failure (a dead
// letter: retrying cannot fix it), and nothing is published: in
// particular, an event meant for one user never goes to everyone.
func TestForwarderRefusesUnusableEvents(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		event events.Raw
	}{
		{name: "no user", event: raw("evt_1", profileEvent, 1, `{"fields":["display_name"]}`)},
		{name: "empty user", event: raw("evt_2", profileEvent, 1, `{"user_id":""}`)},
		{name: "user of the wrong type", event: raw("evt_3", profileEvent, 1, `{"user_id":42}`)},
		{name: "payload not JSON", event: raw("evt_4", profileEvent, 1, `{"user_id":`)},
		{name: "payload not an object", event: raw("evt_5", maintenanceEvent, 1, `["noon"]`)},
		{name: "broadcast of the wrong shape", event: raw("evt_6", maintenanceEvent, 1, `{"at":12}`)},
		{name: "no session", event: raw("evt_7", revokedEvent, 1, `{"user_id":"user_ada"}`)},
		{name: "message and no session", event: raw("evt_8", passwordEvent, 1, `{"user_id":"user_ada"}`)},
		{name: "session and no user", event: raw("evt_9", passwordEvent, 1, `{"session_id":"sess_1"}`)},
		{name: "invalid payload", event: raw("evt_10", shippedEvent, 2, `{"user_id":"user_ada"}`)},
		{name: "older version", event: raw("evt_11", shippedEvent, 1, `{"user_id":"user_ada","item":"book"}`)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			fanout := &recordingFanout{}

			err := subscribedHandler(t, fanout, tt.event.Name)(t.Context(), tt.event)
			if !events.IsPermanent(err) {
				t.Errorf("handle(%s %s) = %v, want a permanent error", tt.event.Name, tt.event.Payload, err)
			}

			if got := fanout.published(); len(got) != 0 {
				t.Errorf("handle(%s %s) published %+v, want nothing", tt.event.Name, tt.event.Payload, got)
			}
		})
	}
}

// An event newer than this process knows is retried (a newer replica can
// route it), not dead.
func TestForwarderRetriesNewerEvents(t *testing.T) {
	t.Parallel()

	fanout := &recordingFanout{}
	e := raw("evt_1", shippedEvent, 3, `{"user_id":"user_ada","item":"book"}`)

	err := subscribedHandler(t, fanout, e.Name)(t.Context(), e)
	if err == nil || events.IsPermanent(err) {
		t.Errorf("handle(%s v3) = %v, want an error to retry", e.Name, err)
	}

	if got := fanout.published(); len(got) != 0 {
		t.Errorf("handle(%s v3) published %+v, want nothing", e.Name, got)
	}
}

// A fan-out failure is returned as is, for the bus to retry; an envelope
// too large to carry never fits, so it is a permanent failure.
func TestForwarderFanoutFailures(t *testing.T) {
	t.Parallel()

	e := raw("evt_1", maintenanceEvent, 1, `{"at":"noon"}`)
	down := errors.New("connection refused")

	err := subscribedHandler(t, &recordingFanout{err: down}, e.Name)(t.Context(), e)
	if !errors.Is(err, down) || events.IsPermanent(err) {
		t.Errorf("handle with the fan-out down = %v, want %v, not permanent", err, down)
	}

	err = subscribedHandler(t, &recordingFanout{err: websocket.ErrMessageTooLarge}, e.Name)(t.Context(), e)
	if !errors.Is(err, websocket.ErrMessageTooLarge) || !events.IsPermanent(err) {
		t.Errorf("handle of a message too large = %v, want a permanent %v", err, websocket.ErrMessageTooLarge)
	}
}

// The PostgreSQL fan-out refuses an envelope over its limit before it
// needs the database, and the forwarder makes that a dead letter.
func TestForwarderTooLargeForPostgres(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	fanout := websocket.NewPostgresFanout(nil, randomChannel(t), hub, discardLogger())
	e := raw("evt_1", profileEvent, 1, `{"user_id":"user_ada","fields":["`+strings.Repeat("x", websocket.MaxPostgresPayload)+`"]}`)

	err := subscribedHandler(t, fanout, e.Name)(t.Context(), e)
	if !errors.Is(err, websocket.ErrMessageTooLarge) || !events.IsPermanent(err) {
		t.Errorf("handle(%d bytes) = %v, want a permanent %v", len(e.Payload), err, websocket.ErrMessageTooLarge)
	}
}

// forwarding is a started bus whose events the forwarder carries, over the
// PostgreSQL fan-out, to hub.
type forwarding struct {
	bus  *events.Bus
	pool *pgxpool.Pool
	hub  *websocket.Hub
}

func startForwarding(t *testing.T) *forwarding {
	t.Helper()

	db := pgtest.NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})

	bus, err := events.New(db.Pool, events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 3,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Retention: time.Hour,
		Workers: 1, BatchSize: 8, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}, secrets.Fixed([]byte("websocket-test-seal-key-0123456789abcdef")), discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	hub := newHub(t, testConfig(t), discardLogger())

	fwd, err := websocket.NewForwarder(testRoutes, startPostgresFanout(t, db.Pool, randomChannel(t), hub))
	if err != nil {
		t.Fatal(err)
	}

	if err := fwd.Subscribe(bus); err != nil {
		t.Fatal(err)
	}

	bustest.Start(t, bus)

	return &forwarding{bus: bus, pool: db.Pool, hub: hub}
}

// publish publishes p as a module does: in a transaction.
func (f *forwarding) publish(t *testing.T, p events.Payload) {
	t.Helper()

	if err := pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.bus.Publish(t.Context(), tx, p) }); err != nil {
		t.Fatalf("Publish(%s) = %v", p.EventName(), err)
	}
}

// From a committed event to the sockets: bus, forwarder, PostgreSQL
// fan-out (notifying in the handler's transaction), hub.
func TestForwarderThroughBusAndPostgres(t *testing.T) {
	t.Parallel()

	f := startForwarding(t)
	srv := attachServer(t, f.hub)
	ada := dialAs(t, srv, f.hub, "user_ada", "sess_1", 1)
	adaPhone := dialAs(t, srv, f.hub, "user_ada", "sess_3", 2)
	bob := dialAs(t, srv, f.hub, "user_bob", "sess_2", 3)

	f.publish(t, profileUpdated{UserID: "user_ada", Fields: []string{"display_name"}, Code: "123456"})

	for _, conn := range []*ws.Conn{ada, adaPhone} {
		m := wantMessage(t, conn, profileEvent)
		if diff := cmp.Diff(map[string]any{"user_id": "user_ada", "fields": []any{"display_name"}}, m.Data); diff != "" {
			t.Errorf("data (-want +got):\n%s", diff)
		}
	}

	// The other session of the user is told; the one that ended closes.
	f.publish(t, passwordChanged{UserID: "user_ada", SessionID: "sess_1"})
	wantMessage(t, adaPhone, passwordEvent)
	wantClosed(t, ada, websocket.CloseSessionEnded)

	f.publish(t, sessionRevoked{UserID: "user_ada", SessionID: "sess_3"})
	wantClosed(t, adaPhone, websocket.CloseSessionEnded)

	// Meant for a user it does not name: dead at once, sent to nobody.
	f.publish(t, profileUpdated{Fields: []string{"display_name"}})
	f.publish(t, maintenanceScheduled{At: "noon"})
	wantMessage(t, bob, maintenanceEvent) // and nothing before it

	letters, err := f.bus.DeadLetters(t.Context(), websocket.SubscriberName)
	if err != nil || len(letters) != 1 || letters[0].Event != profileEvent || letters[0].Attempts != 1 {
		t.Errorf("DeadLetters() = %+v, %v; want the profile update without a user, after 1 attempt", letters, err)
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
