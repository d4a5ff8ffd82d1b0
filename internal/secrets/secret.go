package secrets

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Value is the platform secret at one time.
type Value struct {
	// Current signs new tokens and seals new events.
	Current []byte
	// Previous is the secret Current replaced, during a rotation: what was
	// signed or sealed under it still verifies or opens. Nil otherwise.
	Previous []byte
}

func (v Value) equal(o Value) bool {
	return bytes.Equal(v.Current, o.Current) && bytes.Equal(v.Previous, o.Previous)
}

// Provider reads the platform secret where it is kept.
type Provider interface {
	Read(ctx context.Context) (Value, error)
}

// Options tune a Secret.
type Options struct {
	// Name names the provider in logs ("file", "vault").
	Name string
	// TTL is how long a value read is used before it is read again; 0
	// reads once (a provider that cannot change, like the environment).
	TTL time.Duration
	// Check tells why a value cannot be the platform secret, or nil; nil
	// accepts any non-empty value.
	Check func(string) error
	// Logger receives rotations and read failures, never values.
	Logger *slog.Logger
}

// Secret is the platform secret its provider last gave, re-read every TTL
// once started. It is safe for concurrent use.
type Secret struct {
	provider Provider
	opts     Options
	value    atomic.Pointer[Value]

	cancel context.CancelFunc
	done   chan struct{}
}

// New reads the secret from p once, so that a process whose secret cannot
// be read does not start.
func New(ctx context.Context, p Provider, opts Options) (*Secret, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	s := &Secret{provider: p, opts: opts}

	v, err := s.read(ctx)
	if err != nil {
		return nil, err
	}

	s.value.Store(&v)

	return s, nil
}

// Fixed returns a Secret that is always current, with no previous value
// and no provider: for tests and for tools that run once.
func Fixed(current []byte) *Secret {
	s := &Secret{opts: Options{Logger: slog.New(slog.DiscardHandler)}}
	s.value.Store(&Value{Current: current})

	return s
}

// Value returns the secret as last read. Callers must not modify it.
func (s *Secret) Value() Value { return *s.value.Load() }

// Keys returns the current secret and the previous one (nil outside a
// rotation), from the same read.
func (s *Secret) Keys() (current, previous []byte) {
	v := s.value.Load()

	return v.Current, v.Previous
}

// Start re-reads the secret every TTL in a goroutine that Close stops.
// With no TTL (or no provider) there is nothing to re-read.
func (s *Secret) Start(ctx context.Context) {
	if s.opts.TTL <= 0 || s.provider == nil || s.cancel != nil {
		return
	}

	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})

	go s.run(ctx)
}

// Close stops re-reading and waits for a read in progress, within ctx.
func (s *Secret) Close(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}

	s.cancel()

	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("secrets: stop re-reading: %w", ctx.Err())
	}
}

func (s *Secret) run(ctx context.Context) {
	defer close(s.done)

	t := time.NewTicker(s.opts.TTL)
	defer t.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.refresh(ctx)
		}
	}
}

// refresh reads the secret again. A failed read keeps the value in use:
// tokens go on verifying while Vault or the disk is unreachable, and the
// failure is logged at each attempt until a read succeeds.
func (s *Secret) refresh(ctx context.Context) {
	v, err := s.read(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.opts.Logger.WarnContext(ctx, "secrets: re-read failed; the secret in use stays", "provider", s.opts.Name, "error", err)
		}

		return
	}

	if old := s.value.Load(); !old.equal(v) {
		s.value.Store(&v)
		s.opts.Logger.InfoContext(ctx, "secrets: platform secret changed",
			"provider", s.opts.Name, "rotated", !bytes.Equal(old.Current, v.Current), "previous", v.Previous != nil)
	}
}

// read reads and checks a value.
func (s *Secret) read(ctx context.Context) (Value, error) {
	v, err := s.provider.Read(ctx)
	if err != nil {
		return Value{}, err
	}

	if err := s.check("current", v.Current); err != nil {
		return Value{}, err
	}

	if v.Previous == nil {
		return v, nil
	}

	if err := s.check("previous", v.Previous); err != nil {
		return Value{}, err
	}

	if bytes.Equal(v.Previous, v.Current) {
		v.Previous = nil // a rotation that has not begun, or has ended
	}

	return v, nil
}

func (s *Secret) check(which string, b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("secrets: %s: the %s secret is empty", s.opts.Name, which)
	}

	if s.opts.Check == nil {
		return nil
	}

	if err := s.opts.Check(string(b)); err != nil {
		return fmt.Errorf("secrets: %s: the %s secret %w", s.opts.Name, which, err)
	}

	return nil
}

// errNoValue is a Provider's answer when the place it reads holds no
// secret.
var errNoValue = errors.New("no value")

// Key derives, for one purpose, a key from the platform secret: the
// HMAC-SHA256 of label under it. It follows the secret's rotations.
type Key struct {
	secret *Secret
	label  []byte
	cache  atomic.Pointer[derived]
}

// derived are the keys derived from one Value.
type derived struct {
	from              *Value
	current, previous []byte
}

// Key returns the key derived from the secret for label, e.g.
// "modulith/auth/magic-codes/v1".
func (s *Secret) Key(label string) *Key { return &Key{secret: s, label: []byte(label)} }

// Keys returns the key derived from the current secret and, during a
// rotation, the one derived from the previous secret (else nil). Both come
// from the same Value.
func (k *Key) Keys() (current, previous []byte) {
	v := k.secret.value.Load()
	if d := k.cache.Load(); d != nil && d.from == v {
		return d.current, d.previous
	}

	d := &derived{from: v, current: k.derive(v.Current)}
	if v.Previous != nil {
		d.previous = k.derive(v.Previous)
	}

	k.cache.Store(d)

	return d.current, d.previous
}

func (k *Key) derive(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(k.label)

	return m.Sum(nil)
}
