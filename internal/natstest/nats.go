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

	"github.com/modulith/modulith/internal/servicetest"
)

const (
	envNATSURL     = "TEST_NATS_URL"
	defaultNATSURL = "nats://127.0.0.1:4222"
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

	return service.URL(t, testing.Short(), os.Getenv)
}

// service is the NATS server, found and checked by servicetest.
var service = servicetest.Service{
	Name: "NATS", EnvVar: envNATSURL, Default: defaultNATSURL,
	InCI: "run nats-server -js there (make nats-up starts one)",
	Locally: "make test starts one when nats-server or Docker is installed (apt install nats-server, " +
		"brew install nats-server), or run nats-server -js yourself",
	Check: dialNATS,
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
