// Package pgtest gives tests real PostgreSQL databases:
//
//   - NewDatabase gives a test a fresh, fully migrated PostgreSQL database of its own,
//     cloned from a template that is migrated once per server and set of migrations, so
//     a test pays for a CREATE DATABASE, not for its migrations. The server is
//     TEST_DATABASE_URL, which `make test` sets after `make db-up` has found or started
//     one; without it the test fails saying so.
//   - NewTCPProxy stands between a client and a server and can cut them apart, to test
//     what happens when the database goes away and comes back.
package pgtest

import (
	"errors"
	"os"
	"testing"
)

const envURL = "TEST_DATABASE_URL"

var errNoDatabase = errors.New("no test database: set " + envURL +
	" to a PostgreSQL server's maintenance database (make test does this after make db-up)")

// ServerURL returns the postgres:// URL of the test server's maintenance database, for
// tests that need raw access to the server. It fails the test when there is no server,
// and skips it under -short (`make test-unit`); `make test` and CI run everything.
func ServerURL(t testing.TB) string {
	t.Helper()

	if testing.Short() {
		t.Skip("needs PostgreSQL: skipped by -short; make test runs it")
	}

	url, err := serverURL(os.Getenv(envURL))
	if err != nil {
		t.Fatal(err)
	}

	return url
}

func serverURL(fromEnv string) (string, error) {
	if fromEnv == "" {
		return "", errNoDatabase
	}

	return fromEnv, nil
}
