package examples

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/natstest"
	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// TestReplicas runs three processes of the real server binary on one
// database, as replicas behind a load balancer without sticky sessions:
// they share nothing but the database (and NATS, with that transport). A
// user signs in through replica A and holds a WebSocket on replica C; a
// second sign-in through A and a profile change through B reach that
// socket, whichever replica handled the events. With each events
// transport.
//
// The subtests do not run in parallel: each starts three processes.
func TestReplicas(t *testing.T) {
	bins := installBinaries(t)

	for _, transport := range []string{events.TransportPostgres, events.TransportNATS} {
		t.Run(transport, func(t *testing.T) {
			env := transportEnv(t, transport, envWith(harnessEnv(freshDSN(t)), "LOG_LEVEL", "info"))
			c := startCluster(t, bins.server, env, 3)
			a, b, cc := c.replicas[0].current(), c.replicas[1].current(), c.replicas[2].current()

			laptop := signIn(t, c.through(a), map[string]string{"email": "ada@example.com"}, "ada@example.com", "laptop/1.0")
			socket := cc.openSocket(t, laptop.Access)
			cc.awaitSocketStats(t, 1, 1)

			// A sign-in on another device, through A, reaches the socket on C.
			phone := signIn(t, c.through(a), map[string]string{"email": "ada@example.com"}, "ada@example.com", "phone/2.0")
			phoneSession, _ := claimsOf(t, phone.Access)["sid"].(string)

			got := awaitEvent(t, socket, "auth.session_created", func(d map[string]any) bool { return d["session_id"] == phoneSession })
			if m := got[len(got)-1]; m.Data["user_id"] != laptop.UserID || m.Data["user_agent"] != "phone/2.0" {
				t.Errorf("auth.session_created on C = %+v, want user_id %s and user agent phone/2.0", m, laptop.UserID)
			}

			// A profile change through B reaches it too.
			b.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": "Ada Lovelace"}, phone.Access).wantOK(t)

			got = awaitEvent(t, socket, "user.profile_updated", forUser(laptop.UserID))
			if fields, _ := got[len(got)-1].Data["fields"].([]any); len(fields) != 1 || fields[0] != "display_name" {
				t.Errorf("user.profile_updated on C = %+v, want fields [display_name]", got[len(got)-1])
			}

			// Each delivery was handled by one replica: one code per sign-in.
			if n := c.logs.codeCount("ada@example.com"); n != 2 {
				t.Errorf("%d codes sent to ada@example.com by the cluster, want 2 (one per sign-in, whichever replica sent it)", n)
			}

			t.Logf("codes sent by replicas %v", c.codeSenders("ada@example.com"))
		})
	}
}

// transportEnv returns env set up for an events transport: with NATS, the
// test server's URL; the stream of the cluster on env's DB_DSN is deleted
// when the test ends, after the replicas (started later, so stopped
// first). Each test database is a cluster of its own, with its own stream
// and WebSocket subject, so that tests sharing the server keep apart.
func transportEnv(t *testing.T, transport string, env map[string]string) map[string]string {
	t.Helper()

	if transport != events.TransportNATS {
		return env
	}

	url := natstest.URL(t)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		if err := deleteStream(ctx, url, env["DB_DSN"]); err != nil {
			t.Errorf("delete the cluster's stream from NATS: %v", err)
		}
	})

	return envWith(env, "EVENTS_TRANSPORT", events.TransportNATS, "NATS_URL", url)
}

// deleteStream deletes the JetStream stream of the cluster on dsn.
func deleteStream(ctx context.Context, url, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()

	stream, err := natsbus.Stream(ctx, conn)
	if err != nil {
		return err
	}

	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}

	if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", stream, err)
	}

	return nil
}

// binaries are the server binaries the multi-process tests run, in a
// directory of their own: no configs/server.yaml, no .env, so that the
// environment is their whole configuration.
type binaries struct {
	dir string
}

