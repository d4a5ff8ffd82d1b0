package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/scripts/internal/repotree"
)

// TestNewVersionIsServedBesideTheOld does what a developer does, on a copy
// of the repository: make proto-version-create MODULE=auth VERSION=v<N+1>,
// make proto, go build; then it starts the built server on a fresh database
// and calls both the oldest and the new version over REST and gRPC, with no
// edit in between.
func TestNewVersionIsServedBesideTheOld(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server: skipped by -short; make test runs it")
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "repo")
	repotree.Copy(t, root, dir)

	next := nextVersion(t, dir, "auth")
	if err := run(t.Context(), []string{"create", "-root", dir, "-module", "auth", "-version", next}, io.Discard, io.Discard); err != nil {
		t.Fatalf("create %s: %v", next, err)
	}

	// What make proto runs, with a check that the new files need no formatting.
	goCmd(t, dir, "tool", "-modfile=tools/go.mod", "buf", "format", "--diff", "--exit-code", "--path", "proto/auth/"+next)
	goCmd(t, dir, "tool", "-modfile=tools/go.mod", "buf", "lint")
	goCmd(t, dir, "tool", "-modfile=tools/go.mod", "buf", "generate")

	goCmd(t, dir, "build", "-trimpath", "-o", "server", "./cmd/server")

	srv := startServer(t, dir, pgtest.NewDatabase(t).DSN)

	for _, ver := range []string{"v1", next} {
		checkREST(t, srv.http, ver)
		checkGRPC(t, srv.grpc, ver)
	}

	// A version nobody created is not served: the checks above can fail.
	resp := post(t, srv.http, "/v999/auth/login/request", `{"email":"nobody@example.com"}`)
	if resp.code != http.StatusNotFound {
		t.Errorf("POST /v999/auth/login/request = %d, want 404", resp.code)
	}
}

// nextVersion returns the version after the latest of module in dir.
func nextVersion(t *testing.T, dir, module string) string {
	t.Helper()

	r, err := openRepo(dir)
	if err != nil {
		t.Fatal(err)
	}

	versions, err := r.versions(module)
	if err != nil || len(versions) == 0 {
		t.Fatalf("versions of %s: %v, %v", module, versions, err)
	}

	return versionName(versions[len(versions)-1] + 1)
}

// goCmd runs the go command in dir and fails the test with its output.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()

	cmd := exec.CommandContext(t.Context(), "go")
	cmd.Args = append(cmd.Args, args...)
	cmd.Dir = dir

	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type addrs struct{ http, grpc string }

// startServer runs the server binary built in dir until the test ends,
// then interrupts it and expects a clean exit.
func startServer(t *testing.T, dir, dsn string) addrs {
	t.Helper()

	cmd := exec.CommandContext(t.Context(), "./server")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ENV=dev", "DB_DSN=" + dsn, "JWT_SECRET=protoversion-secret-0123456789abcdef0123456789",
		"BIND_HOST=127.0.0.1", "HTTP_PORT=0", "GRPC_PORT=0", "ADMIN_PORT=0", "LOG_FORMAT=json", "LOG_LEVEL=info",
		"SHUTDOWN_DELAY=0s", "DB_MAX_CONNS=4", "DB_MIN_CONNS=0",
	}
	// t.Context() ends before the cleanups run: the server gets SIGINT, and
	// SIGKILL 30s later if it has not stopped.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second

	var logs bytes.Buffer

	cmd.Stderr = &logs

	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}

	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	ready, read := make(chan addrs, 1), make(chan struct{})

	go func() {
		defer close(read)

		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct{ Msg, HTTP, GRPC string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "server ready" {
				ready <- addrs{http: "http://" + line.HTTP, grpc: line.GRPC}
			}
		}
	}()

	t.Cleanup(func() {
		<-read // the server closed its output: it has exited

		if err := cmd.Wait(); !cmd.ProcessState.Success() {
			t.Errorf("server stopped with %v\n%s", err, logs.String())
		}
	})

	select {
	case a := <-ready:
		return a
	case <-read:
		t.Fatalf("server exited before it was ready\n%s", logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server not ready within 60s\n%s", logs.String())
	}

	return addrs{}
}

type response struct {
	code int
	body string
}

func post(t *testing.T, base, path, body string) response {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return response{code: resp.StatusCode, body: string(b)}
}

// checkREST requests a login code through version ver of the REST API.
func checkREST(t *testing.T, base, ver string) {
	t.Helper()

	path := "/" + ver + "/auth/login/request"

	resp := post(t, base, path, fmt.Sprintf(`{"email":"rest-%s@example.com"}`, ver))
	if resp.code != http.StatusOK || !strings.Contains(resp.body, `"expires_in"`) {
		t.Errorf("POST %s = %d %s, want 200 with expires_in", path, resp.code, resp.body)
	}
}

// checkGRPC calls version ver of auth's gRPC service with the v1 message
// types, which the new version's are wire copies of: RequestLogin is public
// there too, GetProfile needs a token.
func checkGRPC(t *testing.T, addr, ver string) {
	t.Helper()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	service := "/auth." + ver + ".AuthService/"
	req := &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "grpc-" + ver + "@example.com"}}

	var resp authv1.RequestLoginResponse
	if err := conn.Invoke(t.Context(), service+"RequestLogin", req, &resp); err != nil || resp.GetExpiresIn() <= 0 {
		t.Errorf("%sRequestLogin = %v, %v; want expires_in > 0", service, &resp, err)
	}

	err = conn.Invoke(t.Context(), service+"GetProfile", &authv1.GetProfileRequest{}, &authv1.GetProfileResponse{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("%sGetProfile without a token = %v, want Unauthenticated", service, err)
	}
}
