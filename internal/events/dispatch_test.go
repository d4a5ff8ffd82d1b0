package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

var errBoom = errors.New("boom")

func TestNotifyWakesDispatcherBeforePollInterval(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.PollInterval = time.Minute

	bus := bustest.NewBus(t, db.Pool, cfg)
	got := newSink()
	bustest.Subscribe(t, bus, "mailer", "order.placed", got.handle)
	bustest.Start(t, bus)

	// Each event is published once the previous one was handled, when the
	// dispatchers sleep for a minute: only a notification wakes them.
	for range 3 {
		e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
		db.PublishRaw(bus, e)

		select {
		case h := <-got.ch:
			if h.ID != e.ID {
				t.Fatalf("handled %s, want %s", h.ID, e.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %s not handled within 10s with a poll interval of %v", e.ID, cfg.PollInterval)
		}

		time.Sleep(100 * time.Millisecond)
	}
}

func TestFailedHandlerIsRetriedUntilItSucceeds(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	attempts := make(chan int, 10)
	inSecond, release := make(chan struct{}), make(chan struct{})

	bustest.Subscribe(t, bus, "mailer", "order.placed", func(_ context.Context, e events.Raw) error {
		attempts <- e.Attempt

		if e.Attempt == 2 {
			close(inSecond)
			<-release
		}

		if e.Attempt < 3 {
			return fmt.Errorf("attempt %d: %w", e.Attempt, errBoom)
		}

		return nil
	})
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)
	bustest.Receive(t, inSecond)

	// While the second attempt runs, the row shows the first failure.
	want := bustest.Delivery{State: events.StateFailed, Attempts: 1, LastError: "attempt 1: boom", Deferred: true}
	if got := db.Delivery("mailer", e.ID); got.State != want.State || got.Attempts != want.Attempts ||
		!strings.Contains(got.LastError, want.LastError) || !got.Deferred {
		t.Errorf("delivery after one failure = %+v, want like %+v", got, want)
	}

	close(release)

	if got := db.AwaitState("mailer", e.ID, events.StateDelivered); got.Attempts != 3 || got.LastError != "" {
		t.Errorf("delivery after success = %+v, want 3 attempts and no error", got)
	}

	seen := []int{bustest.Receive(t, attempts), bustest.Receive(t, attempts), bustest.Receive(t, attempts)}
	if diff := cmp.Diff([]int{1, 2, 3}, seen); diff != "" {
		t.Errorf("Event.Attempt of the handler runs (-want +got):\n%s", diff)
	}
}

// flaky is a handler that fails until it is told to succeed.
type flaky struct {
	calls   atomic.Int32
	succeed atomic.Bool
	handled chan events.Raw
}

func newFlaky() *flaky { return &flaky{handled: make(chan events.Raw, 16)} }

func (f *flaky) handle(_ context.Context, e events.Raw) error {
	f.calls.Add(1)

	if !f.succeed.Load() {
		return errBoom
	}

	f.handled <- e

	return nil
}

func TestHandlerThatAlwaysFailsIsDeadThenRedriven(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 3

	bus := bustest.NewBus(t, db.Pool, cfg)
	h := newFlaky()
	bustest.Subscribe(t, bus, "mailer", "order.placed", h.handle)
	bustest.Subscribe(t, bus, "auditor", "order.placed", nopHandler)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)

	if got := db.AwaitState("mailer", e.ID, events.StateDead); got.Attempts != 3 || !strings.Contains(got.LastError, "boom") {
		t.Errorf("dead delivery = %+v, want 3 attempts and the last error", got)
	}

	db.AwaitState("auditor", e.ID, events.StateDelivered)
	time.Sleep(5 * cfg.PollInterval)

	if n := h.calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want MaxAttempts = 3", n)
	}

	checkDeadLetters(t, bus, e)

	h.succeed.Store(true)

	if n, err := bus.Redrive(t.Context(), "mailer", e.ID); n != 1 || err != nil {
		t.Fatalf("Redrive(mailer, %s) = %d, %v; want 1", e.ID, n, err)
	}

	if got := bustest.Receive(t, h.handled); got.ID != e.ID || got.Attempt != 1 {
		t.Errorf("after redrive handled %s attempt %d, want %s attempt 1", got.ID, got.Attempt, e.ID)
	}

	db.AwaitState("mailer", e.ID, events.StateDelivered)

	if n, err := bus.Redrive(t.Context(), "", ""); n != 0 || err != nil {
		t.Errorf("Redrive() with no dead letters = %d, %v; want 0", n, err)
	}
}

