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
	"time"
)

const (
	envRedisURL     = "TEST_REDIS_URL"
	defaultRedisURL = "redis://127.0.0.1:6379/0"
	// dialTimeout bounds the check that a server answers: a local one
	// answers at once, and a test must not hang on one that does not.
	dialTimeout = 2 * time.Second
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

	return redisURL(t, testing.Short(), os.Getenv)
}

// Prefix returns a prefix for the keys and channels of one test, unique
// across tests and runs ("test:<random>:").
func Prefix(t testing.TB) string {
	t.Helper()

	return "test:" + strings.ToLower(rand.Text()[:10]) + ":"
}

func redisURL(t testing.TB, short bool, getenv func(string) string) string {
	t.Helper()

	if short {
		t.Skip("needs Redis: skipped by -short; make test runs it")
	}

	u := getenv(envRedisURL)
	if u == "" {
		u = defaultRedisURL
	}

	if err := ping(t.Context(), u); err != nil {
		if getenv("CI") != "" {
			t.Fatalf("no Redis server answers at %s (%s): %v; CI runs every test, so it must run "+
				"redis-server there (make redis-up starts one)", u, envRedisURL, err)
		}

		t.Skipf("no Redis server answers at %s (%s): %v; skipped: make test starts one when redis-server "+
			"is installed (apt install redis-server, brew install redis), or run one yourself and set %s",
			u, envRedisURL, err, envRedisURL)
	}

	return u
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

	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()

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
