package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
	orderevents "github.com/modulith/modulith/modules/orders/events"
)

const (
	orderID = "order_01jpfirst"
	userID  = "user_01jpada"
	address = "ada@example.com"
)

var (
	created = orderevents.OrderCreated{
		OrderID: orderID, UserID: userID, TotalMinor: 3300, Currency: "EUR", ItemCount: 2,
		Channel: "email", Destination: address,
	}
	cancelled = orderevents.OrderCancelled{OrderID: orderID, UserID: userID, Reason: "changed my mind"}
)

// TestNamesAndVersions pins what subscribers, the outbox and clients know
// the events by: changing one breaks them.
func TestNamesAndVersions(t *testing.T) {
	t.Parallel()

	want := []string{"order.created v1", "order.cancelled v1"}

	var got []string
	for _, p := range []events.Payload{created, cancelled} {
		got = append(got, fmt.Sprintf("%s v%d", p.EventName(), p.EventVersion()))
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event names and versions (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		p       interface{ Validate() error }
		wantErr bool
	}{
		{name: "created", p: created},
		{name: "created, only IDs", p: orderevents.OrderCreated{OrderID: orderID, UserID: userID}},
		{name: "created, no order", p: with(created, func(e *orderevents.OrderCreated) { e.OrderID = "" }), wantErr: true},
		{name: "created, no user", p: with(created, func(e *orderevents.OrderCreated) { e.UserID = "" }), wantErr: true},
		{name: "created, nothing", p: orderevents.OrderCreated{}, wantErr: true},
		// A user with neither email nor phone gets no confirmation; the
		// order is placed all the same.
		{name: "created, no address", p: with(created, func(e *orderevents.OrderCreated) { e.Channel, e.Destination = "", "" })},
		{name: "cancelled", p: cancelled},
		{name: "cancelled, no reason", p: orderevents.OrderCancelled{OrderID: orderID, UserID: userID}},
		{name: "cancelled, no order", p: with(cancelled, func(e *orderevents.OrderCancelled) { e.OrderID = "" }), wantErr: true},
		{name: "cancelled, no user", p: with(cancelled, func(e *orderevents.OrderCancelled) { e.UserID = "" }), wantErr: true},
	}

	for _, tt := range tests {
		if err := tt.p.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%s: %+v.Validate() = %v, want error %t", tt.name, tt.p, err, tt.wantErr)
		}
	}
}

// with returns e changed by change.
func with[T any](e T, change func(*T)) T {
	change(&e)

	return e
}

// TestPayloadJSON pins the field names of each payload, which the docs and
// WebSocket clients rely on, and checks where a confirmation goes never
// travels in clear text: it is personal data.
func TestPayloadJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		p    events.Payload
		want map[string]any
	}{
		{p: created, want: map[string]any{
			"order_id": orderID, "user_id": userID, "total_minor": 3300.0, "currency": "EUR", "item_count": 2.0,
		}},
		{p: cancelled, want: map[string]any{"order_id": orderID, "user_id": userID, "reason": "changed my mind"}},
	}

	for _, tt := range tests {
		b, err := json.Marshal(tt.p)
		if err != nil {
			t.Fatalf("json.Marshal(%T) = %v", tt.p, err)
		}

		if strings.Contains(string(b), address) {
			t.Errorf("%s payload %s holds the address, want it sealed", tt.p.EventName(), b)
		}

		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s) = %v", b, err)
		}

		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s payload (-want +got):\n%s", tt.p.EventName(), diff)
		}
	}
}

// TestAddressIsASecret checks a subscriber gets the channel and the
// destination of a confirmation from the event's secrets "channel" and
// "destination", where the bus seals them.
func TestAddressIsASecret(t *testing.T) {
	t.Parallel()

	b, err := json.Marshal(created)
	if err != nil {
		t.Fatalf("json.Marshal(%T) = %v", created, err)
	}

	raw := events.Raw{
		Name: created.EventName(), Version: created.EventVersion(), Payload: b,
		Secret: map[string]string{"channel": created.Channel, "destination": created.Destination},
	}

	e, err := events.Decode[orderevents.OrderCreated](raw)
	if err != nil {
		t.Fatalf("Decode(%s) = %v", b, err)
	}

	if diff := cmp.Diff(created, e.Payload); diff != "" {
		t.Errorf("decoded %s (-want +got):\n%s", created.EventName(), diff)
	}
}

// TestOrderingKey checks an order's events are ordered by order.
func TestOrderingKey(t *testing.T) {
	t.Parallel()

	if got := created.OrderingKey(); got != orderID {
		t.Errorf("%+v.OrderingKey() = %q, want %q", created, got, orderID)
	}

	if got := cancelled.OrderingKey(); got != orderID {
		t.Errorf("%+v.OrderingKey() = %q, want %q", cancelled, got, orderID)
	}
}
