package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/reqmeta"
)

// waitTimeout bounds every wait on a handler, so that a broken bus fails the
// test instead of hanging it.
const waitTimeout = 5 * time.Second

// logBuffer collects JSON log lines written from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

// records returns the logged lines, decoded.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()

	b.mu.Lock()
	defer b.mu.Unlock()

	var out []map[string]any

	for line := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}

		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}

		out = append(out, rec)
	}

	return out
}

func newBus(t *testing.T) (*events.Bus, *logBuffer) {
	t.Helper()

	logs := &logBuffer{}
	bus := events.NewBus(slog.New(slog.NewJSONHandler(logs, nil)))

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()

		if err := bus.Close(ctx); err != nil {
			t.Errorf("Close at cleanup: %v", err)
		}
	})

	return bus, logs
}

// closeBus closes bus and fails the test if its handlers do not finish.
func closeBus(t *testing.T, bus *events.Bus) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()

	if err := bus.Close(ctx); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()

	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a handler")

		var zero T

		return zero
	}
}

func TestPublishReturnsBeforeHandlersFinish(t *testing.T) {
	bus, _ := newBus(t)
	release := make(chan struct{})
	finished := make(chan struct{})

	bus.Subscribe("thing.happened", func(context.Context, events.Event) error {
		<-release
		close(finished)

		return nil
	})

	published := make(chan error, 1)

	go func() { published <- bus.Publish(t.Context(), events.Event{Name: "thing.happened"}) }()

	if err := receive(t, published); err != nil {
		t.Fatalf("Publish() = %v, want nil", err)
	}

	select {
	case <-finished:
		t.Fatal("handler finished before it was released: Publish did not run it asynchronously")
	default:
	}

	close(release)
	receive(t, finished)
}

func TestPublishDeliversToSubscribersOfTheName(t *testing.T) {
	bus, _ := newBus(t)

	var mu sync.Mutex

	got := map[string][]string{}
	record := func(subscriber string) events.Handler {
		return func(_ context.Context, e events.Event) error {
			mu.Lock()
			defer mu.Unlock()

			got[subscriber] = append(got[subscriber], e.Name)

			return nil
		}
	}

	bus.Subscribe("order.placed", record("first"))
	bus.Subscribe("order.placed", record("second"))
	bus.Subscribe("order.shipped", record("other"))

	if err := bus.Publish(t.Context(), events.Event{Name: "order.placed"}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	if err := bus.Publish(t.Context(), events.Event{Name: "nobody.listens"}); err != nil {
		t.Fatalf("Publish() without subscribers = %v, want nil", err)
	}

	closeBus(t, bus)

	want := map[string][]string{"first": {"order.placed"}, "second": {"order.placed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestPublishFillsIDAndTime(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fixedID := "evt_01h455vb4pex5vsknk084sn02q"

	tests := []struct {
		name   string
		event  events.Event
		wantID string
		wantAt time.Time
	}{
		{name: "empty", event: events.Event{Name: "x.y"}},
		{name: "set", event: events.Event{Name: "x.y", ID: fixedID, OccurredAt: fixed}, wantID: fixedID, wantAt: fixed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := publishOne(t, tt.event)
			if tt.wantID != "" {
				checkKept(t, got, tt.wantID, tt.wantAt)

				return
			}

			checkFilled(t, got)
		})
	}
}

// publishOne publishes e on a fresh bus and returns what its subscriber got.
func publishOne(t *testing.T, e events.Event) events.Event {
	t.Helper()

	bus, _ := newBus(t)
	got := make(chan events.Event, 1)

	bus.Subscribe(e.Name, func(_ context.Context, e events.Event) error {
		got <- e

		return nil
	})

	if err := bus.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%+v) = %v", e, err)
	}

	return receive(t, got)
}

func checkKept(t *testing.T, got events.Event, wantID string, wantAt time.Time) {
	t.Helper()

	if got.ID != wantID || !got.OccurredAt.Equal(wantAt) {
		t.Errorf("delivered ID, OccurredAt = %q, %v; want %q, %v", got.ID, got.OccurredAt, wantID, wantAt)
	}
}

func checkFilled(t *testing.T, got events.Event) {
	t.Helper()

	id, err := typeid.FromString(got.ID)
	if err != nil || id.Prefix() != events.IDPrefix || !strings.HasPrefix(got.ID, "evt_") {
		t.Errorf("delivered ID = %q (parse error %v), want a TypeID with prefix %q", got.ID, err, events.IDPrefix)
	}

	if age := time.Since(got.OccurredAt); got.OccurredAt.IsZero() || age < 0 || age > time.Minute {
		t.Errorf("delivered OccurredAt = %v, want about now", got.OccurredAt)
	}

	if got.OccurredAt.Location() != time.UTC {
		t.Errorf("delivered OccurredAt location = %v, want UTC", got.OccurredAt.Location())
	}
}

func TestPublishWithoutName(t *testing.T) {
	bus, _ := newBus(t)
	called := atomic.Bool{}

	bus.Subscribe("", func(context.Context, events.Event) error {
		called.Store(true)

		return nil
	})

	err := bus.Publish(t.Context(), events.Event{Payload: map[string]any{"k": "v"}})
	if err == nil {
		t.Fatal("Publish(no name) = nil, want an error")
	}

	closeBus(t, bus)

	if called.Load() {
		t.Error("a nameless event reached a handler")
	}
}

