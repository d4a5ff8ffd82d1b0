package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/bustest"
	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
)

func TestPublishRawRollbackStoresAndDeliversNothing(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	got := newSink()
	bustest.Subscribe(t, bus, "mailer", "order.placed", got.handle)
	bustest.Start(t, bus)

	rolledBack := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}

	tx, err := db.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if err := bus.PublishRaw(t.Context(), tx, rolledBack); err != nil {
		t.Fatalf("PublishRaw() = %v", err)
	}

	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}

	if n := db.Count("SELECT count(*) FROM events.outbox") + db.Count("SELECT count(*) FROM events.deliveries"); n != 0 {
		t.Fatalf("after rollback: %d outbox and delivery rows, want 0", n)
	}

	// An event committed afterwards is delivered, and alone.
	committed := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, committed)

	if e := got.next(t); e.ID != committed.ID {
		t.Errorf("handled %s, want %s (the committed event)", e.ID, committed.ID)
	}

	got.none(t, 10*bustest.FastConfig().PollInterval)
}

func TestPublishRawCommitFansOutToSubscriptions(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.Consume = false // register the subscriptions, deliver nothing

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "alpha", "order.placed", nopHandler)
	bustest.Subscribe(t, bus, "beta", "order.placed", nopHandler)
	bustest.Subscribe(t, bus, "gamma", "order.shipped", nopHandler)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}

	err := pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error { return bus.PublishRaw(t.Context(), tx, e) })
	if err != nil {
		t.Fatalf("PublishRaw() = %v", err)
	}

	if n := db.Count("SELECT count(*) FROM events.outbox WHERE id = $1", e.ID); n != 1 {
		t.Errorf("outbox rows of %s = %d, want 1", e.ID, n)
	}

	want := []string{"alpha pending", "beta pending"}
	if diff := cmp.Diff(want, deliveriesOf(t, db, e.ID)); diff != "" {
		t.Errorf("deliveries of %s (-want +got):\n%s", e.ID, diff)
	}
}

func TestPublishDeliversToEverySubscriberOfTheName(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	alpha, beta, gamma := newSink(), newSink(), newSink()
	bustest.Subscribe(t, bus, "alpha", "order.placed", alpha.handle)
	bustest.Subscribe(t, bus, "beta", "order.placed", beta.handle)
	bustest.Subscribe(t, bus, "gamma", "order.shipped", gamma.handle)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)

	for name, s := range map[string]*sink{"alpha": alpha, "beta": beta} {
		if got := s.next(t); got.ID != e.ID {
			t.Errorf("%s handled %s, want %s", name, got.ID, e.ID)
		}
	}

	db.AwaitState("beta", e.ID, events.StateDelivered)
	db.AwaitState("alpha", e.ID, events.StateDelivered)
	gamma.none(t, 5*bustest.FastConfig().PollInterval)
}

func TestPublishFillsDefaultsAndStoresPayloadAsJSON(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	got := newSink()
	bustest.Subscribe(t, bus, "mailer", "order.placed", got.handle)
	bustest.Start(t, bus)

	tests := []struct {
		name    string
		payload json.RawMessage
		want    map[string]any
	}{
		{
			name:    "object",
			payload: json.RawMessage(`{"order": "ord_1", "lines": ["a", "b"], "total": 42.5, "gift": true}`),
			want:    map[string]any{"order": "ord_1", "lines": []any{"a", "b"}, "total": 42.5, "gift": true},
		},
		{name: "none", want: map[string]any{}},
	}

	for _, tt := range tests {
		before := time.Now()

		if err := bustest.PublishRaw(t.Context(), db.Pool, bus, events.Raw{Name: "order.placed", Payload: tt.payload}); err != nil {
			t.Fatalf("%s: PublishRaw() = %v", tt.name, err)
		}

		e := got.next(t)
		checkFilled(t, e, before)

		if diff := cmp.Diff(tt.want, decodeObject(t, e.Payload)); diff != "" {
			t.Errorf("%s: handled payload (-want +got):\n%s", tt.name, diff)
		}

		var stored []byte
		db.Scan([]any{&stored}, "SELECT payload::text FROM events.outbox WHERE id = $1", e.ID)

		if diff := cmp.Diff(tt.want, decodeObject(t, stored)); diff != "" {
			t.Errorf("%s: stored payload (-want +got):\n%s", tt.name, diff)
		}
	}
}

