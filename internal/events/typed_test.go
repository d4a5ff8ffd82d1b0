package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

// typedSubscriber is a subscriber of orderPlaced that records what it
// receives.
type typedSubscriber struct {
	mu    sync.Mutex
	calls int
	got   chan events.Event[orderPlaced]
}

func subscribeOrders(t *testing.T, bus *events.Bus) *typedSubscriber {
	t.Helper()

	s := &typedSubscriber{got: make(chan events.Event[orderPlaced], 64)}

	if err := events.Subscribe(bus, "typed", s.handle); err != nil {
		t.Fatalf("Subscribe[orderPlaced](typed) = %v", err)
	}

	return s
}

func (s *typedSubscriber) handle(_ context.Context, e events.Event[orderPlaced]) error {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()

	s.got <- e

	return nil
}

// totalCalls returns how many times the handler ran.
func (s *typedSubscriber) totalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.calls
}

// TestTypedEventRoundTrip publishes typed payloads and checks what is
// stored (no secret in the JSON, the secret sealed, the ordering key) and
// what the subscriber decodes: every field as sent.
func TestTypedEventRoundTrip(t *testing.T) {
	t.Parallel()

	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		sent orderPlaced
	}{
		{
			name: "every field set",
			sent: orderPlaced{
				OrderID: "ord_full", Total: math.MaxInt64, Lines: -3, PlacedAt: time.Date(2030, 1, 2, 3, 4, 5, 6789, cet),
				Tags: []string{"gift", "é\"<>"}, Code: "918273",
			},
		},
		{name: "zero values", sent: orderPlaced{OrderID: "ord_zero"}},
		{name: "empty list", sent: orderPlaced{OrderID: "ord_empty", Total: math.MinInt64, Tags: []string{}, Code: "770011"}},
	}

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	sub := subscribeOrders(t, bus)
	bustest.Start(t, bus)

	before := time.Now()
	stored := make(map[string]storedRow, len(tests))

	for _, tt := range tests {
		stored[tt.sent.OrderID] = publishAndRead(t, db, bus, tt.sent)
	}

	got := map[string]events.Event[orderPlaced]{}
	for range tests {
		e := bustest.Receive(t, sub.got)
		got[e.Payload.OrderID] = e
	}

	for _, tt := range tests {
		e := got[tt.sent.OrderID]
		if diff := cmp.Diff(tt.sent, e.Payload); diff != "" {
			t.Errorf("%s: received payload (-sent +got):\n%s", tt.name, diff)
		}

		checkTypedMetadata(t, e, before)
		checkStored(t, stored[tt.sent.OrderID], tt.sent)
	}
}

func checkTypedMetadata(t *testing.T, e events.Event[orderPlaced], before time.Time) {
	t.Helper()

	if id, err := typeid.FromString(e.ID); err != nil || id.Prefix() != events.IDPrefix {
		t.Errorf("ID = %q (%v), want a TypeID with prefix %s", e.ID, err, events.IDPrefix)
	}

	if e.Name != "order.placed" || e.Version != orderPlacedVersion || e.Attempt != 1 {
		t.Errorf("Name, Version, Attempt = %q, %d, %d; want order.placed, %d, 1", e.Name, e.Version, e.Attempt, orderPlacedVersion)
	}

	if e.OccurredAt.Before(before.Add(-time.Second)) || e.OccurredAt.After(time.Now().Add(time.Second)) {
		t.Errorf("OccurredAt = %v, want the publication time (after %v)", e.OccurredAt, before)
	}
}

// storedRow is an event's outbox row as its publishing transaction left it.
type storedRow struct {
	payload, sealed []byte
	key             string
}

// publishAndRead publishes p and reads its outbox row in the same
// transaction: once delivered, the bus may erase the secret at any moment.
func publishAndRead(t *testing.T, db *bustest.DB, bus *events.Bus, p orderPlaced) storedRow {
	t.Helper()

	var row storedRow

	err := pgx.BeginFunc(t.Context(), db.Pool, func(tx pgx.Tx) error {
		if err := bus.Publish(t.Context(), tx, p); err != nil {
			return err
		}

		return tx.QueryRow(t.Context(), `SELECT payload::text, secret, coalesce(ordering_key, '')
			FROM events.outbox WHERE payload->>'order_id' = $1`, p.OrderID).Scan(&row.payload, &row.sealed, &row.key)
	})
	if err != nil {
		t.Fatalf("Publish(%s) = %v", p.OrderID, err)
	}

	return row
}

