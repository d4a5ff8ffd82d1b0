package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// The request benchmarks generate their load in a process of their own,
// as wrk or ghz would, so that the load generator's CPU is not charged to
// the server it measures (in one process it took some 15 % of the CPU
// from every subject): this package's test binary started with
// BENCH_LOAD set (see TestMain) makes BENCH_LOAD_N calls from
// `concurrency` workers, after a warm-up, and prints one line:
//
//	loadbench <calls> <nanoseconds> <p50 ns> <p99 ns>
//
// or "loadbench error <message>" when a call fails.
const (
	envLoad       = "BENCH_LOAD"        // what to call: one of the loadCalls
	envLoadTarget = "BENCH_LOAD_TARGET" // the server's base URL, or gRPC address
	envLoadToken  = "BENCH_LOAD_TOKEN"  // an access token
	envLoadN      = "BENCH_LOAD_N"      // how many calls to time
	loadPrefix    = "loadbench "
	loadWarmUp    = 2 * concurrency // untimed calls that open the connections first
)

// loadCalls are the calls a load process can make, by BENCH_LOAD.
var loadCalls = map[string]func(target, token string) (func(context.Context) error, func(), error){
	"rest": func(target, token string) (func(context.Context) error, func(), error) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}

		return restCall(client, target, token), client.CloseIdleConnections, nil
	},
	"graphql": func(target, token string) (func(context.Context) error, func(), error) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}

		return graphQLCall(client, target, token), client.CloseIdleConnections, nil
	},
	"grpc": grpcCall,
	"wrong-code": func(target, _ string) (func(context.Context) error, func(), error) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}

		return wrongCodeCall(client, target), client.CloseIdleConnections, nil
	},
}

// runLoadClient is the load process: it returns its exit code.
func runLoadClient(getenv func(string) string, stdout io.Writer) int {
	call, closeFn, n, err := loadClient(getenv)
	if err == nil {
		defer closeFn()

		var r result

		r, err = load(loadWarmUp, call)
		if err == nil {
			r, err = load(n, call)
		}

		if err == nil {
			_, err = fmt.Fprintf(stdout, "%s%d %d %d %d\n", loadPrefix, r.requests, r.elapsed, r.p50, r.p99)
		}
	}

	if err != nil {
		_, _ = fmt.Fprintf(stdout, "%serror %s\n", loadPrefix, strings.ReplaceAll(err.Error(), "\n", " "))

		return 1
	}

	return 0
}

func loadClient(getenv func(string) string) (func(context.Context) error, func(), int, error) {
	n, err := strconv.Atoi(getenv(envLoadN))
	if err != nil || n < 1 {
		return nil, nil, 0, fmt.Errorf("%s=%q: want a positive number of calls", envLoadN, getenv(envLoadN))
	}

	mk, ok := loadCalls[getenv(envLoad)]
	if !ok {
		return nil, nil, 0, fmt.Errorf("%s=%q: no such call", envLoad, getenv(envLoad))
	}

	call, closeFn, err := mk(getenv(envLoadTarget), getenv(envLoadToken))

	return call, closeFn, n, err
}

// measureFrom times b.N calls of kind to target, made by a load process
// of their own.
func measureFrom(b *testing.B, kind, target, token string) result {
	b.Helper()

	testBinary, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}

	stderr := &logtest.Buffer{}

	b.ResetTimer()

	out, err := runLoadProcess(testBinary, stderr, envLoad+"="+kind, envLoadTarget+"="+target, envLoadToken+"="+token,
		envLoadN+"="+strconv.Itoa(b.N))

	b.StopTimer()

	r, perr := parseLoad(out)

	switch {
	case perr != nil:
		b.Fatalf("load process: %v (%v); stderr: %s", perr, err, tail(stderr.String()))
	case err != nil:
		b.Fatalf("load process: %v; stderr: %s", err, tail(stderr.String()))
	}

	return r
}

// runLoadProcess runs testBinary, this package's test binary, as a load
// process with env added to this process's environment, and returns its
// output.
func runLoadProcess(testBinary string, stderr io.Writer, env ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// TestMain runs the load, and never a test: -test.run only makes sure.
	cmd := exec.CommandContext(ctx, testBinary, "-test.run=^$")

	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = stderr

	return cmd.Output()
}

// parseLoad reads the load process's report from its output.
func parseLoad(out []byte) (result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), loadPrefix)
		if !ok {
			continue
		}

		if msg, failed := strings.CutPrefix(line, "error "); failed {
			return result{}, fmt.Errorf("a call failed: %s", msg)
		}

		nums := parseInts(strings.Fields(line))
		if len(nums) != 4 {
			return result{}, fmt.Errorf("unreadable report %q", line)
		}

		return result{
			requests: int(nums[0]), elapsed: time.Duration(nums[1]),
			p50: time.Duration(nums[2]), p99: time.Duration(nums[3]),
		}, nil
	}

	return result{}, fmt.Errorf("no report in %q", tail(string(out)))
}

func restCall(client *http.Client, base, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/auth/profile", nil)
		if err != nil {
			return err
		}

		req.Header.Set("Authorization", "Bearer "+token)

		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()

		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}

		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/v1/auth/profile: %d", base, resp.StatusCode)
		}

		return nil
	}
}

// profileQuery asks for the fields GET /v1/auth/profile returns.
const profileQuery = `{"query":"{ me { id email phone displayName role createTime updateTime } }"}`

func graphQLCall(client *http.Client, base, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", strings.NewReader(profileQuery))
		if err != nil {
			return err
		}

		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")

		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()

		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}

		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"me":{`)) {
			return fmt.Errorf("POST %s/graphql: %d %s", base, resp.StatusCode, body)
		}

		return nil
	}
}

func grpcCall(addr, token string) (func(context.Context) error, func(), error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}

	client := authv1.NewAuthServiceClient(conn)
	md := metadata.Pairs("authorization", "Bearer "+token)

	return func(ctx context.Context) error {
		_, err := client.GetProfile(metadata.NewOutgoingContext(ctx, md), &authv1.GetProfileRequest{})

		return err
	}, func() { _ = conn.Close() }, nil
}
