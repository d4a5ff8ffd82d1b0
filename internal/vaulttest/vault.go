// Package vaulttest gives tests a HashiCorp Vault server: a real one when
// TEST_VAULT_ADDR names it (make vault-up builds and starts a dev server),
// else an in-process fake of the KV version 2 HTTP API.
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
	// DefaultToken is the root token of the dev server scripts/ci/vault.sh
	// starts: a dev server keeps everything in memory and is unsealed
	// with it, for tests only.
	DefaultToken = "modulith-test-root"
	// healthTimeout bounds the check that a server answers: a local one
	// answers at once, and a test must not hang on one that does not.
	healthTimeout = 2 * time.Second
)

// Server returns the address and root token of a Vault server whose
// "secret" mount is a KV version 2 engine, as on a dev server; tests keep
// apart by writing under Path.
//
// With TEST_VAULT_ADDR set it is that server (TEST_VAULT_TOKEN its token,
// DefaultToken by default), which must be unsealed and answer: the test
// fails otherwise. Without it, Server starts a fake for the test (fake.go)
// that answers the official client as Vault 1.21 does for what the
// platform uses: CI runs the tests against it, since building Vault from
// source takes longer than CI may (docs/SECRETS.md, "Tests").
func Server(t testing.TB) (addr, token string) {
	t.Helper()

	return server(t, os.Getenv)
}

// Path returns a secret path of one test, unique across tests and runs.
func Path(t testing.TB) string {
	t.Helper()

	return "test/" + strings.ToLower(rand.Text()[:10])
}

func server(t testing.TB, getenv func(string) string) (addr, token string) {
	t.Helper()

	addr, token = getenv(envAddr), getenv(envToken)
	if addr == "" {
		return startFake(t)
	}

	if token == "" {
		token = DefaultToken
	}

	if err := health(t.Context(), addr); err != nil {
		t.Fatalf("no Vault server answers at %s (%s): %v; make vault-up builds and starts a dev server "+
			"there, or unset %s to test against the fake", addr, envAddr, err, envAddr)
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