// TestDiscardDeadLetter gives up a dead delivery: it is gone from the dead
// letters and cannot be redriven, while a delivery that is not dead (the
// other subscriber's, delivered) is left alone.
func TestDiscardDeadLetter(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 1

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "mailer", "order.placed", newFlaky().handle)
	bustest.Subscribe(t, bus, "auditor", "order.placed", nopHandler)
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)
	db.AwaitState("mailer", e.ID, events.StateDead)
	db.AwaitState("auditor", e.ID, events.StateDelivered)

	if _, err := bus.Discard(t.Context(), "", e.ID); err == nil {
		t.Error("Discard without a subscriber succeeded, want an error")
	}

	if n, err := bus.Discard(t.Context(), "auditor", e.ID); n != 0 || err != nil {
		t.Errorf("Discard(auditor, delivered) = %d, %v; want 0: only dead deliveries go", n, err)
	}

	if n, err := bus.Discard(t.Context(), "mailer", e.ID); n != 1 || err != nil {
		t.Fatalf("Discard(mailer, %s) = %d, %v; want 1", e.ID, n, err)
	}

	checkDiscarded(t, bus, db, e)
}

// checkDiscarded checks that mailer's dead delivery of e is gone for good
// and the auditor's delivered one is left.
func checkDiscarded(t *testing.T, bus *events.Bus, db *bustest.DB, e events.Raw) {
	t.Helper()

	if letters, err := bus.DeadLetters(t.Context(), ""); err != nil || len(letters) != 0 {
		t.Errorf("DeadLetters after Discard = %+v, %v; want none", letters, err)
	}

	if n, err := bus.Redrive(t.Context(), "mailer", e.ID); n != 0 || err != nil {
		t.Errorf("Redrive after Discard = %d, %v; want 0", n, err)
	}

	if got := deliveriesOf(t, db, e.ID); len(got) != 1 {
		t.Errorf("deliveries of %s after Discard = %v, want the auditor's alone", e.ID, got)
	}
}

func checkDeadLetters(t *testing.T, bus *events.Bus, e events.Raw) {
	t.Helper()

	for _, subscriber := range []string{"", "mailer"} {
		letters, err := bus.DeadLetters(t.Context(), subscriber)
		if err != nil || len(letters) != 1 {
			t.Fatalf("DeadLetters(%q) = %+v, %v; want one", subscriber, letters, err)
		}

		want := events.DeadLetter{
			Subscriber: "mailer", EventID: e.ID, Event: e.Name, Attempts: 3, LastError: letters[0].LastError,
			FailedAt: letters[0].FailedAt,
		}
		if diff := cmp.Diff(want, letters[0]); diff != "" || !strings.Contains(letters[0].LastError, "boom") {
			t.Errorf("DeadLetters(%q) (-want +got):\n%s\nlast error %q, want boom", subscriber, diff, letters[0].LastError)
		}

		if time.Since(letters[0].FailedAt) > time.Minute {
			t.Errorf("DeadLetters(%q) failed at %v, want just now", subscriber, letters[0].FailedAt)
		}
	}

	if letters, err := bus.DeadLetters(t.Context(), "auditor"); err != nil || len(letters) != 0 {
		t.Errorf("DeadLetters(auditor) = %+v, %v; want none", letters, err)
	}
}

func TestPanickingHandlerIsAFailure(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	handled := newSink()

	bustest.Subscribe(t, bus, "mailer", "order.placed", func(ctx context.Context, e events.Raw) error {
		if e.Attempt == 1 {
			panic("handler bug")
		}

		return handled.handle(ctx, e)
	})
	bustest.Start(t, bus)

	first, second := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}, events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, first)

	db.AwaitState("mailer", first.ID, events.StateDelivered)

	// The dispatcher survived: a later event is handled too.
	db.PublishRaw(bus, second)

	if got := db.AwaitState("mailer", second.ID, events.StateDelivered); got.Attempts != 2 {
		t.Errorf("second event delivered after %d attempts, want 2 (the first panics)", got.Attempts)
	}

	ids := map[string]bool{handled.next(t).ID: true, handled.next(t).ID: true}
	if !ids[first.ID] || !ids[second.ID] {
		t.Errorf("handled %v, want both events after their panic", ids)
	}
}

