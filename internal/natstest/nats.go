// Package natstest gives tests the NATS server with JetStream they share.
package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	envNATSURL     = "TEST_NATS_URL"
	defaultNATSURL = "nats://127.0.0.1:4222"
	// natsDialTimeout bounds the check that a NATS server listens: a local one
	// answers at once, and a test must not hang on one that does not.
	natsDialTimeout = 2 * time.Second
)

// URL returns the NATS server with JetStream that the tests share:
// TEST_NATS_URL, else nats://127.0.0.1:4222. Tests give their streams and
// subjects names of their own.
//
// It skips the test under -short. When nothing answers at the URL it fails
// the test in CI (the CI environment variable set), where no test may be
// skipped, and elsewhere skips it saying how to run it: make test starts
// nats-server, or the compose service, when either is installed.
func URL(t testing.TB) string {
	t.Helper()

	return natsURL(t, testing.Short(), os.Getenv)
}

func natsURL(t testing.TB, short bool, getenv func(string) string) string {
	t.Helper()

	if short {
		t.Skip("needs NATS with JetStream: skipped by -short; make test runs it")
	}

	u := getenv(envNATSURL)
	if u == "" {
		u = defaultNATSURL
	}

	if err := dialNATS(t.Context(), u); err != nil {
		if getenv("CI") != "" {
			t.Fatalf("no NATS server answers at %s (%s): %v; CI runs every test, so it must run "+
				"nats-server -js there (make nats-up starts one)", u, envNATSURL, err)
		}

		t.Skipf("no NATS server answers at %s (%s): %v; skipped: make test starts one when nats-server "+
			"or Docker is installed (apt install nats-server, brew install nats-server), "+
			"or run nats-server -js yourself and set %s", u, envNATSURL, err, envNATSURL)
	}

	return u
}

// dialNATS connects to the first server of the NATS URL list rawURL, as
// nats.go reads it, and hangs up.
func dialNATS(ctx context.Context, rawURL string) error {
	first, _, _ := strings.Cut(rawURL, ",")
	first = strings.TrimSpace(first)

	if !strings.Contains(first, "://") {
		first = "nats://" + first
	}

	u, err := url.Parse(first)
	if err != nil {
		return fmt.Errorf("parse the URL: %w", err)
	}

	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "4222")
	}

	ctx, cancel := context.WithTimeout(ctx, natsDialTimeout)
	defer cancel()

	var d net.Dialer

	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	if err := conn.Close(); err != nil {
		return fmt.Errorf("hang up: %w", err)
	}

	return nil
}
