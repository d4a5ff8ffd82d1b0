// Package examples holds end-to-end tests that double as documentation:
// each starts the real server through the same command line main uses
// (commands.Run), on free ports, against a fresh PostgreSQL database, and
// talks to it over REST and gRPC like a client would.
package examples

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/cmd/server/commands"
	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules"
)

// testSecret signs the test servers' tokens: random, since prod refuses
// low-entropy secrets.
var testSecret = rand.Text() + rand.Text()

// server is a running server under test.
type server struct {
	// HTTP is the base URL of the REST API, e.g. http://127.0.0.1:41234.
	HTTP string
	// GRPC is the gRPC address, e.g. 127.0.0.1:41235.
	GRPC string
	// Admin is the base URL of the operational endpoints (/metrics,
	// /healthz/ws, pprof), e.g. http://127.0.0.1:41236.
	Admin string
	// DB is the server's database.
	DB *pgtest.Database

	logs *logs
}

// migrationSources are the migrations of every module of the monolith.
func migrationSources() []migration.Source {
	return registry.MigrationSources(modules.All())
}

// startServer runs the monolith until the test ends. env overrides the
// defaults: dev mode, JSON logs at debug level, free ports on loopback, a
// fresh database, no shutdown delay.
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()

	db := pgtest.NewDatabase(t, migrationSources()...)

	vars := harnessEnv(db.DSN)
	for k, v := range env {
		vars[k] = v
	}

	s := &server{DB: db, logs: newLogs()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out, in := io.Pipe()

	go func() {
		err := commands.Run(ctx, commands.Server(modules.All(), modules.GraphQL), nil, func(k string) string { return vars[k] }, in)
		_ = in.Close()

		done <- err
	}()
	go s.logs.consume(out)

	t.Cleanup(func() {
		cancel()

		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})

	ready, err := s.logs.wait(30*time.Second, func(l logLine) bool { return l.Msg() == "server ready" })
	if err != nil {
		select {
		case runErr := <-done:
			t.Fatalf("server did not start: %v\n%s", runErr, s.logs.text())
		default:
			t.Fatalf("server did not start: %v\n%s", err, s.logs.text())
		}
	}

	s.HTTP, s.GRPC, s.Admin = "http://"+ready.String("http"), ready.String("grpc"), "http://"+ready.String("admin")

	return s
}

// logLine is one JSON log line.
type logLine map[string]any

// Msg is the line's message.
func (l logLine) Msg() string { return l.String("msg") }

// String returns a string attribute ("" if absent).
func (l logLine) String(key string) string {
	s, _ := l[key].(string)

	return s
}

// logs collects the server's log lines.
type logs struct {
	mu    sync.Mutex
	raw   bytes.Buffer
	lines []logLine
	added chan struct{}
}

func newLogs() *logs { return &logs{added: make(chan struct{}, 1)} }

func (l *logs) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)

	for sc.Scan() {
		var line logLine

		_ = json.Unmarshal(sc.Bytes(), &line)

		l.mu.Lock()
		l.raw.Write(sc.Bytes())
		l.raw.WriteByte('\n')
		l.lines = append(l.lines, line)
		l.mu.Unlock()

		select {
		case l.added <- struct{}{}:
		default:
		}
	}
}

// wait returns the first line that matches, waiting up to d for it.
func (l *logs) wait(d time.Duration, match func(logLine) bool) (logLine, error) {
	deadline := time.After(d)

	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if match(line) {
				l.mu.Unlock()

				return line, nil
			}
		}
		l.mu.Unlock()

		select {
		case <-l.added:
		case <-deadline:
			return nil, fmt.Errorf("no matching log line within %v", d)
		}
	}
}

// text returns every line logged so far.
func (l *logs) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.raw.String()
}

// Logs returns every line the server logged so far.
func (s *server) Logs() string { return s.logs.text() }

var codePattern = regexp.MustCompile(`code is ([0-9]{6})`)

// Code returns the newest one-time code the dev notifier "sent" to
// destination (read from the log, as a developer would).
func (s *server) Code(t *testing.T, destination string) string {
	t.Helper()

	deadline := time.After(10 * time.Second)

	for {
		if code := s.logs.newestCode(destination); code != "" {
			return code
		}

		select {
		case <-s.logs.added:
		case <-deadline:
			t.Fatalf("no code sent to %s within 10s", destination)
		}
	}
}

// newestCode returns the last code logged for destination, or "".
func (l *logs) newestCode(destination string) string {
	l.mu.Lock()
	defer l.mu.Unlock()

	for i := len(l.lines) - 1; i >= 0; i-- {
		line := l.lines[i]
		if !strings.HasPrefix(line.Msg(), "dev ") || line.String("to") != destination {
			continue
		}

		if m := codePattern.FindStringSubmatch(line.String("text") + line.String("body")); m != nil {
			return m[1]
		}
	}

	return ""
}

// response is an HTTP response with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()

	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body %q is not JSON: %v", r.Body, err)
	}

	return m
}

// do sends a REST request with an optional JSON body and bearer token.
func (s *server) do(t *testing.T, method, path string, body any, token string) response {
	t.Helper()

	var rd io.Reader

	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}

		rd = bytes.NewReader(b)
	}

	req, err := http.NewRequestWithContext(context.Background(), method, s.HTTP+path, rd)
	if err != nil {
		t.Fatal(err)
	}

	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// authClient returns a gRPC client of the server's auth service.
func (s *server) authClient(t *testing.T) authv1.AuthServiceClient {
	t.Helper()

	return authv1.NewAuthServiceClient(s.grpcConn(t))
}

