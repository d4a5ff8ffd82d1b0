package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/natstest"
)

// errUnavailable is what the failing handlers of these tests return.
var errUnavailable = errors.New("downstream unavailable")

// natsEnv is a test's own database, and so its own stream and subjects on
// the shared NATS server, deleted when the test ends.
type natsEnv struct {
	*bustest.DB

	t      *testing.T
	url    string
	js     jetstream.JetStream
	stream string
	prefix string
}

func newNATSEnv(t *testing.T) *natsEnv {
	t.Helper()

	db := bustest.NewDB(t)
	js, stream := bustest.NATSStream(t, db.Pool)

	id, err := events.ClusterID(t.Context(), db.Pool)
	if err != nil {
		t.Fatal(err)
	}

	// The test database is a cluster of its own: its stream and subjects
	// are the test's.
	if want := "MODULITH_DELIVERIES_" + strings.ToUpper(id); stream != want {
		t.Fatalf("Stream() = %q, want %q", stream, want)
	}

	return &natsEnv{DB: db, t: t, url: natstest.URL(t), js: js, stream: stream, prefix: "modulith." + id + ".deliver"}
}

func (env *natsEnv) config() events.Config {
	cfg := bustest.FastConfig()
	cfg.Transport = events.TransportNATS
	cfg.NATSURL = env.url

	return cfg
}

// replica returns a bus with the NATS transport and a pool of its own, as
// another process would have; the test starts it.
func (env *natsEnv) replica(cfg events.Config) *events.Bus {
	env.t.Helper()

	return bustest.NewBus(env.t, env.NewPool(8), cfg, natsbus.Transport{})
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

	bustest.Eventually(env.t, "stream "+env.stream+" empty", func() bool { return env.streamState().Msgs == 0 })
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

	return env.Count("SELECT count(*) FROM events.deliveries WHERE state = 'delivered'")
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
	return func(ctx context.Context, e events.Raw) error {
		c.mu.Lock()
		c.runs[subscriber+" "+e.ID]++
		c.by[replica]++
		c.mu.Unlock()

		return bustest.RecordEffect(ctx, e)
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
	env.Scan([]any{&gotRows, &gotDistinct}, "SELECT count(*), count(DISTINCT event_id) FROM fx.effects")

	if gotRows != rows || gotDistinct != distinct {
		env.t.Errorf("effects: %d rows for %d events, want %d for %d", gotRows, gotDistinct, rows, distinct)
	}
}

// lastMessage returns the last message of subject in the test's stream:
// from a handler, the message of its delivery, not acked yet.
func (env *natsEnv) lastMessage(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	s, err := env.js.Stream(ctx, env.stream)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}

	m, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("raw message: %w", err)
	}

	return m, nil
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

	prev := bustest.Receive(t, runs)
	if prev.attempt != 1 {
		t.Errorf("first run is attempt %d, want 1", prev.attempt)
	}

	for k, minGap := range []time.Duration{base / 2, base} {
		r := bustest.Receive(t, runs)
		if gap := r.at.Sub(prev.at); r.attempt != k+2 || gap < minGap {
			t.Errorf("run %d: attempt %d after %v, want attempt %d after at least %v", k+2, r.attempt, gap, k+2, minGap)
		}

		prev = r
	}
}

// indexOf returns the index of run in runs, len(runs) when it is not
// there.
func indexOf(runs []string, run string) int {
	for i, r := range runs {
		if r == run {
			return i
		}
	}

	return len(runs)
}

// idleBus starts a bus with cfg on the test's pool whose transport runs
// nothing, with subscriber subscribed to name, and returns it and the
// deliveries it hands its transport: the test drives the relay
// (natsbus.NewRelay).
func (env *natsEnv) idleBus(cfg events.Config, subscriber, name string) (*events.Bus, *events.Deliveries) {
	env.t.Helper()

	got := make(chan *events.Deliveries, 1)
	bus := bustest.NewBus(env.t, env.Pool, cfg, idleTransport{got: got})

	bustest.Subscribe(env.t, bus, subscriber, name, func(context.Context, events.Raw) error { return nil })
	bustest.Start(env.t, bus)

	return bus, bustest.Receive(env.t, got)
}

// idleTransport takes the place of the NATS transport and hands over the
// bus's deliveries instead of carrying them.
type idleTransport struct {
	got chan<- *events.Deliveries
}

func (idleTransport) Name() string { return events.TransportNATS }

func (it idleTransport) Start(_ context.Context, d *events.Deliveries) (func(context.Context), error) {
	it.got <- d

	return func(context.Context) {}, nil
}

// published counts the deliveries marked relayed to JetStream.
func (env *natsEnv) published() int {
	env.t.Helper()

	return env.Count("SELECT count(*) FROM events.deliveries WHERE published_at IS NOT NULL")
}
