package natsbus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
)

func TestNATSDeliversEachEventOnceToEverySubscriber(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	env.CreateEffects()

	bus := env.replica(env.config())
	counter := newHandledCounter()

	for _, sub := range []string{"alpha", "beta"} {
		bustest.Subscribe(t, bus, sub, "order.placed", counter.handler(sub, "only"))
	}

	bustest.Start(t, bus)

	const n = 40

	for range n {
		env.PublishRaw(bus, events.Raw{Name: "order.placed"})
	}

	bustest.Eventually(t, "every delivery delivered", func() bool { return env.delivered() == 2*n })
	env.awaitStreamEmpty()

	counter.check(t, 2*n)
	env.checkEffects(2*n, n)
	env.checkPublishedOnce(2 * n)

	if got := env.Count("SELECT count(*) FROM events.processed"); got != 2*n {
		t.Errorf("processed records = %d, want %d", got, 2*n)
	}
}

func TestNATSSecretIsSealedInTheStream(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	bus := env.replica(env.config())
	subject := env.prefix + ".mailer.code.requested"

	type seen struct {
		event events.Raw
		raw   []byte
	}

	got := make(chan seen, 1)

	bustest.Subscribe(t, bus, "mailer", "code.requested", func(ctx context.Context, e events.Raw) error {
		// Not acked yet: the message is still in the stream.
		raw, err := env.lastMessage(ctx, subject)
		if err != nil {
			return err
		}

		got <- seen{event: e, raw: raw.Data}

		return nil
	})
	bustest.Start(t, bus)

	const code = "482913"

	e := events.Raw{ID: bustest.NewEventID(t), Name: "code.requested", Secret: map[string]string{"code": code}}
	env.PublishRaw(bus, e)

	s := bustest.Receive(t, got)
	if diff := cmp.Diff(e.Secret, s.event.Secret); diff != "" {
		t.Errorf("handler's Secret (-want +got):\n%s", diff)
	}

	if !bytes.Contains(s.raw, []byte(e.ID)) {
		t.Fatalf("raw message %s does not name event %s: not the delivery's message", s.raw, e.ID)
	}

	if bytes.Contains(s.raw, []byte(code)) {
		t.Errorf("raw JetStream message holds the secret in clear text: %s", s.raw)
	}
}

func TestNATSReplicasHandleEachEventOnce(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	env.CreateEffects()

	const total = 300

	counter := newHandledCounter()
	buses := make([]*events.Bus, 3)

	for i := range buses {
		buses[i] = env.replica(env.config())
		bustest.Subscribe(t, buses[i], "worker", "job.queued", counter.handler("worker", fmt.Sprint("replica-", i)))
	}

	// A backlog that the three relays race for as they start (the
	// subscription is registered as a replica that ran before would have),
	// then events published while they all run.
	env.Exec("INSERT INTO events.subscriptions (subscriber, event_name) VALUES ('worker', 'job.queued')")
	bustest.PublishConcurrently(t, env.Pool, buses, "job.queued", total/2)

	for _, bus := range buses {
		bustest.Start(t, bus)
	}

	bustest.PublishConcurrently(t, env.Pool, buses, "job.queued", total/2)

	bustest.Eventually(t, "every delivery delivered", func() bool { return env.delivered() == total })
	env.awaitStreamEmpty()

	counter.check(t, total)
	env.checkEffects(total, total)
	env.checkPublishedOnce(total)

	counter.mu.Lock()
	t.Logf("runs by replica: %v", counter.by)
	counter.mu.Unlock()
}

// TestNATSRelaysCarryEverySubscribersDeliveries starts three replicas at
// once, each running a subscriber of its own, on a backlog: every relay
// claims deliveries of every subscriber, and each is still published and
// handled once. The backlog goes through the test's pool, so the replicas
// start on cold pools as new processes do, and the one that creates the
// stream may reach PostgreSQL after another has relayed already
// (TestNATSStreamCreationHandsBackOnlyWhatWentBefore).
func TestNATSRelaysCarryEverySubscribersDeliveries(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	env.CreateEffects()

	const n = 100

	subscribers := []string{"audit", "billing", "search"}
	counter := newHandledCounter()
	buses := make([]*events.Bus, len(subscribers))

	for i, sub := range subscribers {
		buses[i] = env.replica(env.config())
		bustest.Subscribe(t, buses[i], sub, "job.queued", counter.handler(sub, sub))
		env.Exec("INSERT INTO events.subscriptions (subscriber, event_name) VALUES ($1, 'job.queued')", sub)
	}

	bustest.PublishConcurrently(t, env.Pool, buses, "job.queued", n)

	var wg sync.WaitGroup

	for _, bus := range buses {
		wg.Go(func() {
			if err := bus.Start(t.Context()); err != nil {
				t.Errorf("Start() = %v", err)
			}
		})
	}

	wg.Wait()

	for _, bus := range buses {
		t.Cleanup(func() { bustest.Close(t, bus) })
	}

	total := len(subscribers) * n

	bustest.Eventually(t, "every delivery delivered", func() bool { return env.delivered() == total })
	env.awaitStreamEmpty()

	counter.check(t, total)
	env.checkEffects(total, n)
	env.checkPublishedOnce(uint64(total))
}

