// Package redistest gives tests the Redis (or Valkey) server they share.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/servicetest"
)

const (
	envRedisURL     = "TEST_REDIS_URL"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
)

// URL returns the Redis server the tests share: TEST_REDIS_URL, else
// redis://127.0.0.1:6379/0. Tests keep apart by naming their keys and
// channels with Prefix, never by flushing the database.
//
// It skips the test under -short. When no server answers PING at the URL it
// fails the test in CI (the CI environment variable set), where no test may
// be skipped, and elsewhere skips it saying how to run it.
func URL(t testing.TB) string {
	t.Helper()

	return service.URL(t, testing.Short(), os.Getenv)
}

// service is the Redis server, found and checked by servicetest.
var service = servicetest.Service{
	Name: "Redis", EnvVar: envRedisURL, Default: defaultRedisURL,
	InCI: "run redis-server there (make redis-up starts one)",
	Locally: "make test starts one when redis-server is installed (apt install redis-server, " +
		"brew install redis), or run one yourself",
	Check: ping,
}

// Prefix returns a prefix for the keys and channels of one test, unique
// across tests and runs ("test:<random>:").
func Prefix(t testing.TB) string {
	t.Helper()

	return "test:" + strings.ToLower(rand.Text()[:10]) + ":"
}

// ping sends PING to the server of rawURL (redis:// or rediss:// is not
// checked beyond its host) and expects +PONG, or an error reply asking for
// authentication, which still proves a Redis server listens.
func ping(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse the URL: %w", err)
	}

	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "6379")
	}

	var d net.Dialer

	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}

	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("send PING: %w", err)
	}

	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the reply to PING: %w", err)
	}

	if line = strings.TrimSpace(line); line != "+PONG" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q, not +PONG", line)
	}

	return nil
}
