package ids_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
)

// typeID is the form of a TypeID with prefix order: the prefix, an
// underscore and 26 lower-case Crockford base32 characters, the first at
// most 7 (128 bits).
var typeID = regexp.MustCompile(`^order_[0-7][0-9a-hjkmnp-tv-z]{25}$`)

func TestNew(t *testing.T) {
	t.Parallel()

	seen := make(map[string]bool)

	for range 100 {
		id, err := ids.New("order")
		if err != nil {
			t.Fatalf("New(order) = %v", err)
		}

		if !typeID.MatchString(id) {
			t.Fatalf("New(order) = %q, want it to match %s", id, typeID)
		}

		if seen[id] {
			t.Fatalf("New(order) = %q twice", id)
		}

		seen[id] = true
	}
}

// TestNewIsTimeOrdered checks an ID made later sorts after one made
// earlier: pages run newest first by ID.
func TestNewIsTimeOrdered(t *testing.T) {
	t.Parallel()

	earlier, err := ids.New("order")
	if err != nil {
		t.Fatalf("New(order) = %v", err)
	}

	time.Sleep(2 * time.Millisecond) // UUIDv7 orders by millisecond

	later, err := ids.New("order")
	if err != nil {
		t.Fatalf("New(order) = %v", err)
	}

	if later <= earlier {
		t.Errorf("New(order) = %q after %q, want it to sort after", later, earlier)
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	t.Parallel()

	for _, prefix := range []string{"Order", "order-item", "order1", "_order", "order_", strings.Repeat("o", 64)} {
		id, err := ids.New(prefix)
		if !errors.IsType(err, errors.TypeInternal) || id != "" {
			t.Errorf("New(%q) = %q, %v; want an internal error", prefix, id, err)
		}
	}
}

func TestNewAcceptsLongestPrefix(t *testing.T) {
	t.Parallel()

	prefix := strings.Repeat("o", 63)
	if id, err := ids.New(prefix); err != nil || !ids.Valid(id, prefix) {
		t.Errorf("New(%q) = %q, %v; want a valid ID", prefix, id, err)
	}
}

func TestValid(t *testing.T) {
	t.Parallel()

	id, err := ids.New("order")
	if err != nil {
		t.Fatalf("New(order) = %v", err)
	}

	user, err := ids.New("user")
	if err != nil {
		t.Fatalf("New(user) = %v", err)
	}

	suffix := id[len("order_"):]

	tests := []struct {
		s, prefix string
		want      bool
	}{
		{s: id, prefix: "order", want: true},
		{s: "order_01m7yk86bpfasrw5f3r9c3cx7b", prefix: "order", want: true},
		{s: id, prefix: "user"},
		{s: user, prefix: "order"},
		{s: suffix, prefix: "order"},
		{s: suffix, prefix: "", want: true},
		{s: "", prefix: "order"},
		{s: "order_", prefix: "order"},
		{s: "order_nope", prefix: "order"},
		{s: id + "0", prefix: "order"},
		{s: id[:len(id)-1], prefix: "order"},
		{s: "order_81m7yk86bpfasrw5f3r9c3cx7b", prefix: "order"}, // overflows 128 bits
		{s: "order_01m7yk86bpfasrw5f3r9c3cx7u", prefix: "order"}, // u is not Crockford base32
		{s: "ORDER_01m7yk86bpfasrw5f3r9c3cx7b", prefix: "order"},
		{s: "order_01M7YK86BPFASRW5F3R9C3CX7B", prefix: "order"}, // IDs compare as text: one spelling only
	}

	for _, tt := range tests {
		if got := ids.Valid(tt.s, tt.prefix); got != tt.want {
			t.Errorf("Valid(%q, %q) = %t, want %t", tt.s, tt.prefix, got, tt.want)
		}
	}
}
