package page_test

import (
	"encoding/base64"
	stderrors "errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/page"
)

// orderID is a valid TypeID, so that only what a test changes in a token
// makes it invalid.
const orderID = "order_01m7yk86bpfasrw5f3r9c3cx7b"

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()

	fresh, err := ids.New("order")
	if err != nil {
		t.Fatalf("ids.New(order) = %v", err)
	}

	for _, id := range []string{orderID, fresh} {
		token := page.Token(id)
		if token == id {
			t.Errorf("Token(%q) = %q, want it opaque", id, token)
		}

		got, err := page.After(token, "order")
		if err != nil || got != id {
			t.Errorf("After(Token(%q), order) = %q, %v; want %q", id, got, err, id)
		}
	}
}

func TestAfterFirstPage(t *testing.T) {
	t.Parallel()

	if got, err := page.After("", "order"); got != "" || err != nil {
		t.Errorf(`After("", order) = %q, %v; want "", nil`, got, err)
	}
}

// TestAfterRejects checks a token this API did not return is
// InvalidArgument on page_token.
func TestAfterRejects(t *testing.T) {
	t.Parallel()

	encode := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name, token string
	}{
		{name: "not base64", token: "!!not a token!!"},
		{name: "padded base64", token: base64.URLEncoding.EncodeToString([]byte(orderID))},
		{name: "not a TypeID", token: encode([]byte("order_nope"))},
		{name: "another prefix", token: page.Token("user_01m7yk86bpfasrw5f3r9c3cx7b")},
		{name: "a bare ID", token: encode([]byte(orderID[len("order_"):]))},
		{name: "the ID itself", token: orderID},
	}

	want := []errors.FieldViolation{{Field: "page_token", Description: "use a next_page_token as returned"}}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := page.After(tt.token, "order")

			var de *errors.DomainError
			if !stderrors.As(err, &de) || de.Type != errors.TypeValidation || got != "" {
				t.Fatalf("After(%q, order) = %q, %v; want a validation error", tt.token, got, err)
			}

			if diff := cmp.Diff(want, de.Fields); diff != "" {
				t.Errorf("After(%q, order) fields (-want +got):\n%s", tt.token, diff)
			}
		})
	}
}

func TestSize(t *testing.T) {
	t.Parallel()

	const def, maxSize = 20, 100

	tests := []struct {
		requested, want int32
	}{
		{requested: 0, want: def},
		{requested: -1, want: def},
		{requested: -1 << 31, want: def},
		{requested: 1, want: 1},
		{requested: def + 1, want: def + 1},
		{requested: maxSize, want: maxSize},
		{requested: maxSize + 1, want: maxSize},
		{requested: 1<<31 - 1, want: maxSize},
	}

	for _, tt := range tests {
		if got := page.Size(tt.requested, def, maxSize); got != tt.want {
			t.Errorf("Size(%d, %d, %d) = %d, want %d", tt.requested, def, maxSize, got, tt.want)
		}
	}
}
