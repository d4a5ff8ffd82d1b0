package examples

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/telemetry/logtest"
)

const (
	shutdownDelay   = 2 * time.Second
	shutdownTimeout = 10 * time.Second
	// readyzWithin is how soon after SIGTERM /readyz must answer 503.
	readyzWithin = 200 * time.Millisecond
	loadWorkers  = 8
	profilePath  = "/v1/auth/profile"
)

// TestGracefulShutdownUnderLoad sends SIGTERM to the real binary while
// clients keep calling it, and checks the promise of the README: readiness
// turns 503 at once, requests are still served for SHUTDOWN_DELAY, then the
// listeners close, in-flight requests finish, and the process exits 0,
// without losing a request it accepted.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()

	proc := startBinary(t)
	tok := proc.login(t, "load@example.com")

	load := startLoad(proc.server, tok.Access)
	probe := startReadinessProbe(proc.HTTP)
	slow := []*slowRequest{startSlowRequest(proc.HTTP, tok.Access, "before", 0)}

	time.Sleep(500 * time.Millisecond) // load running, first slow request in flight

	sigterm := time.Now()

	if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Two more slow requests start during the delay and are still sending
	// their bodies when the listeners close.
	for _, name := range []string{"during-1", "during-2"} {
		slow = append(slow, startSlowRequest(proc.HTTP, tok.Access, name, shutdownDelay-800*time.Millisecond))
	}

	exited, exitErr := proc.wait(shutdownDelay + shutdownTimeout + 5*time.Second)
	exitedAfter := exited.Sub(sigterm)
	results := load.stop()
	readiness := probe.stop()

	if exitErr != nil || exitedAfter > shutdownDelay+shutdownTimeout {
		t.Errorf("process exited %v after SIGTERM with %v, want exit status 0 within %v\nstderr: %s",
			exitedAfter, exitErr, shutdownDelay+shutdownTimeout, proc.stderr.String())
	}

	t.Logf("process exited %v after SIGTERM", exitedAfter.Round(time.Millisecond))
	checkReadinessTurned(t, readiness, sigterm)
	checkServedDuringDelay(t, results, readiness, sigterm)
	checkNothingLost(t, proc.logs, results, slow)
	checkShutdownLogged(t, proc.logs)
}

// binary is the server binary running as a child process.
type binary struct {
	*server

	cmd    *exec.Cmd
	stderr logtest.Buffer
	exited chan error
}

// startBinary builds cmd/server and runs it on a fresh database and free
// ports, with a 2 s shutdown delay and a 10 s shutdown timeout.
func startBinary(t *testing.T) *binary {
	t.Helper()

	db := pgtest.NewDatabase(t, migrationSources()...)
	ports := freePorts(t, 2)
	env := harnessEnv(db.DSN)
	env["HTTP_PORT"], env["GRPC_PORT"], env["LOG_LEVEL"] = ports[0], ports[1], "info"
	env["SHUTDOWN_DELAY"], env["SHUTDOWN_TIMEOUT"] = shutdownDelay.String(), shutdownTimeout.String()
	// The load comes from one user, far above the default rate limit: the
	// test is about shutdown, not about 429s.
	env["RATE_LIMITS"] = "default=off"

	// The binary runs in its own directory, which has no configs/server.yaml
	// or .env: the environment is all its configuration. The context kills
	// it only if the test ends before it exits.
	b := &binary{cmd: exec.CommandContext(t.Context(), "./server"), exited: make(chan error, 1)}
	b.cmd.Dir = buildServer(t)
	b.server = &server{HTTP: "http://127.0.0.1:" + ports[0], DB: db, logs: newLogs()}

	for k, v := range env {
		b.cmd.Env = append(b.cmd.Env, k+"="+v)
	}

	out, in := io.Pipe()
	b.cmd.Stdout, b.cmd.Stderr = in, &b.stderr

	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}

	logsRead := make(chan struct{})

	go func() {
		defer close(logsRead)

		b.logs.consume(out)
	}()
	go func() {
		err := b.cmd.Wait()
		_ = in.Close()

		<-logsRead

		b.exited <- err
	}()

	if _, err := b.logs.wait(stopTimeout, func(l logLine) bool { return l.Msg() == "server ready" }); err != nil {
		t.Fatalf("server did not start: %v\n%s\n%s", err, b.logs.text(), b.stderr.String())
	}

	return b
}

// wait returns when and how the process exited, once it has and its log
// is read, or an error after d.
func (b *binary) wait(d time.Duration) (time.Time, error) {
	select {
	case err := <-b.exited:
		return time.Now(), err
	case <-time.After(d):
		return time.Now(), errors.New("still running")
	}
}

// builtServer is cmd/server installed once per test process, in a
// directory TestMain removes.
var builtServer struct {
	once sync.Once
	dir  string
	out  []byte
	err  error
}

