package examples

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/modules"
)

const (
	// nodeMajor is the oldest Node.js the clients support (graphql-ws).
	nodeMajor = 20
	// graphqlClientDir holds the npm clients' test (package.json, the
	// lockfile that pins them, e2e.mjs), relative to this package.
	graphqlClientDir = "graphql-client"
	// npmTimeout bounds npm ci: seconds from npm's cache, about a minute
	// from the registry.
	npmTimeout = 3 * time.Minute
	// nodeTimeout bounds the script, which bounds itself to a minute.
	nodeTimeout = 90 * time.Second
	// installedStamp holds the SHA-256 of the lockfile npm ci last
	// installed, so that a run with the same lockfile skips it; npm ci
	// removes it with the rest of node_modules.
	installedStamp = "node_modules/.installed-lock-sha256"
)

// TestGraphQLNPMClients runs examples/graphql-client/e2e.mjs, which uses
// unmodified npm clients (fetch, graphql-ws with ws), against two replicas
// of the server on one database: sign-in through REST on replica A, a
// query and a mutation over HTTP, errors with their codes (AUTH_REQUIRED,
// NOT_FOUND, VALIDATION_FAILED naming the field), a subscription on A that
// receives an order placed through REST on B, the end of the subscription
// (4401) when the session ends through B, and the refusal (4401) of a
// subscription without a token. The script reads the sign-in code from
// stdin, as a developer would type it from the server's log.
//
// It needs Node.js 20+ and npm: it skips without them, and fails in CI.
func TestGraphQLNPMClients(t *testing.T) {
	t.Parallel()

	needNode(t)
	npmCI(t)

	logs := newLogs()
	env := harnessEnv(freshDSN(t))
	a := runProgram(t, commands.Server(modules.All(), modules.GraphQL), envWith(env, "SERVICE_NAME", "replica-a"), logs)
	b := runProgram(t, commands.Server(modules.All(), modules.GraphQL), envWith(env, "SERVICE_NAME", "replica-b"), logs)

	const email = "ada@example.com"

	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()

	var out bytes.Buffer

	cmd := exec.CommandContext(ctx, "node", "e2e.mjs")
	cmd.Dir, cmd.Env = graphqlClientDir, slices.Concat(os.Environ(), []string{"REPLICA_A_URL=" + a.HTTP, "REPLICA_B_URL=" + b.HTTP, "EMAIL=" + email})
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second

	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}

	typed := make(chan struct{})

	go func() {
		defer close(typed)

		_ = typeSentCode(ctx, logs, email, stdin) // fails only when the script is gone
	}()

	err = cmd.Wait()

	cancel() // stop waiting for a code the script no longer needs
	<-typed

	if err != nil {
		t.Fatalf("REPLICA_A_URL=%s REPLICA_B_URL=%s EMAIL=%s node e2e.mjs: %v\n%s\nserver logs:\n%s", a.HTTP, b.HTTP, email, err, out.String(), logs.text())
	}

	t.Logf("node e2e.mjs:\n%s", out.String())
}

// typeSentCode waits for the first code sent to destination in logs and
// writes it, as a line, to w.
func typeSentCode(ctx context.Context, l *logs, destination string, w io.Writer) error {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()

	for {
		if codes := l.sentCodes(destination); len(codes) > 0 {
			_, err := io.WriteString(w, codes[0]+"\n")

			return err
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		}
	}
}

// needNode checks that node (20 or later) and npm are on the PATH.
// Without them it fails the test in CI (the CI environment variable set),
// where no test may be skipped, and elsewhere skips it saying what to
// install.
func needNode(t *testing.T) {
	t.Helper()

	err := nodeVersion(t.Context())
	if err == nil {
		return
	}

	const need = "needs Node.js 20+ and npm (Debian, Ubuntu: apt-get install -y nodejs npm; .ci/run installs them)"
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v", need, err)
	}

	t.Skip(need + ": " + err.Error())
}

// nodeVersion reports whether node is at least nodeMajor and npm is there.
func nodeVersion(ctx context.Context) error {
	if _, err := exec.LookPath("npm"); err != nil {
		return err
	}

	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version: %w", err)
	}

	version := strings.TrimSpace(string(out)) // v20.19.2
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")

	if n, err := strconv.Atoi(major); err != nil || n < nodeMajor {
		return fmt.Errorf("node %s, want %d or later", version, nodeMajor)
	}

	return nil
}

// npmCI installs the packages of graphqlClientDir's lockfile (npm ci,
// from npm's cache when it has them), unless the last install was of the
// same lockfile.
func npmCI(t *testing.T) {
	t.Helper()

	dir, err := os.OpenRoot(graphqlClientDir)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()

	lock, err := dir.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}

	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])

	if got, err := dir.ReadFile(installedStamp); err == nil && string(got) == want {
		return
	}

	ctx, cancel := context.WithTimeout(t.Context(), npmTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund")
	cmd.Dir = graphqlClientDir

	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in examples/%s: %v\n%s", graphqlClientDir, err, out)
	}

	if err := dir.WriteFile(installedStamp, []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
}