func TestPanicIsRecordedAsLastError(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 1

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "mailer", "order.placed", func(context.Context, events.Raw) error { panic("handler bug") })
	bustest.Start(t, bus)

	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}
	db.PublishRaw(bus, e)

	if got := db.AwaitState("mailer", e.ID, events.StateDead); !strings.Contains(got.LastError, "handler bug") {
		t.Errorf("last error of a panicking handler = %q, want the panic value", got.LastError)
	}
}

// TestOrderingKeyKeepsPublicationOrder: events that share a key are
// handled in publication order, even when the first fails a few times;
// events of other keys go ahead meanwhile.
func TestOrderingKeyKeepsPublicationOrder(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 200 // a1 fails until b3 is handled: b waiting for a would make a1 dead

	bus := bustest.NewBus(t, db.Pool, cfg)
	log := &bustest.Runs{}
	bLast := make(chan struct{})

	bustest.Subscribe(t, bus, "ledger", "account.changed", func(_ context.Context, e events.Raw) error {
		n, err := bustest.LabelOf(e)
		if err != nil {
			return err
		}

		select {
		case <-bLast:
		default:
			if n == "a1" {
				log.Add(n + " failed")

				return errBoom
			}
		}

		log.Add(n)

		if n == "b3" {
			close(bLast)
		}

		return nil
	})
	bustest.Start(t, bus)

	for _, n := range []string{"a1", "a2", "b1", "a3", "b2", "a4", "b3"} {
		db.PublishRaw(bus, events.Raw{Name: "account.changed", OrderingKey: n[:1], Payload: bustest.Labelled(n)})
	}

	bustest.Eventually(t, "every event handled", func() bool { return len(done(log)) == 7 })

	runs := log.All()
	if got := only(runs, "a"); !isFailuresThen(got, "a1 failed", []string{"a1", "a2", "a3", "a4"}) {
		t.Errorf("runs of key a = %v, want a1 failing, then a1, a2, a3, a4", got)
	}

	if diff := cmp.Diff([]string{"b1", "b2", "b3"}, only(runs, "b")); diff != "" {
		t.Errorf("runs of key b (-want +got):\n%s", diff)
	}
}

// done returns the successful runs of log.
func done(log *bustest.Runs) []string {
	var out []string

	for _, r := range log.All() {
		if !strings.HasSuffix(r, " failed") {
			out = append(out, r)
		}
	}

	return out
}

func only(runs []string, prefix string) []string {
	var out []string

	for _, r := range runs {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}

	return out
}

// isFailuresThen reports whether runs is one or more failure, then want.
func isFailuresThen(runs []string, failure string, want []string) bool {
	i := 0
	for i < len(runs) && runs[i] == failure {
		i++
	}

	return i > 0 && cmp.Equal(runs[i:], want)
}

func TestReplicasHandleEachEventOnce(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)

	const total = 500

	var (
		mu      sync.Mutex
		handled = map[string]int{}
		byBus   [3]int
	)

	buses := make([]*events.Bus, 3)
	for i := range buses {
		bus := bustest.NewBus(t, db.NewPool(5), bustest.FastConfig())
		bustest.Subscribe(t, bus, "worker", "job.queued", func(_ context.Context, e events.Raw) error {
			mu.Lock()
			defer mu.Unlock()

			handled[e.ID]++
			byBus[i]++

			return nil
		})
		bustest.Start(t, bus)
		buses[i] = bus
	}

	bustest.PublishConcurrently(t, db.Pool, buses, "job.queued", total)
	bustest.Eventually(t, "every event delivered", func() bool {
		return db.Count("SELECT count(*) FROM events.deliveries WHERE state = 'delivered'") == total
	})
	time.Sleep(5 * bustest.FastConfig().PollInterval)

	mu.Lock()
	defer mu.Unlock()

	if len(handled) != total {
		t.Errorf("handled %d distinct events, want %d", len(handled), total)
	}

	for id, n := range handled {
		if n != 1 {
			t.Errorf("event %s handled %d times, want once cluster-wide", id, n)
		}
	}

	t.Logf("events handled by replica: %v", byBus)
}