func TestNATSFailingHandlerBacksOffDiesAndIsRedriven(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	env.CreateEffects()

	cfg := env.config()
	cfg.MaxAttempts = 3
	cfg.BackoffBase = 100 * time.Millisecond
	cfg.BackoffMax = 400 * time.Millisecond

	var failing atomic.Bool

	failing.Store(true)

	runs := make(chan attemptRun, 16)
	bus := env.replica(cfg)

	bustest.Subscribe(t, bus, "flaky", "order.placed", func(ctx context.Context, e events.Raw) error {
		runs <- attemptRun{attempt: e.Attempt, at: time.Now()}

		if err := bustest.RecordEffect(ctx, e); err != nil {
			return err
		}

		if failing.Load() {
			return fmt.Errorf("attempt %d: %w", e.Attempt, errUnavailable)
		}

		return nil
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	env.PublishRaw(bus, e)

	d := env.AwaitState("flaky", e.ID, events.StateDead)
	if d.Attempts != cfg.MaxAttempts || !strings.Contains(d.LastError, "attempt 3") {
		t.Errorf("dead delivery: attempts %d, last error %q; want %d attempts and the third attempt's error",
			d.Attempts, d.LastError, cfg.MaxAttempts)
	}

	checkBackoff(t, runs, cfg.BackoffBase)

	env.awaitStreamEmpty() // terminated, not left for redelivery

	if got := env.Effects(e.ID); len(got) != 0 {
		t.Errorf("effects of failed attempts %v stayed", got)
	}

	failing.Store(false)

	if n, err := bus.Redrive(t.Context(), "flaky", e.ID); err != nil || n != 1 {
		t.Fatalf("Redrive() = %d, %v; want 1, nil", n, err)
	}

	env.AwaitState("flaky", e.ID, events.StateDelivered)

	if r := bustest.Receive(t, runs); r.attempt != 1 {
		t.Errorf("redriven run is attempt %d, want 1", r.attempt)
	}

	if got := env.Effects(e.ID); !cmp.Equal(got, []int{1}) {
		t.Errorf("effects after redrive = attempts %v, want [1]", got)
	}
}

// TestNATSRedeliveryAfterCommitIsSkipped stands for a crash between the
// commit and the ack: the same message comes again.
func TestNATSRedeliveryAfterCommitIsSkipped(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	env.CreateEffects()

	bus := env.replica(env.config())
	subject := env.prefix + ".ledger.order.placed"
	raw := make(chan *jetstream.RawStreamMsg, 1)

	var runs atomic.Int32

	bustest.Subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Raw) error {
		if runs.Add(1) == 1 {
			m, err := env.lastMessage(ctx, subject)
			if err != nil {
				return err
			}

			raw <- m
		}

		return bustest.RecordEffect(ctx, e)
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	env.PublishRaw(bus, e)
	env.AwaitState("ledger", e.ID, events.StateDelivered)

	m := bustest.Receive(t, raw)
	redeliver := func() {
		t.Helper()

		if _, err := env.js.PublishMsg(t.Context(), &nats.Msg{Subject: m.Subject, Data: m.Data}); err != nil {
			t.Fatalf("publish a copy: %v", err)
		}

		env.awaitStreamEmpty()
	}

	redeliver()

	// Even with the delivery row out of step, the processed record, written
	// with the handler's effects, keeps the handler from running again.
	env.Exec("UPDATE events.deliveries SET state = 'pending' WHERE event_id = $1", e.ID)
	redeliver()
	env.AwaitState("ledger", e.ID, events.StateDelivered)

	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once", n)
	}

	if got := env.Effects(e.ID); !cmp.Equal(got, []int{1}) {
		t.Errorf("effects = attempts %v, want [1]", got)
	}
}

func TestNATSOrderingKeyWaitsForFailingHead(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)

	cfg := env.config()
	cfg.BackoffBase = 100 * time.Millisecond
	cfg.BackoffMax = 200 * time.Millisecond

	order := &bustest.Runs{}
	bus := env.replica(cfg)

	bustest.Subscribe(t, bus, "ordered", "account.changed", func(_ context.Context, e events.Raw) error {
		label, err := bustest.LabelOf(e)
		if err != nil {
			return err
		}

		if label == "a1" && e.Attempt <= 2 {
			order.Add(label + " failed")

			return errUnavailable
		}

		order.Add(label)

		return nil
	})
	bustest.Start(t, bus)

	for _, ev := range []struct{ label, key string }{{"a1", "acct-a"}, {"a2", "acct-a"}, {"a3", "acct-a"}, {"b1", "acct-b"}} {
		env.PublishRaw(bus, events.Raw{Name: "account.changed", OrderingKey: ev.key, Payload: bustest.Labelled(ev.label)})
	}

	bustest.Eventually(t, "every delivery delivered", func() bool { return env.delivered() == 4 })

	runs := order.All()

	var keyA []string

	for _, r := range runs {
		if strings.HasPrefix(r, "a") {
			keyA = append(keyA, r)
		}
	}

	if want := []string{"a1 failed", "a1 failed", "a1", "a2", "a3"}; !cmp.Equal(keyA, want) {
		t.Errorf("runs of key acct-a = %q, want %q", keyA, want)
	}

	// Another key does not wait for acct-a's head.
	if indexOf(runs, "b1") > indexOf(runs, "a1") {
		t.Errorf("runs = %q: b1 waited for a1, which has another ordering key", runs)
	}
}

func TestNATSUnavailableAtStart(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)

	cfg := bustest.FastConfig()
	cfg.Transport = events.TransportNATS
	cfg.NATSURL = "nats://127.0.0.1:1" // nothing listens there

	bus := bustest.NewBus(t, db.Pool, cfg, natsbus.Transport{})
	bustest.Subscribe(t, bus, "mailer", "order.placed", func(context.Context, events.Raw) error { return nil })

	err := bus.Start(t.Context())
	if !errors.Is(err, nats.ErrNoServers) || !strings.Contains(err.Error(), "NATS_URL") {
		t.Errorf("Start() with NATS down = %v, want %v naming NATS_URL", err, nats.ErrNoServers)
	}

	bustest.Close(t, bus)
}
