package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
)

func TestDecode(t *testing.T) {
	t.Parallel()

	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	code := map[string]string{"code": "918273"}

	tests := []struct {
		name    string
		version int
		payload string
		secret  map[string]string
		want    orderPlaced
		// wantErr is a part of the error; "" for none.
		wantErr       string
		wantPermanent bool
	}{
		{
			name: "every field", version: 2, secret: code,
			payload: `{"order_id": "ord_1", "total": 7, "lines": 2, "placed_at": "2030-01-02T03:04:05Z", "tags": ["a"]}`,
			want:    orderPlaced{OrderID: "ord_1", Total: 7, Lines: 2, PlacedAt: at, Tags: []string{"a"}, Code: "918273"},
		},
		{name: "added field ignored", version: 2, payload: `{"order_id": "ord_1", "coupon": 3}`, want: orderPlaced{OrderID: "ord_1"}},
		{
			name: "secret only from the secrets", version: 2, secret: code,
			payload: `{"order_id": "ord_1", "Code": "leak", "code": "leak"}`, want: orderPlaced{OrderID: "ord_1", Code: "918273"},
		},
		{name: "secret missing", version: 2, payload: `{"order_id": "ord_1"}`, want: orderPlaced{OrderID: "ord_1"}},
		{name: "wrong type", version: 2, payload: `{"order_id": "ord_1", "total": "many"}`, wantErr: "total", wantPermanent: true},
		{name: "not JSON", version: 2, payload: `{"order_id"`, wantErr: "payload", wantPermanent: true},
		{name: "no payload fails Validate", version: 2, wantErr: errNoOrder.Error(), wantPermanent: true},
		{name: "older", version: 1, payload: `{"order_id": "ord_1"}`, wantErr: "older", wantPermanent: true},
		{name: "newer", version: 3, payload: `{"order_id": "ord_1"}`, wantErr: "newer"},
	}

	for _, tt := range tests {
		raw := events.Raw{
			ID: "evt_1", Name: "order.placed", Version: tt.version, Payload: json.RawMessage(tt.payload), Secret: tt.secret,
			OccurredAt: at, Attempt: 3,
		}

		got, err := events.Decode[orderPlaced](raw)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || events.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("%s: Decode() = %v, want an error about %q, permanent %t", tt.name, err, tt.wantErr, tt.wantPermanent)
			}

			continue
		}

		want := events.Event[orderPlaced]{ID: "evt_1", Name: "order.placed", Version: 2, OccurredAt: at, Attempt: 3, Payload: tt.want}
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%s: Decode() = %v (-want +got):\n%s", tt.name, err, diff)
		}
	}
}

// TestDecodeRefusesPointerTypes: Decode must not call the methods of a
// nil *T (the WebSocket routes call Decode with their own T).
func TestDecodeRefusesPointerTypes(t *testing.T) {
	t.Parallel()

	raw := events.Raw{ID: "evt_1", Name: "order.placed", Version: 2, Payload: json.RawMessage(`{"order_id": "ord_1"}`)}

	if _, err := events.Decode[*orderPlaced](raw); err == nil || !events.IsPermanent(err) {
		t.Errorf("Decode[*orderPlaced]() = %v, want a permanent error", err)
	}
}

// FuzzDecode checks Decode's contract on any payload: it never panics; a
// newer version is a retryable error; any other error is permanent; and
// what decodes passed Validate, at T's version, with its secret from the
// event's secrets only.
func FuzzDecode(f *testing.F) {
	f.Add(2, []byte(`{"order_id": "ord_1", "total": 5, "tags": ["a"]}`), "918273")
	f.Add(2, []byte(`{"order_id": "ord_1", "total": "many"}`), "")
	f.Add(2, []byte(`{"order_id": "ord_1", "Code": "leak", "code": "leak"}`), "918273")
	f.Add(2, []byte(`{"total": 1}`), "")
	f.Add(2, []byte(`null`), "")
	f.Add(2, []byte(`[]`), "")
	f.Add(2, []byte(``), "x")
	f.Add(1, []byte(`{"order_id": "ord_1"}`), "")
	f.Add(0, []byte(`{}`), "")
	f.Add(3, []byte(`{"order_id": "ord_1"}`), "")

	f.Fuzz(func(t *testing.T, version int, payload []byte, code string) {
		raw := events.Raw{ID: "evt_1", Name: "order.placed", Version: version, Payload: payload, Secret: map[string]string{"code": code}}

		e, err := events.Decode[orderPlaced](raw)
		checkDecoded(t, raw, e, err)
	})
}

// checkDecoded checks what Decode returned for raw against its contract.
func checkDecoded(t *testing.T, raw events.Raw, e events.Event[orderPlaced], err error) {
	t.Helper()

	switch {
	case raw.Version > orderPlacedVersion:
		if err == nil || events.IsPermanent(err) {
			t.Errorf("Decode(v%d) = %v, want an error to retry", raw.Version, err)
		}
	case err != nil:
		if !events.IsPermanent(err) || !strings.Contains(err.Error(), "orderPlaced") {
			t.Errorf("Decode(v%d, %q) = %v, want a permanent error naming the type", raw.Version, raw.Payload, err)
		}
	case !decodedFaithfully(raw, e):
		t.Errorf("Decode(v%d, %q, secrets %v) = %+v, want version %d, Validate passing and the code from the secrets",
			raw.Version, raw.Payload, raw.Secret, e, orderPlacedVersion)
	}
}

// decodedFaithfully reports whether e, decoded from raw, is at T's
// version, passed Validate and took its secret from raw's secrets.
func decodedFaithfully(raw events.Raw, e events.Event[orderPlaced]) bool {
	return raw.Version == orderPlacedVersion && e.Version == raw.Version &&
		e.Payload.Code == raw.Secret["code"] && e.Payload.Validate() == nil
}