func TestFailingHandlerIsLoggedAndOthersRun(t *testing.T) {
	tests := []struct {
		name    string
		handler events.Handler
		wantMsg string
		wantKey string // attribute that must be non-empty in the log line
	}{
		{
			name:    "error",
			handler: func(context.Context, events.Event) error { return fmt.Errorf("smtp down") },
			wantMsg: "event handler failed",
			wantKey: "error",
		},
		{
			name:    "panic",
			handler: func(context.Context, events.Event) error { panic("boom") },
			wantMsg: "event handler panicked",
			wantKey: "stack",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus, logs := newBus(t)
			ran := atomic.Int32{}
			other := func(context.Context, events.Event) error {
				ran.Add(1)

				return nil
			}

			bus.Subscribe("user.created", other)
			bus.Subscribe("user.created", tt.handler)
			bus.Subscribe("user.created", other)

			e := events.Event{Name: "user.created", ID: "evt_01h455vb4pex5vsknk084sn02q"}
			if err := bus.Publish(t.Context(), e); err != nil {
				t.Fatalf("Publish() = %v", err)
			}

			closeBus(t, bus)

			if got := ran.Load(); got != 2 {
				t.Errorf("healthy handlers ran %d times, want 2", got)
			}

			checkFailureLogged(t, logs.records(t), e, tt.wantMsg, tt.wantKey)
		})
	}
}

func checkFailureLogged(t *testing.T, records []map[string]any, e events.Event, msg, key string) {
	t.Helper()

	if len(records) != 1 {
		t.Fatalf("logged %d lines, want 1: %v", len(records), records)
	}

	rec := records[0]
	want := map[string]any{"level": "ERROR", "msg": msg, "event": e.Name, "event_id": e.ID}

	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}

	if s, _ := rec[key].(string); s == "" {
		t.Errorf("log %s is empty in %v", key, rec)
	}
}

func TestHandlerContextKeepsValuesNotCancellation(t *testing.T) {
	bus, _ := newBus(t)
	cancelled := make(chan struct{})

	got := make(chan context.Context, 1)

	bus.Subscribe("user.created", func(ctx context.Context, _ events.Event) error {
		<-cancelled

		got <- ctx

		return nil
	})

	ctx, cancel := context.WithCancel(reqmeta.WithRequestID(t.Context(), "req-42"))
	if err := bus.Publish(ctx, events.Event{Name: "user.created"}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	cancel()
	close(cancelled)

	hctx := receive(t, got)
	if id := reqmeta.RequestID(hctx); id != "req-42" {
		t.Errorf("handler request ID = %q, want %q", id, "req-42")
	}

	if err := hctx.Err(); err != nil {
		t.Errorf("handler context error = %v after the publisher's was cancelled, want nil", err)
	}
}

func TestCloseWaitsForRunningHandlers(t *testing.T) {
	bus, _ := newBus(t)
	release := make(chan struct{})
	started := make(chan struct{})
	done := atomic.Bool{}

	bus.Subscribe("slow", func(context.Context, events.Event) error {
		close(started)
		<-release
		done.Store(true)

		return nil
	})

	if err := bus.Publish(t.Context(), events.Event{Name: "slow"}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	receive(t, started)

	closed := make(chan error, 1)

	go func() { closed <- bus.Close(context.Background()) }()

	select {
	case err := <-closed:
		t.Fatalf("Close() = %v while a handler was running, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)

	if err := receive(t, closed); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}

	if !done.Load() {
		t.Error("Close returned before the handler finished")
	}
}

func TestCloseGivesUpWhenContextEnds(t *testing.T) {
	bus, _ := newBus(t)
	release := make(chan struct{})
	started := make(chan struct{})

	bus.Subscribe("stuck", func(context.Context, events.Event) error {
		close(started)
		<-release

		return nil
	})
	t.Cleanup(func() { close(release) }) // runs before newBus's Close

	if err := bus.Publish(t.Context(), events.Event{Name: "stuck"}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	receive(t, started)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()

	if err := bus.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close(expiring ctx) = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestPublishAfterClose(t *testing.T) {
	bus, _ := newBus(t)
	called := atomic.Bool{}

	bus.Subscribe("late", func(context.Context, events.Event) error {
		called.Store(true)

		return nil
	})
	closeBus(t, bus)

	err := bus.Publish(t.Context(), events.Event{Name: "late"})
	if !errors.IsType(err, errors.TypeUnavailable) || !errors.Is(err, events.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed (unavailable)", err)
	}

	if called.Load() {
		t.Error("an event published after Close reached a handler")
	}
}

// TestConcurrentUse is meant for -race: publishers, subscribers and Close
// run at once; every Publish either succeeds or reports the closed bus.
func TestConcurrentUse(t *testing.T) {
	bus, _ := newBus(t)
	delivered := atomic.Int64{}

	var wg sync.WaitGroup

	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				bus.Subscribe(fmt.Sprintf("e%d", i%3), func(context.Context, events.Event) error {
					delivered.Add(1)

					return nil
				})

				err := bus.Publish(t.Context(), events.Event{Name: fmt.Sprintf("e%d", i%3)})
				if err != nil && !errors.Is(err, events.ErrClosed) {
					t.Errorf("Publish() = %v, want nil or ErrClosed", err)
				}
			}
		})
	}

	wg.Go(func() {
		time.Sleep(time.Millisecond)

		if err := bus.Close(context.Background()); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	wg.Wait()

	before := delivered.Load()

	time.Sleep(10 * time.Millisecond)

	if after := delivered.Load(); after != before {
		t.Errorf("handlers ran after Close returned: %d deliveries, then %d", before, after)
	}
}
