// Package pgtest gives tests real PostgreSQL databases:
//
//   - NewDatabase gives a test a fresh, fully migrated PostgreSQL database of its own,
//     cloned from a template that is migrated once per server and set of migrations, so
//     a test pays for a CREATE DATABASE, not for its migrations. The server is
//     TEST_DATABASE_URL when set, else a PostgreSQL container started once per test
//     process when a Docker engine answers; otherwise the test fails saying so.
//   - NewTCPProxy stands between a client and a server and can cut them apart, to test
//     what happens when the database goes away and comes back.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go/modules/postgres"
)

const (
	envURL = "TEST_DATABASE_URL"
	// containerImage is the major version the tests are verified on; the STRATEGY clause
	// of CREATE DATABASE needs 15 or later.
	containerImage   = "postgres:15-alpine"
	dockerTimeout    = 5 * time.Second
	containerTimeout = 2 * time.Minute
)

var errNoDatabase = errors.New("no test database: set " + envURL +
	" (make test does this) or start a Docker engine")

// containerURL starts at most one container per test process.
var containerURL = sync.OnceValues(func() (string, error) { return startContainer(dockerAnswers) })

// ServerURL returns the postgres:// URL of the test server's maintenance database, for
// tests that need raw access to the server. It fails the test when there is no server,
// and skips it under -short (`make test-unit`); `make test` and CI run everything.
func ServerURL(t testing.TB) string {
	t.Helper()

	if testing.Short() {
		t.Skip("needs PostgreSQL: skipped by -short; make test runs it")
	}

	url, err := serverURL(os.Getenv(envURL), containerURL)
	if err != nil {
		t.Fatal(err)
	}

	return url
}

func serverURL(fromEnv string, container func() (string, error)) (string, error) {
	if fromEnv != "" {
		return fromEnv, nil
	}

	return container()
}

// startContainer starts PostgreSQL when a Docker engine answers. Ryuk, testcontainers'
// reaper, removes the container when the test process exits.
func startContainer(dockerAnswers func() bool) (string, error) {
	if !dockerAnswers() {
		return "", errNoDatabase
	}

	ctx, cancel := context.WithTimeout(context.Background(), containerTimeout)
	defer cancel()

	c, err := postgres.Run(ctx, containerImage,
		postgres.WithDatabase("postgres"),
		postgres.WithUsername("postgres"),
		postgres.WithPassword("postgres"),
		postgres.BasicWaitStrategies(),
	)
	if err != nil {
		return "", fmt.Errorf("start PostgreSQL container: %w", err)
	}

	url, err := c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return "", fmt.Errorf("PostgreSQL container address: %w", err)
	}

	return url, nil
}

func dockerAnswers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()

	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}