// buildServer installs cmd/server (once for all the tests that run the
// binary: the shutdown test, the worker's metrics tests) and returns its
// directory.
func buildServer(t *testing.T) string {
	t.Helper()

	builtServer.once.Do(func() {
		var gomod []byte

		if gomod, builtServer.err = exec.CommandContext(context.Background(), "go", "env", "GOMOD").Output(); builtServer.err != nil {
			return
		}

		if builtServer.dir, builtServer.err = os.MkdirTemp("", "modulith-examples-server-"); builtServer.err != nil {
			return
		}

		build := exec.CommandContext(context.Background(), "go", "install", "./cmd/server")
		build.Dir = filepath.Dir(strings.TrimSpace(string(gomod))) // the repository root

		build.Env = append(os.Environ(), "GOBIN="+builtServer.dir)
		builtServer.out, builtServer.err = build.CombinedOutput()
	})

	if builtServer.err != nil {
		t.Fatalf("go install ./cmd/server: %v\n%s", builtServer.err, builtServer.out)
	}

	return builtServer.dir
}

// TestMain removes the binary buildServer installed.
func TestMain(m *testing.M) {
	code := m.Run()

	if builtServer.dir != "" {
		_ = os.RemoveAll(builtServer.dir)
	}

	os.Exit(code)
}

// freePorts returns n ports that were free on 127.0.0.1 a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()

	var (
		lc    net.ListenConfig
		ports []string
	)

	for range n {
		ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}

		defer ln.Close()

		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}

	return ports
}

// outcome is how one request of the load ended.
type outcome struct {
	start, end time.Time
	status     int   // 0 without a response
	err        error // transport error, or error reading the body
	refused    bool  // the connection was refused: the listener had closed
	midBody    bool  // the response started but its body broke off
}

// load is concurrent clients calling GET /v1/auth/profile in a loop, each
// with its own keep-alive connection, until their connection is refused.
type load struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []outcome
}

func startLoad(s *server, token string) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}

	for range loadWorkers {
		l.wg.Go(func() { l.work(ctx, s.HTTP+profilePath, token) })
	}

	return l
}

func (l *load) work(ctx context.Context, url, token string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()

	for ctx.Err() == nil {
		o := call(ctx, client, url, token)
		if ctx.Err() != nil && o.err != nil {
			return // stopped by the test, not by the server
		}

		l.mu.Lock()
		l.results = append(l.results, o)
		l.mu.Unlock()

		if o.err != nil {
			return
		}
	}
}

// call sends one GET and reads the whole response.
func call(ctx context.Context, client *http.Client, url, token string) outcome {
	o := outcome{start: time.Now()}
	defer func() { o.end = time.Now() }()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return outcome{err: err}
	}

	req.Header.Set("Authorization", "Bearer "+token)

	resp, err := client.Do(req)
	if err != nil {
		o.err, o.refused = err, errors.Is(err, syscall.ECONNREFUSED)
		o.end = time.Now()

		return o
	}
	defer resp.Body.Close()

	o.status = resp.StatusCode
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		o.err, o.midBody = err, true
	}

	o.end = time.Now()

	return o
}

// stop stops the workers and returns every outcome.
func (l *load) stop() []outcome {
	l.cancel()
	l.wg.Wait()

	l.mu.Lock()
	defer l.mu.Unlock()

	return l.results
}

// poll is one answer of /readyz.
type poll struct {
	at     time.Time // when the answer arrived
	status int       // 0 when the request failed
}

// readinessProbe asks /readyz every 5 ms, as a load balancer would.
type readinessProbe struct {
	cancel context.CancelFunc
	done   chan []poll
}

func startReadinessProbe(base string) *readinessProbe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &readinessProbe{cancel: cancel, done: make(chan []poll, 1)}

	go func() {
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()

		var polls []poll

		for ctx.Err() == nil {
			status := readyStatus(ctx, client, base+"/readyz")
			polls = append(polls, poll{at: time.Now(), status: status})

			time.Sleep(5 * time.Millisecond)
		}

		p.done <- polls
	}()

	return p
}

func readyStatus(ctx context.Context, client *http.Client, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}

	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()

	_, _ = io.Copy(io.Discard, resp.Body)

	return resp.StatusCode
}

func (p *readinessProbe) stop() []poll {
	p.cancel()

	return <-p.done
}

// slowRequest is a PATCH /v1/auth/profile whose body trickles in over
// about 1.4 s, so that it is in flight while the server shuts down.
type slowRequest struct {
	name string
	done chan outcome
}

func startSlowRequest(base, token, name string, after time.Duration) *slowRequest {
	r := &slowRequest{name: name, done: make(chan outcome, 1)}

	go func() {
		time.Sleep(after)

		body := &trickle{data: []byte(`{"display_name":"slow ` + name + `"}`)}

		req, err := http.NewRequestWithContext(context.Background(), http.MethodPatch, base+profilePath, body)
		if err != nil {
			r.done <- outcome{err: err}

			return
		}

		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")

		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()

		o := outcome{start: time.Now()}

		resp, err := client.Do(req)
		if err != nil {
			o.err = err
		} else {
			o.status = resp.StatusCode
			_, o.err = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}

		o.end = time.Now()
		r.done <- o
	}()

	return r
}