// decodeObject decodes a JSON object: a payload compares by its content,
// not by its bytes (jsonb reformats it).
func decodeObject(t *testing.T, data []byte) map[string]any {
	t.Helper()

	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("payload %s: %v", data, err)
	}

	return m
}

func checkFilled(t *testing.T, e events.Raw, before time.Time) {
	t.Helper()

	id, err := typeid.FromString(e.ID)
	if err != nil || id.Prefix() != events.IDPrefix {
		t.Errorf("ID = %q (%v), want a TypeID with prefix %s", e.ID, err, events.IDPrefix)
	}

	if e.Version != 1 || e.Attempt != 1 {
		t.Errorf("Version, Attempt = %d, %d; want 1, 1", e.Version, e.Attempt)
	}

	if e.OccurredAt.Before(before.Add(-time.Second)) || e.OccurredAt.After(time.Now().Add(time.Second)) {
		t.Errorf("OccurredAt = %v, want the publication time (after %v)", e.OccurredAt, before)
	}
}

func TestPublishKeepsGivenFields(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	got := newSink()
	bustest.Subscribe(t, bus, "mailer", "order.placed", got.handle)
	bustest.Start(t, bus)

	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	want := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed", Version: 3, OccurredAt: at, OrderingKey: "ord_1"}
	db.PublishRaw(bus, want)

	e := got.next(t)
	if e.ID != want.ID || e.Version != 3 || !e.OccurredAt.Equal(at) || e.OrderingKey != "ord_1" {
		t.Errorf("handled %+v, want ID, Version, OccurredAt and OrderingKey of %+v", e, want)
	}
}

func TestPublishWithoutNameFails(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())

	if err := bustest.PublishRaw(t.Context(), db.Pool, bus, events.Raw{Payload: json.RawMessage(`{"a": 1}`)}); err == nil {
		t.Error("PublishRaw(event without name) = nil, want an error")
	}

	if n := db.Count("SELECT count(*) FROM events.outbox"); n != 0 {
		t.Errorf("outbox rows = %d, want 0", n)
	}
}

func TestSecretIsSealedInTheOutboxAndHandedToHandlers(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.Consume = false

	publisher := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, publisher, "mailer", "code.requested", nopHandler)
	bustest.Start(t, publisher)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "code.requested", Secret: map[string]string{"code": "918273"}}
	db.PublishRaw(publisher, e)

	sealed := secretOf(db, e.ID)
	if len(sealed) == 0 || bytes.Contains(sealed, []byte("918273")) {
		t.Fatalf("outbox secret = %q, want it sealed: present, without the code", sealed)
	}

	// Undelivered: the secret must stay.
	if n, err := publisher.EraseSecrets(t.Context()); err != nil || n != 0 || len(secretOf(db, e.ID)) == 0 {
		t.Fatalf("EraseSecrets() before delivery = %d, %v; want 0 and the secret kept", n, err)
	}

	consumer := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	got := newSink()
	bustest.Subscribe(t, consumer, "mailer", "code.requested", got.handle)
	bustest.Start(t, consumer)

	if h := got.next(t); h.Secret["code"] != "918273" {
		t.Errorf("handler got Secret %v, want code 918273", h.Secret)
	}

	db.AwaitState("mailer", e.ID, events.StateDelivered)

	// The started consumer's maintenance may erase it first: either way it
	// is gone after one EraseSecrets.
	if n, err := publisher.EraseSecrets(t.Context()); err != nil || n > 1 || secretOf(db, e.ID) != nil {
		t.Errorf("EraseSecrets() after delivery = %d, %v, secret %q; want at most 1, nil, NULL", n, err, secretOf(db, e.ID))
	}
}

func TestMaintenanceErasesSecretsOfDeliveredEvents(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	got := newSink()
	bustest.Subscribe(t, bus, "mailer", "code.requested", got.handle)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "code.requested", Secret: map[string]string{"code": "918273"}}
	db.PublishRaw(bus, e)
	got.next(t)

	// The maintenance loop erases every 5 s.
	bustest.Eventually(t, "the secret of the delivered event is erased", func() bool { return secretOf(db, e.ID) == nil })
}

