// Package vaulttest gives tests the HashiCorp Vault dev server they share
// (scripts/ci/vault.sh builds and starts it; make vault-up runs it).
package vaulttest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const (
	envAddr  = "TEST_VAULT_ADDR"
	envToken = "TEST_VAULT_TOKEN"
	// DefaultAddr is where scripts/ci/vault.sh starts the dev server.
	DefaultAddr = "http://127.0.0.1:8200"
	// DefaultToken is the root token of that server: a dev server keeps
	// everything in memory and is unsealed with it, for tests only.
	DefaultToken = "modulith-test-root"
	// healthTimeout bounds the check that a server answers: a local one
	// answers at once, and a test must not hang on one that does not.
	healthTimeout = 2 * time.Second
)

// Server returns the address and root token of the Vault server the tests
// share: TEST_VAULT_ADDR and TEST_VAULT_TOKEN, else DefaultAddr and
// DefaultToken. Its "secret" mount is a KV version 2 engine, as on a dev
// server; tests keep apart by writing under Path.
//
// It skips the test under -short. When no unsealed Vault answers at the
// address it fails the test in CI (the CI environment variable set), where
// no test may be skipped, and elsewhere skips it saying how to run it.
func Server(t testing.TB) (addr, token string) {
	t.Helper()

	return server(t, testing.Short(), os.Getenv)
}

// Path returns a secret path of one test, unique across tests and runs.
func Path(t testing.TB) string {
	t.Helper()

	return "test/" + strings.ToLower(rand.Text()[:10])
}

func server(t testing.TB, short bool, getenv func(string) string) (addr, token string) {
	t.Helper()

	if short {
		t.Skip("needs Vault: skipped by -short; make test runs it")
	}

	addr, token = getenv(envAddr), getenv(envToken)
	if addr == "" {
		addr = DefaultAddr
	}

	if token == "" {
		token = DefaultToken
	}

	if err := health(t.Context(), addr); err != nil {
		if getenv("CI") != "" {
			t.Fatalf("no Vault server answers at %s (%s): %v; CI runs every test, so it must run one "+
				"(scripts/ci/vault.sh builds and starts it)", addr, envAddr, err)
		}

		t.Skipf("no Vault server answers at %s (%s): %v; skipped: make vault-up (or make test) builds and "+
			"starts a dev server, or run `vault server -dev -dev-root-token-id=%s` and set %s and %s",
			addr, envAddr, err, DefaultToken, envAddr, envToken)
	}

	return addr, token
}

// health asks Vault's health endpoint, which answers 200 only when the
// server is initialized, unsealed and active.
func health(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(addr, "/")+"/v1/sys/health", nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s (sealed, standby or not initialized)", resp.Status)
	}

	return nil
}