// trickle is a body that sends 4 bytes every 200 ms.
type trickle struct {
	data []byte
}

func (b *trickle) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}

	time.Sleep(200 * time.Millisecond)

	n := copy(p, b.data[:min(len(b.data), 4)])
	b.data = b.data[n:]

	return n, nil
}

// checkReadinessTurned checks that /readyz answered 200 before SIGTERM
// and 503 within readyzWithin after it, and never 200 again.
func checkReadinessTurned(t *testing.T, polls []poll, sigterm time.Time) {
	t.Helper()

	first503 := -1

	for i, p := range polls {
		if p.status == http.StatusServiceUnavailable {
			first503 = i

			break
		}
	}

	if first503 < 1 || polls[first503-1].status != http.StatusOK {
		t.Fatalf("/readyz answers %v: want 200 before SIGTERM, then 503", statuses(polls))
	}

	after := polls[first503].at.Sub(sigterm)
	if after > readyzWithin {
		t.Errorf("/readyz first answered 503 %v after SIGTERM, want within %v", after, readyzWithin)
	}

	t.Logf("/readyz answered 503 %v after SIGTERM", after.Round(time.Millisecond))

	for _, p := range polls[first503:] {
		if p.status == http.StatusOK {
			t.Errorf("/readyz answered 200 again %v after SIGTERM", p.at.Sub(sigterm))

			break
		}
	}
}

func statuses(polls []poll) []int {
	out := make([]int, len(polls))
	for i, p := range polls {
		out[i] = p.status
	}

	return out
}

// checkServedDuringDelay checks that requests sent after /readyz turned 503
// and before the delay ended were served.
func checkServedDuringDelay(t *testing.T, results []outcome, readiness []poll, sigterm time.Time) {
	t.Helper()

	var turned time.Time

	for _, p := range readiness {
		if p.status == http.StatusServiceUnavailable {
			turned = p.at

			break
		}
	}

	served := 0

	for _, o := range results {
		if o.start.After(turned) && o.end.Before(sigterm.Add(shutdownDelay)) && o.status == http.StatusOK {
			served++
		}
	}

	if served == 0 {
		t.Errorf("no GET %s sent after /readyz turned 503 was answered 200 during the %v delay", profilePath, shutdownDelay)
	}
}

// checkNothingLost checks that every response was a 200 that arrived
// whole, that only refused connections failed, and that the access log has
// exactly one 200 line per 200 the clients received.
func checkNothingLost(t *testing.T, l *logs, results []outcome, slow []*slowRequest) {
	t.Helper()

	var ok, refused, failed int

	for _, o := range results {
		switch {
		case o.err == nil && o.status == http.StatusOK:
			ok++
		case o.refused:
			refused++
		default:
			failed++

			t.Errorf("GET %s at %v: status %d, error %v (mid-body %v), want 200 or a refused connection",
				profilePath, o.start.Format("15:04:05.000"), o.status, o.err, o.midBody)
		}
	}

	slowOK := checkSlowServed(t, slow)
	logged, slowLogged := status200(l.accessLines(http.MethodGet, profilePath)), status200(l.accessLines(http.MethodPatch, profilePath))
	t.Logf("load: %d GET %s answered 200, %d refused after the listener closed, %d failed; access log: %d GET 200 lines; slow PATCH: %d of %d answered 200, %d logged",
		ok, profilePath, refused, failed, logged, slowOK, len(slow), slowLogged)

	if ok == 0 || logged != ok || slowLogged != slowOK {
		t.Errorf("clients got %d GET and %d PATCH 200s, access log has %d and %d: want equal counts (no accepted request lost)",
			ok, slowOK, logged, slowLogged)
	}
}

// checkSlowServed checks that every slow request got 200, and returns how
// many did.
func checkSlowServed(t *testing.T, slow []*slowRequest) int {
	t.Helper()

	served := 0

	for _, r := range slow {
		if o := <-r.done; o.err != nil || o.status != http.StatusOK {
			t.Errorf("slow PATCH %s (%s) = %d, %v; want 200: in-flight requests must drain", profilePath, r.name, o.status, o.err)
		} else {
			served++
		}
	}

	return served
}

func status200(lines []logLine) int {
	n := 0

	for _, l := range lines {
		if l.Number("status") == http.StatusOK {
			n++
		}
	}

	return n
}

// checkShutdownLogged checks that the log says "shutting down", then
// "stopped".
func checkShutdownLogged(t *testing.T, l *logs) {
	t.Helper()

	shutting, stopped := -1, -1

	for i, line := range l.snapshot() {
		switch {
		case strings.HasPrefix(line.Msg(), "shutting down") && shutting < 0:
			shutting = i
		case line.Msg() == "stopped":
			stopped = i
		}
	}

	if shutting < 0 || stopped < shutting {
		t.Errorf("log lines \"shutting down\" at %d and \"stopped\" at %d: want both, in that order", shutting, stopped)
	}
}