// checkStored checks the outbox row of a typed event: the JSON payload has
// exactly the non-secret fields, the code is sealed in the secret column
// only, and the ordering key is OrderingKey().
func checkStored(t *testing.T, row storedRow, sent orderPlaced) {
	t.Helper()

	payload, sealed, key := row.payload, row.sealed, row.key

	keys := make([]string, 0)
	for k := range decodeObject(t, payload) {
		keys = append(keys, k)
	}

	slices.Sort(keys)

	if want := []string{"lines", "order_id", "placed_at", "tags", "total"}; !slices.Equal(keys, want) {
		t.Errorf("stored payload %s has keys %q, want %q", payload, keys, want)
	}

	var stored orderPlaced
	if err := json.Unmarshal(payload, &stored); err != nil || stored.Total != sent.Total {
		t.Errorf("stored payload %s: total %d (%v), want %d exactly", payload, stored.Total, err, sent.Total)
	}

	if sent.Code != "" && (bytes.Contains(payload, []byte(sent.Code)) || len(sealed) == 0 || bytes.Contains(sealed, []byte(sent.Code))) {
		t.Errorf("stored payload %s, secret %q; want the code %s sealed in the secret only", payload, sealed, sent.Code)
	}

	if key != sent.OrderID {
		t.Errorf("stored ordering key = %q, want OrderingKey() %q", key, sent.OrderID)
	}
}

func TestTypedPayloadWithoutOrderingKeyStoresNone(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())

	if err := bustest.Publish(t.Context(), db.Pool, bus, noteAdded{Text: "hello"}); err != nil {
		t.Fatalf("Publish(noteAdded) = %v", err)
	}

	if n := db.Count("SELECT count(*) FROM events.outbox WHERE name = 'note.added' AND ordering_key IS NULL AND secret IS NULL"); n != 1 {
		t.Errorf("note.added rows without ordering key or secret = %d, want 1", n)
	}
}

func TestTypedDecodingToleratesAddedAndMissingFields(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	sub := subscribeOrders(t, bus)
	bustest.Start(t, bus)

	// A newer publisher added coupon; an older one knew no lines, placed_at
	// or tags.
	db.PublishRaw(bus, events.Raw{
		Name: "order.placed", Version: orderPlacedVersion, Secret: map[string]string{"code": "42", "other": "x"},
		Payload: json.RawMessage(`{"order_id": "ord_1", "total": 5, "coupon": "SPRING"}`),
	})

	want := orderPlaced{OrderID: "ord_1", Total: 5, Code: "42"}
	if diff := cmp.Diff(want, bustest.Receive(t, sub.got).Payload); diff != "" {
		t.Errorf("received payload (-want +got):\n%s", diff)
	}
}

// TestTypedUndecodableDeliveryIsDeadAtOnce: a payload that cannot become
// an orderPlaced is dead after one attempt, with an error that names the
// event and the type, and the handler never runs.
func TestTypedUndecodableDeliveryIsDeadAtOnce(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		version int
		payload string
		wantErr string
	}{
		{name: "string where an int is expected", version: 2, payload: `{"order_id": "ord_1", "total": "many"}`, wantErr: "total"},
		{name: "not an object", version: 2, payload: `["ord_1"]`, wantErr: "cannot unmarshal array"},
		{name: "older version", version: 1, payload: `{"order_id": "ord_1"}`, wantErr: "older"},
		{name: "fails Validate", version: 2, payload: `{"total": 1}`, wantErr: errNoOrder.Error()},
	}

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig()) // 5 attempts for a failure that is not permanent
	sub := subscribeOrders(t, bus)
	bustest.Start(t, bus)

	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = bustest.NewEventID(t)
		db.PublishRaw(bus, events.Raw{ID: ids[i], Name: "order.placed", Version: tt.version, Payload: json.RawMessage(tt.payload)})
	}

	for i, tt := range tests {
		d := db.AwaitState("typed", ids[i], events.StateDead)
		if d.Attempts != 1 {
			t.Errorf("%s: dead after %d attempts, want 1", tt.name, d.Attempts)
		}

		for _, want := range []string{"order.placed", "events_test.orderPlaced", tt.wantErr} {
			if !strings.Contains(d.LastError, want) {
				t.Errorf("%s: last error %q, want it to name %q", tt.name, d.LastError, want)
			}
		}
	}

	if n := sub.totalCalls(); n != 0 {
		t.Errorf("handler ran %d times, want never", n)
	}
}

// TestTypedNewerVersionIsRetried: a replica running newer code may handle
// it, so it is not dead.
func TestTypedNewerVersionIsRetried(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 1000

	bus := bustest.NewBus(t, db.Pool, cfg)
	sub := subscribeOrders(t, bus)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed", Version: orderPlacedVersion + 1, Payload: json.RawMessage(`{"order_id": "ord_1"}`)}
	db.PublishRaw(bus, e)

	var d bustest.Delivery

	bustest.Eventually(t, "three attempts of the newer event", func() bool {
		d = db.Delivery("typed", e.ID)

		return d.Attempts >= 3 || d.State != events.StatePending && d.State != events.StateFailed
	})

	if d.State != events.StateFailed || !strings.Contains(d.LastError, "newer") {
		t.Errorf("delivery of a newer version = %+v, want failed (retried) with an error saying it is newer", d)
	}

	if n := sub.totalCalls(); n != 0 {
		t.Errorf("handler ran %d times, want never", n)
	}
}

func TestTypedPublishRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		payload events.Payload
		wantIs  error
	}{
		{name: "Validate fails", payload: orderPlaced{Total: 1}, wantIs: errNoOrder},
		{name: "no payload", payload: nil},
		{name: "pointer", payload: &orderPlaced{OrderID: "ord_1"}},
		{name: "secret not a string", payload: secretNotString{Code: 1}},
		{name: "secret in the JSON", payload: secretInJSON{Code: "1"}},
		{name: "version 0", payload: versionZero{Text: "x"}},
		{name: "Validate on the pointer", payload: validateOnPointer{Text: "x"}},
		{name: "OrderingKey on the pointer", payload: orderingKeyOnPointer{Text: "x"}},
	}

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())

	for _, tt := range tests {
		err := bustest.Publish(t.Context(), db.Pool, bus, tt.payload)
		if err == nil || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
			t.Errorf("%s: Publish(%#v) = %v, want an error (wrapping %v)", tt.name, tt.payload, err, tt.wantIs)
		}
	}

	if n := db.Count("SELECT count(*) FROM events.outbox") + db.Count("SELECT count(*) FROM events.deliveries"); n != 0 {
		t.Errorf("after refused publications: %d outbox and delivery rows, want 0", n)
	}
}

// TestSubscribeRejectsInvalidPayloadTypes: a type the bus could not carry
// faithfully is refused when subscribed, and nothing is registered.
func TestSubscribeRejectsInvalidPayloadTypes(t *testing.T) {
	t.Parallel()

	nop := func(context.Context, events.Raw) error { return nil }
	tests := []struct {
		name      string
		event     string
		subscribe func(events.Subscriber) error
	}{
		{name: "secret not a string", event: secretNotString{}.EventName(), subscribe: subscribeNop[secretNotString]},
		{name: "secret in the JSON", event: secretInJSON{}.EventName(), subscribe: subscribeNop[secretInJSON]},
		{name: "secret without json:\"-\"", event: secretUntagged{}.EventName(), subscribe: subscribeNop[secretUntagged]},
		{name: "secret without a name", event: secretUnnamed{}.EventName(), subscribe: subscribeNop[secretUnnamed]},
		{name: "pointer", event: orderPlaced{}.EventName(), subscribe: subscribeNop[*orderPlaced]},
		{name: "version 0", event: versionZero{}.EventName(), subscribe: subscribeNop[versionZero]},
		{name: "version -1", event: versionNegative{}.EventName(), subscribe: subscribeNop[versionNegative]},
		{name: "Validate on the pointer", event: validateOnPointer{}.EventName(), subscribe: subscribeNop[validateOnPointer]},
		{name: "OrderingKey on the pointer", event: orderingKeyOnPointer{}.EventName(), subscribe: subscribeNop[orderingKeyOnPointer]},
	}

	bus := bustest.NewBus(t, nil, bustest.FastConfig())

	for _, tt := range tests {
		if err := tt.subscribe(bus); err == nil {
			t.Errorf("%s: Subscribe() = nil, want an error", tt.name)
		}

		// Nothing was registered: the raw subscription is no duplicate.
		if err := bus.Subscribe("typed", tt.event, nop); err != nil {
			t.Errorf("%s: Subscribe(typed, %s) after the refusal = %v, want nil", tt.name, tt.event, err)
		}
	}

	if err := subscribeNop[noteAdded](bus); err != nil {
		t.Errorf("Subscribe[noteAdded]() = %v, want nil", err)
	}

	if err := subscribeNop[noteAdded](bus); err == nil {
		t.Error("Subscribe[noteAdded]() twice = nil, want the duplicate refused")
	}
}

func subscribeNop[T events.Payload](bus events.Subscriber) error {
	return events.Subscribe(bus, "typed", func(context.Context, events.Event[T]) error { return nil })
}

// TestTypedHandlerPermanentFailureIsDeadAtOnce checks that a handler's
// Permanent error (wrapped or not) makes the delivery dead at once, a plain
// error is retried, and an undecodable payload is dead at once (natsbus
// runs the same check on the NATS transport).
func TestTypedHandlerPermanentFailureIsDeadAtOnce(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bustest.CheckPermanentFailures(t, db, bustest.NewBus(t, db.Pool, bustest.FastConfig()))
}
