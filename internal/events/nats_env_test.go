package events_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/testutil"
)

// errUnavailable is what the failing handlers of these tests return.
var errUnavailable = errors.New("downstream unavailable")

// natsEnv is a test's own database, and so its own stream and subjects on
// the shared NATS server, deleted when the test ends.
type natsEnv struct {
	*pgEnv

	url    string
	js     jetstream.JetStream
	stream string
	prefix string
}

func newNATSEnv(t *testing.T) *natsEnv {
	t.Helper()

	url := testutil.NATSURL(t)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to NATS at %s (set TEST_NATS_URL to a nats-server -js): %v", url, err)
	}

	t.Cleanup(nc.Close)

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	pg := newPGEnv(t)

	id, err := events.ClusterID(t.Context(), pg.pool)
	if err != nil {
		t.Fatal(err)
	}

	// The test database is a cluster of its own: its stream and subjects
	// are the test's.
	env := &natsEnv{pgEnv: pg, url: url, js: js, stream: "MODULITH_DELIVERIES_" + strings.ToUpper(id), prefix: "modulith." + id + ".deliver"}

	if got, err := events.NATSStream(t.Context(), pg.pool); err != nil || got != env.stream {
		t.Fatalf("NATSStream() = %q, %v; want %q", got, err, env.stream)
	}

	t.Cleanup(func() { // after the buses closed
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()

		if err := js.DeleteStream(ctx, env.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", env.stream, err)
		}
	})

	return env
}

func (env *natsEnv) config() events.Config {
	cfg := fastConfig()
	cfg.Transport = events.TransportNATS
	cfg.NATSURL = env.url

	return cfg
}

// replica returns a bus with a pool of its own, as another process would
// have; the test starts it.
func (env *natsEnv) replica(cfg events.Config) *events.Bus {
	env.t.Helper()

	bus, err := events.New(openPool(env.t, env.dsn, 8), cfg, sealKey, discardLogger())
	if err != nil {
		env.t.Fatalf("New() = %v", err)
	}

	return bus
}

// start starts bus on the test's stream and closes it when the test ends.
func (env *natsEnv) start(bus *events.Bus) {
	env.t.Helper()

	if err := bus.Start(env.t.Context()); err != nil {
		env.t.Fatalf("Start() = %v", err)
	}

	env.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()

		if err := bus.Close(ctx); err != nil {
			env.t.Errorf("Close() = %v", err)
		}
	})
}

func (env *natsEnv) streamState() jetstream.StreamState {
	env.t.Helper()

	s, err := env.js.Stream(env.t.Context(), env.stream)
	if err != nil {
		env.t.Fatalf("stream %s: %v", env.stream, err)
	}

	info, err := s.Info(env.t.Context())
	if err != nil {
		env.t.Fatalf("stream %s info: %v", env.stream, err)
	}

	return info.State
}

// awaitStreamEmpty waits until every message was acked or terminated.
func (env *natsEnv) awaitStreamEmpty() {
	env.t.Helper()

	eventually(env.t, "stream "+env.stream+" empty", func() bool { return env.streamState().Msgs == 0 })
}

// checkPublishedOnce checks that the relays put n messages in the stream,
// one per delivery: none was published twice.
func (env *natsEnv) checkPublishedOnce(n uint64) {
	env.t.Helper()

	if got := env.streamState().LastSeq; got != n {
		env.t.Errorf("stream %s holds %d messages ever, want %d (one per delivery)", env.stream, got, n)
	}
}

func (env *natsEnv) delivered() int {
	env.t.Helper()

	return env.count("SELECT count(*) FROM events.deliveries WHERE state = 'delivered'")
}

// handledCounter counts handler runs by subscriber and event.
type handledCounter struct {
	mu   sync.Mutex
	runs map[string]int // "subscriber event-id"
	by   map[string]int // runs by replica
}

func newHandledCounter() *handledCounter {
	return &handledCounter{runs: map[string]int{}, by: map[string]int{}}
}

// handler counts the runs of subscriber in replica and writes an effect.
func (c *handledCounter) handler(subscriber, replica string) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		c.mu.Lock()
		c.runs[subscriber+" "+e.ID]++
		c.by[replica]++
		c.mu.Unlock()

		return recordEffect(ctx, e)
	}
}

// check verifies that every one of want deliveries ran exactly once.
func (c *handledCounter) check(t *testing.T, want int) {
	t.Helper()

	c.mu.Lock()
	defer c.mu.Unlock()

	if len(c.runs) != want {
		t.Errorf("handled %d deliveries, want %d", len(c.runs), want)
	}

	for k, n := range c.runs {
		if n != 1 {
			t.Errorf("delivery %s handled %d times, want once", k, n)
		}
	}
}

func (env *natsEnv) checkEffects(rows, distinct int) {
	env.t.Helper()

	var gotRows, gotDistinct int
	env.scan([]any{&gotRows, &gotDistinct}, "SELECT count(*), count(DISTINCT event_id) FROM fx.effects")

	if gotRows != rows || gotDistinct != distinct {
		env.t.Errorf("effects: %d rows for %d events, want %d for %d", gotRows, gotDistinct, rows, distinct)
	}
}

// publishAcross publishes n job.queued events from 10 goroutines, through
// every bus in turn.
func publishAcross(t *testing.T, buses []*events.Bus, n int) {
	t.Helper()

	var wg sync.WaitGroup

	errs := make(chan error, n)

	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				errs <- buses[i%len(buses)].Publish(t.Context(), events.Event{Name: "job.queued"})
			}
		})
	}

	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Fatalf("Publish() = %v", err)
		}
	}
}

// attemptRun is a handler run of a given attempt.
type attemptRun struct {
	attempt int
	at      time.Time
}

// checkBackoff takes three runs of one delivery from runs and checks the
// delays between them: with equal jitter, the delay after the k-th failure
// is at least half of base·2^(k-1).
func checkBackoff(t *testing.T, runs <-chan attemptRun, base time.Duration) {
	t.Helper()

	prev := receive(t, runs)
	if prev.attempt != 1 {
		t.Errorf("first run is attempt %d, want 1", prev.attempt)
	}

	for k, minGap := range []time.Duration{base / 2, base} {
		r := receive(t, runs)
		if gap := r.at.Sub(prev.at); r.attempt != k+2 || gap < minGap {
			t.Errorf("run %d: attempt %d after %v, want attempt %d after at least %v", k+2, r.attempt, gap, k+2, minGap)
		}

		prev = r
	}
}

// runOrder records handler runs in order.
type runOrder struct {
	mu   sync.Mutex
	runs []string
}

func (o *runOrder) add(run string) {
	o.mu.Lock()
	defer o.mu.Unlock()

	o.runs = append(o.runs, run)
}

func (o *runOrder) all() []string {
	o.mu.Lock()
	defer o.mu.Unlock()

	return append([]string(nil), o.runs...)
}

func indexOf(runs []string, run string) int {
	for i, r := range runs {
		if r == run {
			return i
		}
	}

	return len(runs)
}
