package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"go.jetify.com/typeid"

	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/testutil"
)

func TestPublishTxRollbackStoresAndDeliversNothing(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	got := newSink()
	subscribe(t, bus, "mailer", "order.placed", got.handle)
	testutil.StartBus(t, bus)

	rolledBack := events.Event{ID: newEventID(t), Name: "order.placed"}

	tx, err := env.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if err := bus.PublishTx(t.Context(), tx, rolledBack); err != nil {
		t.Fatalf("PublishTx() = %v", err)
	}

	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}

	if n := env.count("SELECT count(*) FROM events.outbox") + env.count("SELECT count(*) FROM events.deliveries"); n != 0 {
		t.Fatalf("after rollback: %d outbox and delivery rows, want 0", n)
	}

	// An event committed afterwards is delivered, and alone.
	committed := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, committed)

	if e := got.next(t); e.ID != committed.ID {
		t.Errorf("handled %s, want %s (the committed event)", e.ID, committed.ID)
	}

	got.none(t, 10*fastConfig().PollInterval)
}

func TestPublishTxCommitFansOutToSubscriptions(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	cfg := fastConfig()
	cfg.Consume = false // register the subscriptions, deliver nothing

	bus := env.newBus(cfg)
	subscribe(t, bus, "alpha", "order.placed", nopHandler)
	subscribe(t, bus, "beta", "order.placed", nopHandler)
	subscribe(t, bus, "gamma", "order.shipped", nopHandler)
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}

	err := pgx.BeginFunc(t.Context(), env.pool, func(tx pgx.Tx) error { return bus.PublishTx(t.Context(), tx, e) })
	if err != nil {
		t.Fatalf("PublishTx() = %v", err)
	}

	if n := env.count("SELECT count(*) FROM events.outbox WHERE id = $1", e.ID); n != 1 {
		t.Errorf("outbox rows of %s = %d, want 1", e.ID, n)
	}

	want := []string{"alpha pending", "beta pending"}
	if diff := cmp.Diff(want, env.deliveries(e.ID)); diff != "" {
		t.Errorf("deliveries of %s (-want +got):\n%s", e.ID, diff)
	}
}

func TestPublishDeliversToEverySubscriberOfTheName(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	alpha, beta, gamma := newSink(), newSink(), newSink()
	subscribe(t, bus, "alpha", "order.placed", alpha.handle)
	subscribe(t, bus, "beta", "order.placed", beta.handle)
	subscribe(t, bus, "gamma", "order.shipped", gamma.handle)
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "order.placed"}
	env.publish(bus, e)

	for name, s := range map[string]*sink{"alpha": alpha, "beta": beta} {
		if got := s.next(t); got.ID != e.ID {
			t.Errorf("%s handled %s, want %s", name, got.ID, e.ID)
		}
	}

	env.awaitState("beta", e.ID, events.StateDelivered)
	env.awaitState("alpha", e.ID, events.StateDelivered)
	gamma.none(t, 5*fastConfig().PollInterval)
}

func TestPublishFillsDefaultsAndStoresPayloadAsJSON(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	got := newSink()
	subscribe(t, bus, "mailer", "order.placed", got.handle)
	testutil.StartBus(t, bus)

	before := time.Now()
	payload := map[string]any{"order": "ord_1", "lines": []any{"a", "b"}, "total": 42.5, "gift": true}

	if err := bus.Publish(t.Context(), events.Event{Name: "order.placed", Payload: payload}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	e := got.next(t)
	checkFilled(t, e, before)

	if diff := cmp.Diff(payload, e.Payload); diff != "" {
		t.Errorf("handled payload (-want +got):\n%s", diff)
	}

	var stored []byte
	env.scan([]any{&stored}, "SELECT payload::text FROM events.outbox WHERE id = $1", e.ID)

	var decoded map[string]any
	if err := json.Unmarshal(stored, &decoded); err != nil || !cmp.Equal(payload, decoded) {
		t.Errorf("stored payload = %s (%v), want the JSON of %v", stored, err, payload)
	}
}

func checkFilled(t *testing.T, e events.Event, before time.Time) {
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

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	got := newSink()
	subscribe(t, bus, "mailer", "order.placed", got.handle)
	testutil.StartBus(t, bus)

	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	want := events.Event{ID: newEventID(t), Name: "order.placed", Version: 3, OccurredAt: at, OrderingKey: "ord_1"}
	env.publish(bus, want)

	e := got.next(t)
	if e.ID != want.ID || e.Version != 3 || !e.OccurredAt.Equal(at) || e.OrderingKey != "ord_1" {
		t.Errorf("handled %+v, want ID, Version, OccurredAt and OrderingKey of %+v", e, want)
	}
}

func TestPublishWithoutNameFails(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())

	if err := bus.Publish(t.Context(), events.Event{Payload: map[string]any{"a": 1}}); err == nil {
		t.Error("Publish(event without name) = nil, want an error")
	}

	if n := env.count("SELECT count(*) FROM events.outbox"); n != 0 {
		t.Errorf("outbox rows = %d, want 0", n)
	}
}

