package secrets_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/secrets"
)

// provider is a Provider whose value a test changes.
type provider struct {
	mu    sync.Mutex
	value secrets.Value
	err   error
	reads int
}

func (p *provider) Read(context.Context) (secrets.Value, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.reads++

	return p.value, p.err
}

func (p *provider) readCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.reads
}

func (p *provider) set(v secrets.Value, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.value, p.err = v, err
}

var (
	secretA = []byte("secret-a-0123456789abcdef0123456789abcdef")
	secretB = []byte("secret-b-0123456789abcdef0123456789abcdef")
)

// minLength is a Check refusing values shorter than 32 bytes.
func minLength(s string) error {
	if len(s) < 32 {
		return fmt.Errorf("is %d bytes", len(s))
	}

	return nil
}

// eventually polls cond every few milliseconds for up to 5 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}

		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, p secrets.Provider, ttl time.Duration) *secrets.Secret {
	t.Helper()

	s, err := secrets.New(t.Context(), p, secrets.Options{Name: "test", TTL: ttl, Check: minLength})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	s.Start(t.Context())
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})

	return s
}

// TestSecretRereadsEveryTTL checks a started Secret picks up a new value
// within its TTL, and keeps the value in use while the provider fails.
func TestSecretRereadsEveryTTL(t *testing.T) {
	t.Parallel()

	p := &provider{value: secrets.Value{Current: secretA}}
	s := start(t, p, 10*time.Millisecond)

	if got := s.Value(); !bytes.Equal(got.Current, secretA) || got.Previous != nil {
		t.Fatalf("Value() = %q, want the first read", got)
	}

	p.set(secrets.Value{Current: secretB, Previous: secretA}, nil)
	eventually(t, "the rotation is read", func() bool { return bytes.Equal(s.Value().Current, secretB) })

	if got := s.Value(); !bytes.Equal(got.Previous, secretA) {
		t.Errorf("Value().Previous = %q, want %q", got.Previous, secretA)
	}

	p.set(secrets.Value{}, errors.New("vault is down"))

	failedFrom := p.readCount()

	eventually(t, "a failed read", func() bool { return p.readCount() > failedFrom+1 })

	if got := s.Value(); !bytes.Equal(got.Current, secretB) {
		t.Errorf("Value() after failed reads = %q, want the last good value kept", got.Current)
	}

	p.set(secrets.Value{Current: []byte("short")}, nil)

	refusedFrom := p.readCount()

	eventually(t, "a refused read", func() bool { return p.readCount() > refusedFrom+1 })

	if got := s.Value(); !bytes.Equal(got.Current, secretB) {
		t.Errorf("Value() after a short secret was read = %q, want the last good value kept", got.Current)
	}
}

// TestSecretWithoutTTLReadsOnce checks an env-like Secret (no TTL) reads
// its provider once, even started.
func TestSecretWithoutTTLReadsOnce(t *testing.T) {
	t.Parallel()

	p := &provider{value: secrets.Value{Current: secretA}}
	s := start(t, p, 0)

	p.set(secrets.Value{Current: secretB}, nil)
	time.Sleep(30 * time.Millisecond)

	if got := s.Value(); !bytes.Equal(got.Current, secretA) || p.readCount() != 1 {
		t.Errorf("Value() = %q after %d reads, want the first and only read", got.Current, p.readCount())
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		value secrets.Value
		err   error
		want  string
	}{
		{name: "read error", err: errors.New("permission denied"), want: "permission denied"},
		{name: "empty", value: secrets.Value{}, want: "current secret is empty"},
		{name: "short current", value: secrets.Value{Current: []byte("short-current")}, want: "current secret is 13 bytes"},
		{name: "short previous", value: secrets.Value{Current: secretA, Previous: []byte("short-previous")}, want: "previous secret is 14 bytes"},
	}
	for _, tt := range tests {
		_, err := secrets.New(t.Context(), &provider{value: tt.value, err: tt.err}, secrets.Options{Name: "test", Check: minLength})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New() = %v, want an error saying %q", tt.name, err, tt.want)
		}

		if err != nil && (strings.Contains(err.Error(), "short-current") || strings.Contains(err.Error(), "short-previous")) {
			t.Errorf("%s: New() = %v: the error shows the value", tt.name, err)
		}
	}
}

// TestPreviousEqualToCurrentIsNoRotation checks a previous value equal to
// the current one (a rotation ended by copying) counts as none.
func TestPreviousEqualToCurrentIsNoRotation(t *testing.T) {
	t.Parallel()

	s := start(t, &provider{value: secrets.Value{Current: secretA, Previous: secretA}}, 0)
	if got := s.Value(); got.Previous != nil {
		t.Errorf("Value().Previous = %q, want nil", got.Previous)
	}
}

func hmacOf(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))

	return m.Sum(nil)
}

// TestKeyFollowsRotations checks a derived key is HMAC-SHA256(secret,
// label), for the current and the previous secret, after each rotation.
func TestKeyFollowsRotations(t *testing.T) {
	t.Parallel()

	p := &provider{value: secrets.Value{Current: secretA}}
	s := start(t, p, 10*time.Millisecond)
	k := s.Key("modulith/auth/magic-codes/v1")

	current, previous := k.Keys()
	if want := hmacOf(secretA, "modulith/auth/magic-codes/v1"); !bytes.Equal(current, want) || previous != nil {
		t.Fatalf("Keys() = %x, %x; want %x, nil", current, previous, want)
	}

	p.set(secrets.Value{Current: secretB, Previous: secretA}, nil)
	eventually(t, "the rotation is read", func() bool { return bytes.Equal(s.Value().Current, secretB) })

	current, previous = k.Keys()
	if want := hmacOf(secretB, "modulith/auth/magic-codes/v1"); !bytes.Equal(current, want) {
		t.Errorf("Keys() current after the rotation = %x, want %x", current, want)
	}

	if want := hmacOf(secretA, "modulith/auth/magic-codes/v1"); !bytes.Equal(previous, want) {
		t.Errorf("Keys() previous after the rotation = %x, want %x", previous, want)
	}

	other, _ := s.Key("modulith/auth/refresh-tokens/v1").Keys()
	if bytes.Equal(other, current) {
		t.Error("two labels derive the same key")
	}
}

func TestFixed(t *testing.T) {
	t.Parallel()

	s := secrets.Fixed(secretA)
	s.Start(t.Context())

	if got := s.Value(); !bytes.Equal(got.Current, secretA) || got.Previous != nil {
		t.Errorf("Fixed().Value() = %q, want the secret alone", got)
	}

	if err := s.Close(t.Context()); err != nil {
		t.Errorf("Close() = %v", err)
	}
}
