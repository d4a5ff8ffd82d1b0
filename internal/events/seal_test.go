package events

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/secrets"
)

func newTestSealer(t *testing.T, key string) *sealer {
	t.Helper()

	return newSealer(secrets.Fixed([]byte(key)))
}

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()

	s := newTestSealer(t, "platform-key")
	want := map[string]string{"code": "123456", "other": "é\x00"}

	sealed, err := s.seal("evt_1", want)
	if err != nil {
		t.Fatalf("seal() = %v", err)
	}

	got, err := s.open("evt_1", sealed)
	if err != nil {
		t.Fatalf("open(seal()) = %v", err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("open(seal(secret)) (-want +got):\n%s", diff)
	}

	again, err := s.seal("evt_1", want)
	if err != nil || string(again) == string(sealed) {
		t.Errorf("seal() twice = the same bytes (%v), want a fresh nonce each time", err)
	}
}

func TestSealerRefuses(t *testing.T) {
	t.Parallel()

	s := newTestSealer(t, "platform-key")

	sealed, err := s.seal("evt_1", map[string]string{"code": "123456"})
	if err != nil {
		t.Fatal(err)
	}

	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name    string
		opener  *sealer
		eventID string
		sealed  []byte
	}{
		{"another event ID", s, "evt_2", sealed},
		{"another key", newTestSealer(t, "another-key"), "evt_1", sealed},
		{"shorter than a nonce", s, "evt_1", sealed[:5]},
		{"truncated", s, "evt_1", sealed[:len(sealed)-1]},
		{"a flipped bit", s, "evt_1", flipped},
		{"garbage", s, "evt_1", []byte("not a sealed secret at all, no")},
	}
	for _, tt := range tests {
		if got, err := tt.opener.open(tt.eventID, tt.sealed); err == nil {
			t.Errorf("%s: open() = %v, nil; want an error", tt.name, got)
		}
	}
}

func TestSealerEmptySecret(t *testing.T) {
	t.Parallel()

	s := newTestSealer(t, "platform-key")

	for _, secret := range []map[string]string{nil, {}} {
		if sealed, err := s.seal("evt_1", secret); sealed != nil || err != nil {
			t.Errorf("seal(%v) = %q, %v; want nil, nil", secret, sealed, err)
		}
	}

	if got, err := s.open("evt_1", nil); got != nil || err != nil {
		t.Errorf("open(nil) = %v, %v; want nil, nil", got, err)
	}
}