// installBinaries builds cmd/server (the monolith) and
// examples/testdata/replica (the monolith and the ledger test module) into
// a directory of the test.
func installBinaries(t *testing.T) binaries {
	t.Helper()

	gomod, err := exec.CommandContext(t.Context(), "go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}

	dir := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "install", "./cmd/server", "./examples/testdata/replica")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))

	build.Env = append(os.Environ(), "GOBIN="+dir)

	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}

	return binaries{dir: dir}
}

// server is a command running cmd/server until ctx ends.
func (b binaries) server(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "./server")
	cmd.Dir = b.dir

	return cmd
}

// replica is a command running examples/testdata/replica until ctx ends.
func (b binaries) replica(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "./replica")
	cmd.Dir = b.dir

	return cmd
}

// cluster is processes of one server binary with one environment, each on
// its own free ports. It lasts until the end of the test, which asks every
// live process to stop (SIGTERM) and checks that none logged a panic.
type cluster struct {
	command func(ctx context.Context) *exec.Cmd // of the binary
	env     []string
	// logs has every line of every process: deliveries (a login code to
	// send) are handled by whichever replica claims them.
	logs     *logs
	replicas []*replica
}

// replica is one member of a cluster, one process at a time: a replica
// that is killed is restarted as a new process with the same environment.
type replica struct {
	name string
	c    *cluster

	mu    sync.Mutex
	procs []*replicaProcess // every process it ran, the current one last
}

// replicaProcess is one run of the binary.
type replicaProcess struct {
	*server // its addresses (once ready) and its own log

	cmd    *exec.Cmd
	stderr logtest.Buffer
	killed atomic.Bool   // by the test, with SIGKILL
	exited chan struct{} // closed once it exited and its output was read
	err    error         // how it exited; set before exited is closed
}

// startCluster starts n replicas, named a, b, c…, of the binary command
// runs, and waits until each is ready.
func startCluster(t *testing.T, command func(context.Context) *exec.Cmd, env map[string]string, n int) *cluster {
	t.Helper()

	c := &cluster{command: command, logs: newLogs()}
	for k, v := range env {
		c.env = append(c.env, k+"="+v)
	}

	t.Cleanup(func() { c.stop(t) })

	for i := range n {
		r := &replica{name: string(rune('a' + i)), c: c}
		c.replicas = append(c.replicas, r)

		if err := r.spawn(t); err != nil {
			t.Fatal(err)
		}
	}

	c.awaitReady(t)

	return c
}

// spawn starts a new process of the replica; it does not wait for it to
// be ready. At the end of the test the process gets SIGTERM, and SIGKILL
// stopTimeout later.
func (r *replica) spawn(t *testing.T) error {
	cmd := r.c.command(t.Context())
	cmd.Env = r.c.env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout

	p := &replicaProcess{server: &server{logs: newLogs()}, cmd: cmd, exited: make(chan struct{})}
	own, ownIn := io.Pipe()
	all, allIn := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(ownIn, allIn), &p.stderr

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start replica %s: %w", r.name, err)
	}

	var read sync.WaitGroup

	read.Go(func() { p.logs.consume(own) })
	read.Go(func() { r.c.logs.consume(all) })

	go func() {
		p.err = cmd.Wait()
		_, _ = ownIn.Close(), allIn.Close()

		read.Wait()
		close(p.exited)
	}()

	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()

	return nil
}

// current is the replica's newest process.
func (r *replica) current() *replicaProcess {
	r.mu.Lock()
	defer r.mu.Unlock()

	return r.procs[len(r.procs)-1]
}

// processes are every process the replica ran.
func (r *replica) processes() []*replicaProcess {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]*replicaProcess(nil), r.procs...)
}

// killAndRestart SIGKILLs the current process, waits until it is gone and
// starts a new one, which it does not wait for.
func (r *replica) killAndRestart(t *testing.T) error {
	p := r.current()
	p.killed.Store(true)

	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill replica %s: %w", r.name, err)
	}

	<-p.exited

	return r.spawn(t)
}

// A chaos loop kills a replica every killEveryMin to killEveryMax.
const (
	killEveryMin = time.Second
	killEveryMax = 3 * time.Second
)