func TestSecretIsSealedInTheOutboxAndHandedToHandlers(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	cfg := fastConfig()
	cfg.Consume = false

	publisher := env.newBus(cfg)
	subscribe(t, publisher, "mailer", "code.requested", nopHandler)
	testutil.StartBus(t, publisher)

	e := events.Event{ID: newEventID(t), Name: "code.requested", Secret: events.CodeSecret("918273")}
	env.publish(publisher, e)

	sealed := env.secret(e.ID)
	if len(sealed) == 0 || bytes.Contains(sealed, []byte("918273")) {
		t.Fatalf("outbox secret = %q, want it sealed: present, without the code", sealed)
	}

	// Undelivered: the secret must stay.
	if n, err := publisher.EraseSecrets(t.Context()); err != nil || n != 0 || len(env.secret(e.ID)) == 0 {
		t.Fatalf("EraseSecrets() before delivery = %d, %v; want 0 and the secret kept", n, err)
	}

	consumer := env.newBus(fastConfig())
	got := newSink()
	subscribe(t, consumer, "mailer", "code.requested", got.handle)
	testutil.StartBus(t, consumer)

	if h := got.next(t); h.Secret[events.KeyCode] != "918273" {
		t.Errorf("handler got Secret %v, want code 918273", h.Secret)
	}

	env.awaitState("mailer", e.ID, events.StateDelivered)

	// The started consumer's maintenance may erase it first: either way it
	// is gone after one EraseSecrets.
	if n, err := publisher.EraseSecrets(t.Context()); err != nil || n > 1 || env.secret(e.ID) != nil {
		t.Errorf("EraseSecrets() after delivery = %d, %v, secret %q; want at most 1, nil, NULL", n, err, env.secret(e.ID))
	}
}

func TestMaintenanceErasesSecretsOfDeliveredEvents(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	got := newSink()
	subscribe(t, bus, "mailer", "code.requested", got.handle)
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "code.requested", Secret: events.CodeSecret("918273")}
	env.publish(bus, e)
	got.next(t)

	// The maintenance loop erases every 5 s.
	eventually(t, "the secret of the delivered event is erased", func() bool { return env.secret(e.ID) == nil })
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

	bus, err := events.New(nil, fastConfig(), sealKey, discardLogger())
	if err != nil {
		t.Fatal(err)
	}

	subscribe(t, bus, "dup", "a.b", nopHandler)

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

	cfg := fastConfig()
	cfg.Workers = 0

	if _, err := events.New(nil, cfg, sealKey, discardLogger()); err == nil {
		t.Error("New(Workers: 0) = nil error, want the configuration refused")
	}
}

func TestCloseWaitsForRunningHandler(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	started, release := make(chan struct{}), make(chan struct{})

	subscribe(t, bus, "slow", "job.queued", func(context.Context, events.Event) error {
		close(started)
		<-release

		return nil
	})
	testutil.StartBus(t, bus)
	env.publish(bus, events.Event{ID: newEventID(t), Name: "job.queued"})
	receive(t, started)

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

	if err := receive(t, closed); err != nil {
		t.Errorf("Close() after the handler finished = %v, want nil", err)
	}
}

func TestPublishAfterCloseIsUnavailable(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.newBus(fastConfig())
	testutil.StartBus(t, bus)

	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := bus.Publish(t.Context(), events.Event{Name: "order.placed"})
	if !apperrors.IsType(err, apperrors.TypeUnavailable) || !errors.Is(err, events.ErrClosed) {
		t.Errorf("Publish() after Close = %v, want ErrClosed (Unavailable)", err)
	}

	tx, err := env.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = tx.Rollback(t.Context()) }()

	if err := bus.PublishTx(t.Context(), tx, events.Event{Name: "order.placed"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("PublishTx() after Close = %v, want ErrClosed", err)
	}
}

// TestCloseRecordsHandlerThatFinishes: Close waits for running handlers;
// one that finishes successfully in that time is delivered, not rolled back
// to run again after the restart (a login code sent twice on every deploy).
func TestCloseRecordsHandlerThatFinishes(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	env.withEffects()

	bus := env.newBus(fastConfig())
	started, release := make(chan struct{}), make(chan struct{})

	subscribe(t, bus, "slow", "job.queued", func(ctx context.Context, e events.Event) error {
		close(started)
		<-release

		return recordEffect(context.WithoutCancel(ctx), e)
	})
	testutil.StartBus(t, bus)

	e := events.Event{ID: newEventID(t), Name: "job.queued"}
	env.publish(bus, e)
	receive(t, started)

	go func() {
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()

	if err := bus.Close(t.Context()); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	if got := env.delivery("slow", e.ID); got.State != events.StateDelivered || len(env.effects(e.ID)) != 1 {
		t.Errorf("after Close, delivery = %+v and effects %v; want delivered with its one effect", got, env.effects(e.ID))
	}
}