// grpcConn returns a connection to the server's gRPC port, closed when
// the test ends.
func (s *server) grpcConn(t *testing.T) *grpc.ClientConn {
	t.Helper()

	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	return conn
}

// tokens are the tokens of a signed-in session.
type tokens struct {
	Access, Refresh string
}

// login signs in over REST with a code from the dev notifier.
func (s *server) login(t *testing.T, email string) tokens {
	t.Helper()

	if r := s.do(t, http.MethodPost, "/v1/auth/login/request", map[string]string{"email": email}, ""); r.Status != http.StatusOK {
		t.Fatalf("request login: %d %s", r.Status, r.Body)
	}

	r := s.do(t, http.MethodPost, "/v1/auth/login/complete",
		map[string]string{"email": email, "code": s.Code(t, email)}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("complete login: %d %s", r.Status, r.Body)
	}

	tok, _ := r.JSON(t)["tokens"].(map[string]any)
	access, _ := tok["access_token"].(string)
	refresh, _ := tok["refresh_token"].(string)

	if access == "" || refresh == "" {
		t.Fatalf("complete login: no tokens in %s", r.Body)
	}

	return tokens{Access: access, Refresh: refresh}
}

// The helpers below serve the auth end-to-end tests (auth_*, attacks,
// validation).

// raw sends a REST request with a raw body and extra headers and reads the
// whole response. It reports failures rather than stopping the test, so
// goroutines may call it.
func (s *server) raw(ctx context.Context, method, path string, body io.Reader, header http.Header) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.HTTP+path, body)
	if err != nil {
		return response{}, err
	}

	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}

	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// post sends a JSON body by POST with extra request headers (User-Agent,
// spoofed X-Forwarded-For…) and no token.
func (s *server) post(t *testing.T, path string, body any, header http.Header) response {
	t.Helper()

	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}

	r, err := s.raw(context.Background(), http.MethodPost, path, bytes.NewReader(b), header)
	if err != nil {
		t.Fatal(err)
	}

	return r
}

// wantOK fails the test unless r has status 200.
func (r response) wantOK(t *testing.T) {
	t.Helper()

	if r.Status != http.StatusOK {
		t.Fatalf("status = %d %s, want 200", r.Status, r.Body)
	}
}

// wantError fails the test unless r is an error response with the given
// status and code; it returns the error's details.
func (r response) wantError(t *testing.T, httpStatus int, code errors.Code) map[string]any {
	t.Helper()

	if r.Status != httpStatus {
		t.Fatalf("status = %d %s, want %d %s", r.Status, r.Body, httpStatus, code)
	}

	body := r.JSON(t)
	if got := body["code"]; got != string(code) {
		t.Fatalf("error code = %v (body %s), want %s", got, r.Body, code)
	}

	details, _ := body["details"].(map[string]any)

	return details
}

// jsonString returns the string at a path of nested JSON objects ("" if
// absent).
func jsonString(m map[string]any, path ...string) string {
	var v any = m

	for _, key := range path {
		obj, _ := v.(map[string]any)
		v = obj[key]
	}

	s, _ := v.(string)

	return s
}

// sentCodePattern finds the code in any message the dev notifier logs,
// whether the code ends the sentence (email: "Your sign-in code is 123456.")
// or starts it (SMS: "123456 is your sign-in code."), which codePattern
// does not match.
var sentCodePattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`)

// sentCode returns the code a dev notifier line sent to destination, or "".
func sentCode(line logLine, destination string) string {
	if !strings.HasPrefix(line.Msg(), "dev ") || line.String("to") != destination {
		return ""
	}

	if m := sentCodePattern.FindStringSubmatch(line.String("text") + line.String("body")); m != nil {
		return m[1]
	}

	return ""
}

// sentCodes lists the codes sent to destination so far, oldest first.
func (l *logs) sentCodes(destination string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()

	var codes []string

	for _, line := range l.lines {
		if code := sentCode(line, destination); code != "" {
			codes = append(codes, code)
		}
	}

	return codes
}

// codeCount is how many codes were sent to destination so far.
func (l *logs) codeCount(destination string) int { return len(l.sentCodes(destination)) }

// nextCode waits until more than sent codes went to destination, by email
// or SMS, and returns the newest. Codes are delivered asynchronously, so a
// test that asks twice for the same destination must not read the log
// before the new code is in it (Code may return the previous one): count
// with codeCount before the request, then call nextCode.
func (s *server) nextCode(t *testing.T, destination string, sent int) string {
	t.Helper()

	deadline := time.After(10 * time.Second)

	for {
		if codes := s.logs.sentCodes(destination); len(codes) > sent {
			return codes[len(codes)-1]
		}

		select {
		case <-s.logs.added:
		case <-deadline:
			t.Fatalf("no new code sent to %s within 10s", destination)
		}
	}
}

// withBearer returns ctx carrying an access token for outgoing gRPC calls.
func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// wantGRPCError fails the test unless err is a gRPC status with code c
// carrying the platform error code; it returns the domain error it was
// made from (its field violations, retry delay…).
func wantGRPCError(t *testing.T, err error, c codes.Code, code errors.Code) errors.DomainError {
	t.Helper()

	if got := status.Code(err); got != c {
		t.Fatalf("gRPC error = %v, want code %v (%s)", err, c, code)
	}

	var de *errors.DomainError
	if !stderrors.As(errors.FromGRPC(err), &de) || !errors.HasCode(de, code) {
		t.Fatalf("gRPC error = %v, want error code %s", err, code)
	}

	return *de
}
