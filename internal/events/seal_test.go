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

// rotated returns the platform secret during a rotation from previous to
// current.
func rotated(t *testing.T, current, previous string) *secrets.Secret {
	t.Helper()

	s, err := secrets.New(t.Context(), secrets.Static{Current: []byte(current), Previous: []byte(previous)}, secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}

	return s
}

// TestSealerDuringARotation checks a secret sealed before a rotation of the
// platform secret still opens during it, that new secrets are sealed under
// the new key, and that once the previous secret is removed, what it
// sealed no longer opens.
func TestSealerDuringARotation(t *testing.T) {
	t.Parallel()

	want := map[string]string{"code": "123456"}

	before, err := newTestSealer(t, "old-platform-key").seal("evt_1", want)
	if err != nil {
		t.Fatal(err)
	}

	during := newSealer(rotated(t, "new-platform-key", "old-platform-key"))

	got, err := during.open("evt_1", before)
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("open() during the rotation of what the previous key sealed = %v, %v; want %v", got, err, want)
	}

	sealedDuring, err := during.seal("evt_2", want)
	if err != nil {
		t.Fatal(err)
	}

	after := newTestSealer(t, "new-platform-key")
	if got, err := after.open("evt_2", sealedDuring); err != nil || !cmp.Equal(got, want) {
		t.Errorf("open() with the new key alone of what was sealed during the rotation = %v, %v; want %v", got, err, want)
	}

	if got, err := after.open("evt_1", before); err == nil {
		t.Errorf("open() after the rotation of what the removed key sealed = %v, nil; want an error", got)
	}
}
