package examples

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/modules"
)

const (
	// stopTimeout bounds how long a server may take to start or stop.
	stopTimeout = 30 * time.Second
	// logWait bounds the wait for the log line of a request just answered.
	logWait = 5 * time.Second
)

// opsServer is a server run with exactly the environment its test gives,
// which the test may stop before it ends (to flush traces, for example).
type opsServer struct {
	*server

	// Stop cancels the server's context (as SIGTERM does) and returns what
	// commands.Run returned; later calls return the same.
	Stop func() error
}

// harnessEnv is the environment startServer gives a server of dsn: dev,
// JSON logs at debug level, free ports on loopback, no shutdown delay.
func harnessEnv(dsn string) map[string]string {
	return map[string]string{
		"ENV": "dev", "DB_DSN": dsn, "JWT_SECRET": testSecret,
		"BIND_HOST": "127.0.0.1", "HTTP_PORT": "0", "GRPC_PORT": "0", "ADMIN_BIND_HOST": "127.0.0.1", "ADMIN_PORT": "0",
		"LOG_FORMAT": "json", "LOG_LEVEL": "debug", "SHUTDOWN_DELAY": "0s",
		// Many servers run at once in this package, several per test: small
		// pools keep the suite within PostgreSQL's default 100 connections.
		"DB_MAX_CONNS": "6", "DB_MIN_CONNS": "0",
	}
}

// envWith returns a copy of env with more variables set.
func envWith(env map[string]string, more ...string) map[string]string {
	out := make(map[string]string, len(env)+len(more)/2)
	for k, v := range env {
		out[k] = v
	}

	for i := 0; i+1 < len(more); i += 2 {
		out[more[i]] = more[i+1]
	}

	return out
}

// runServer runs `server serve` through commands.Run with vars as its whole
// environment (nothing added: no database is created), until Stop or the
// end of the test. vars must ask for JSON logs.
func runServer(t *testing.T, vars map[string]string) *opsServer {
	t.Helper()

	return runProgram(t, commands.Server(modules.All(), modules.GraphQL), vars, newLogs())
}

// runProgram is runServer for any program (the monolith, or a module
// served alone), its log lines going to logs, which several programs may
// share.
func runProgram(t *testing.T, prog commands.Program, vars map[string]string, logs *logs) *opsServer {
	t.Helper()

	s := &server{logs: logs}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out, in := io.Pipe()

	go func() {
		err := commands.Run(ctx, prog, nil, func(k string) string { return vars[k] }, in)
		_ = in.Close()

		done <- err
	}()
	go s.logs.consume(out)

	stop := sync.OnceValue(func() error {
		cancel()

		select {
		case err := <-done:
			return err
		case <-time.After(stopTimeout):
			t.Errorf("server did not stop within %v", stopTimeout)

			return nil
		}
	})

	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	})

	// Programs sharing logs tell their lines apart by SERVICE_NAME.
	service := vars["SERVICE_NAME"]

	ready, err := s.logs.wait(stopTimeout, func(l logLine) bool {
		return (l.Msg() == "server ready" || l.Msg() == "worker ready") && (service == "" || l.String("service") == service)
	})
	if err != nil {
		t.Fatalf("server did not start: %v (%v)\n%s", err, stop(), s.logs.text())
	}

	s.HTTP, s.GRPC, s.Admin = "http://"+ready.String("http"), ready.String("grpc"), "http://"+ready.String("admin")

	return &opsServer{server: s, Stop: stop}
}

// runCommand runs a command of the server binary (args after the program
// name) with vars as its environment and returns what it printed.
func runCommand(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()

	var out bytes.Buffer

	err := commands.Run(t.Context(), commands.Server(modules.All(), modules.GraphQL), args, func(k string) string { return vars[k] }, &out)

	return out.String(), err
}

// snapshot returns every line logged so far.
func (l *logs) snapshot() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()

	return append([]logLine(nil), l.lines...)
}

// accessLines returns the "http request" lines of method and path.
func (l *logs) accessLines(method, path string) []logLine {
	var lines []logLine

	for _, line := range l.snapshot() {
		if line.Msg() == "http request" && line.String("method") == method && line.String("path") == path {
			lines = append(lines, line)
		}
	}

	return lines
}

// Number returns a numeric attribute (-1 if absent).
func (l logLine) Number(key string) int {
	n, ok := l[key].(float64)
	if !ok {
		return -1
	}

	return int(n)
}

// sendReq sends req to the server, read in full.
func (s *server) sendReq(t *testing.T, req *http.Request) response {
	t.Helper()

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// newReq builds a request to the server with headers given as pairs.
func (s *server) newReq(t *testing.T, method, path string, headers ...string) *http.Request {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), method, s.HTTP+path, nil)
	if err != nil {
		t.Fatal(err)
	}

	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	return req
}

// pollReadyz asks for /readyz until it answers want, for up to outageWait,
// and returns the last answer.
func (s *server) pollReadyz(t *testing.T, want int) response {
	t.Helper()

	deadline := time.Now().Add(outageWait)

	for {
		r := s.do(t, http.MethodGet, "/readyz", nil, "")
		if r.Status == want || time.Now().After(deadline) {
			return r
		}

		time.Sleep(50 * time.Millisecond)
	}
}

// countingListener accepts and closes connections on loopback, counting
// them: a DB_DSN pointing at it shows whether a command opened the pool.
type countingListener struct {
	ln net.Listener
	mu sync.Mutex
	n  int
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	c := &countingListener{ln: ln}

	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}

			c.mu.Lock()
			c.n++
			c.mu.Unlock()

			_ = conn.Close()
		}
	}()

	t.Cleanup(func() { _ = ln.Close() })

	return c
}

// DSN is a database URL at the listener.
func (c *countingListener) DSN() string {
	return "postgres://nobody@" + c.ln.Addr().String() + "/nothing?sslmode=disable"
}

// Connections returns how many connections were accepted.
func (c *countingListener) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.n
}

// msgPrefix reports whether a logged message starts with prefix.
func msgPrefix(prefix string) func(logLine) bool {
	return func(l logLine) bool { return strings.HasPrefix(l.Msg(), prefix) }
}

// freshDSN returns the URL of a new database with every module migrated.
func freshDSN(t *testing.T) string {
	t.Helper()

	return pgtest.NewDatabase(t, migrationSources()...).DSN
}