// chaos kills a random replica of a cluster every killEveryMin to
// killEveryMax and restarts it, until stop.
type chaos struct {
	quit  chan struct{}
	kills chan int
}

func startChaos(t *testing.T, c *cluster) *chaos {
	ch := &chaos{quit: make(chan struct{}), kills: make(chan int, 1)}

	go func() {
		kills := 0
		defer func() { ch.kills <- kills }()

		for {
			wait := time.NewTimer(killEveryMin + time.Duration(randN(int(killEveryMax-killEveryMin))))

			select {
			case <-ch.quit:
				wait.Stop()

				return
			case <-wait.C:
			}

			if err := c.replicas[randN(len(c.replicas))].killAndRestart(t); err != nil {
				t.Errorf("chaos: %v", err)

				return
			}

			kills++
		}
	}()

	return ch
}

// stop stops the chaos and returns how many replicas it killed.
func (ch *chaos) stop() int {
	close(ch.quit)

	return <-ch.kills
}

// processCount is how many processes the replicas ran.
func (c *cluster) processCount() int {
	n := 0
	for _, r := range c.replicas {
		n += len(r.processes())
	}

	return n
}

// awaitReady waits until the process logged "server ready" and records its
// addresses; it fails fast if the process exits first.
func (p *replicaProcess) awaitReady(d time.Duration) error {
	deadline := time.Now().Add(d)

	for {
		line, err := p.logs.wait(100*time.Millisecond, func(l logLine) bool { return l.Msg() == "server ready" })
		if err == nil {
			p.HTTP, p.GRPC, p.Admin = "http://"+line.String("http"), line.String("grpc"), "http://"+line.String("admin")

			return nil
		}

		select {
		case <-p.exited:
			return fmt.Errorf("exited before it was ready (%v)\n%s\n%s", p.cmd.ProcessState, p.logs.text(), p.stderr.String())
		default:
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v\n%s\n%s", d, p.logs.text(), p.stderr.String())
		}
	}
}

// awaitReady waits until the current process of every replica is ready.
func (c *cluster) awaitReady(t *testing.T) {
	t.Helper()

	for _, r := range c.replicas {
		if err := r.current().awaitReady(stopTimeout); err != nil {
			t.Fatalf("replica %s: %v", r.name, err)
		}
	}
}

// through is a client of replica p that reads the codes the dev notifier
// sent in the log of the whole cluster.
func (c *cluster) through(p *replicaProcess) *server {
	return &server{HTTP: p.HTTP, GRPC: p.GRPC, Admin: p.Admin, logs: c.logs}
}

// codeSenders names the replicas that logged a code sent to destination,
// once per code.
func (c *cluster) codeSenders(destination string) []string {
	var senders []string

	for _, r := range c.replicas {
		for _, p := range r.processes() {
			for range p.logs.codeCount(destination) {
				senders = append(senders, r.name)
			}
		}
	}

	return senders
}

// stop asks the live processes to stop (the test's context has ended, so
// exec sent them SIGTERM), waits for them, and checks that each stopped
// cleanly and that no process, killed or not, logged a panic.
func (c *cluster) stop(t *testing.T) {
	t.Helper()

	for _, r := range c.replicas {
		for i, p := range r.processes() {
			<-p.exited

			// Wait reports the context's error after Cancel even when the
			// process exited 0: the exit status is what counts.
			if st := p.cmd.ProcessState; !p.killed.Load() && (st == nil || !st.Success()) {
				t.Errorf("replica %s, process %d: exited with %v (%v) after SIGTERM, want status 0\n%s", r.name, i+1, st, p.err, p.stderr.String())
			}

			if out := p.logs.text() + p.stderr.String(); strings.Contains(strings.ToLower(out), "panic") {
				t.Errorf("replica %s, process %d (killed: %v) logged a panic:\n%s", r.name, i+1, p.killed.Load(), out)
			}
		}
	}
}

// randN returns a uniformly random number in [0, n).
func randN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}

	return int(v.Int64())
}