func TestSubscribeValidation(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		subscriber string
		event      string
		handler    events.Handler
	}{
		{name: "empty subscriber", subscriber: "", event: "a.b", handler: nopHandler},
		{name: "upper case", subscriber: "Mailer", event: "a.b", handler: nopHandler},
		{name: "leading digit", subscriber: "1mailer", event: "a.b", handler: nopHandler},
		{name: "space", subscriber: "mail er", event: "a.b", handler: nopHandler},
		{name: "dot", subscriber: "mail.er", event: "a.b", handler: nopHandler},
		{name: "64 characters", subscriber: "m" + strings.Repeat("x", 63), event: "a.b", handler: nopHandler},
		{name: "empty event", subscriber: "mailer", event: "", handler: nopHandler},
		{name: "nil handler", subscriber: "mailer", event: "a.b"},
		{name: "duplicate", subscriber: "dup", event: "a.b", handler: nopHandler},
	}

	bus := bustest.NewBus(t, nil, bustest.FastConfig())
	bustest.Subscribe(t, bus, "dup", "a.b", nopHandler)

	for _, tt := range tests {
		if err := bus.Subscribe(tt.subscriber, tt.event, tt.handler); err == nil {
			t.Errorf("%s: Subscribe(%q, %q) = nil, want an error", tt.name, tt.subscriber, tt.event)
		}
	}

	for _, ok := range []string{"m", "mailer_2", "web-socket", "m" + strings.Repeat("x", 62)} {
		if err := bus.Subscribe(ok, "a.b", nopHandler); err != nil {
			t.Errorf("Subscribe(%q, a.b) = %v, want nil", ok, err)
		}
	}

	if err := bus.Subscribe("dup", "c.d", nopHandler); err != nil {
		t.Errorf("Subscribe(dup, c.d) = %v, want nil: one subscriber handles several events", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()

	cfg := bustest.FastConfig()
	cfg.Workers = 0

	if _, err := events.New(nil, cfg, sealKey, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("New(Workers: 0) = nil error, want the configuration refused")
	}
}

func TestCloseWaitsForRunningHandler(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	started, release := make(chan struct{}), make(chan struct{})

	bustest.Subscribe(t, bus, "slow", "job.queued", func(context.Context, events.Raw) error {
		close(started)
		<-release

		return nil
	})
	bustest.Start(t, bus)
	db.PublishRaw(bus, events.Raw{ID: bustest.NewEventID(t), Name: "job.queued"})
	bustest.Receive(t, started)

	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	if err := bus.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close() with a handler running past its context = %v, want DeadlineExceeded", err)
	}

	closed := make(chan error, 1)

	go func() { closed <- bus.Close(context.WithoutCancel(t.Context())) }()

	select {
	case err := <-closed:
		t.Fatalf("Close() = %v before the handler finished, want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)

	if err := bustest.Receive(t, closed); err != nil {
		t.Errorf("Close() after the handler finished = %v, want nil", err)
	}
}

func TestPublishAfterCloseIsUnavailable(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	bustest.Start(t, bus)

	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	tx, err := db.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = tx.Rollback(t.Context()) }()

	err = bus.PublishRaw(t.Context(), tx, events.Raw{Name: "order.placed"})
	if !apperrors.IsType(err, apperrors.TypeUnavailable) || !errors.Is(err, events.ErrClosed) {
		t.Errorf("PublishRaw() after Close = %v, want ErrClosed (Unavailable)", err)
	}

	if err := bus.Publish(t.Context(), tx, orderPlaced{OrderID: "ord_1"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Publish() after Close = %v, want ErrClosed", err)
	}
}

// TestCloseRecordsHandlerThatFinishes: Close waits for running handlers;
// one that finishes successfully in that time is delivered, not rolled back
// to run again after the restart (a login code sent twice on every deploy).
func TestCloseRecordsHandlerThatFinishes(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	db.CreateEffects()

	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	started, release := make(chan struct{}), make(chan struct{})

	bustest.Subscribe(t, bus, "slow", "job.queued", func(ctx context.Context, e events.Raw) error {
		close(started)
		<-release

		return bustest.RecordEffect(context.WithoutCancel(ctx), e)
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "job.queued"}
	db.PublishRaw(bus, e)
	bustest.Receive(t, started)

	go func() {
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()

	if err := bus.Close(t.Context()); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	if got := db.Delivery("slow", e.ID); got.State != events.StateDelivered || len(db.Effects(e.ID)) != 1 {
		t.Errorf("after Close, delivery = %+v and effects %v; want delivered with its one effect", got, db.Effects(e.ID))
	}
}
