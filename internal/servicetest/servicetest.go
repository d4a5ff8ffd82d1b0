// Package servicetest finds the backing services tests share (NATS,
// Redis): where each answers, or how the test ends when none does.
package servicetest

import (
	"context"
	"net"
	"testing"
	"time"
)

// checkTimeout bounds the check that a service answers: a local one
// answers at once, and a test must not hang on one that does not.
const checkTimeout = 2 * time.Second

// Service is a backing service tests share.
type Service struct {
	// Name names it in messages ("NATS with JetStream").
	Name string
	// EnvVar holds its URL (TEST_NATS_URL); Default is the URL without it.
	EnvVar, Default string
	// InCI says how CI gets one ("run nats-server -js there (make nats-up
	// starts one)"); Locally how a developer does ("make test starts one
	// when nats-server is installed, or run nats-server -js yourself").
	InCI, Locally string
	// Check reports whether the service answers at a URL, within ctx.
	Check func(ctx context.Context, url string) error
}

// URL returns the service's URL, EnvVar's or else Default. It skips the
// test under short. When the service does not answer there it fails the
// test in CI (getenv("CI") set), where no test may be skipped, and
// elsewhere skips it saying how to run it.
func (s Service) URL(t testing.TB, short bool, getenv func(string) string) string {
	t.Helper()

	if short {
		t.Skipf("needs %s: skipped by -short; make test runs it", s.Name)
	}

	u := getenv(s.EnvVar)
	if u == "" {
		u = s.Default
	}

	ctx, cancel := context.WithTimeout(t.Context(), checkTimeout)
	defer cancel()

	if err := s.Check(ctx, u); err != nil {
		if getenv("CI") != "" {
			t.Fatalf("no %s server answers at %s (%s): %v; CI runs every test, so it must %s", s.Name, u, s.EnvVar, err, s.InCI)
		}

		t.Skipf("no %s server answers at %s (%s): %v; skipped: %s and set %s", s.Name, u, s.EnvVar, err, s.Locally, s.EnvVar)
	}

	return u
}

// ClosedAddr returns an address on 127.0.0.1 that nothing listens on now.
func ClosedAddr(t testing.TB) string {
	t.Helper()

	var lc net.ListenConfig

	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr
}
