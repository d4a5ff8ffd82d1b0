package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/secrets"
)

// WaitTimeout bounds every wait of these helpers on a bus, so that a
// broken bus fails the test instead of hanging it.
const WaitTimeout = 15 * time.Second

// sealKey keys the sealing of event secrets on the buses NewBus makes.
var sealKey = secrets.Fixed([]byte("bustest-seal-key-0123456789abcdef"))

// FastConfig is a configuration of the PostgreSQL transport that polls,
// retries and gives up quickly: a test sees retries and dead deliveries
// within a second.
func FastConfig() events.Config {
	return events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 5,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Retention: time.Hour,
		Workers: 2, BatchSize: 4, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}
}

// FastEnv is FastConfig as the environment variables of the "events"
// configuration section, for tests that configure a whole platform
// (moduletest.Options.Env).
func FastEnv() map[string]string {
	c := FastConfig()

	return map[string]string{
		"EVENTS_TRANSPORT": c.Transport, "EVENTS_CONSUME": strconv.FormatBool(c.Consume),
		"EVENTS_MAX_ATTEMPTS": strconv.Itoa(c.MaxAttempts),
		"EVENTS_BACKOFF_BASE": c.BackoffBase.String(), "EVENTS_BACKOFF_MAX": c.BackoffMax.String(),
		"EVENTS_RETENTION": c.Retention.String(), "EVENTS_WORKERS": strconv.Itoa(c.Workers),
		"EVENTS_BATCH_SIZE": strconv.Itoa(c.BatchSize), "EVENTS_POLL_INTERVAL": c.PollInterval.String(),
		"EVENTS_HANDLER_TIMEOUT": c.HandlerTimeout.String(),
	}
}

// NewBus returns a bus on pool (nil for a bus that never starts) with cfg
// and transports, a test key for event secrets and its logs discarded.
// The test starts it (Start).
func NewBus(t testing.TB, pool *pgxpool.Pool, cfg events.Config, transports ...events.Transport) *events.Bus {
	t.Helper()

	bus, err := events.New(pool, cfg, sealKey, slog.New(slog.DiscardHandler), transports...)
	if err != nil {
		t.Fatalf("bustest: new bus: %v", err)
	}

	return bus
}

// Subscribe subscribes h to the events named name on bus, as subscriber,
// and fails the test on error.
func Subscribe(t testing.TB, bus *events.Bus, subscriber, name string, h events.Handler) {
	t.Helper()

	if err := bus.Subscribe(subscriber, name, h); err != nil {
		t.Fatalf("Subscribe(%s, %s) = %v", subscriber, name, err)
	}
}

// Close closes bus, waiting up to WaitTimeout for its running handlers,
// and fails the test on error.
func Close(t testing.TB, bus *events.Bus) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()

	if err := bus.Close(ctx); err != nil {
		t.Errorf("bustest: close bus: %v", err)
	}
}

// NewEventID returns a new event ID, for a raw event whose ID the test
// needs before it is published.
func NewEventID(t testing.TB) string {
	t.Helper()

	id, err := typeid.WithPrefix(events.IDPrefix)
	if err != nil {
		t.Fatal(err)
	}

	return id.String()
}

// Labelled is the payload of a raw event that handlers tell apart by a
// label (LabelOf).
func Labelled(label string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"label": %q}`, label))
}

// LabelOf returns the label of an event published with Labelled.
func LabelOf(e events.Raw) (string, error) {
	var p struct {
		Label string `json:"label"`
	}

	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return "", fmt.Errorf("label of %s: %w", e.ID, err)
	}

	return p.Label, nil
}

// Eventually waits up to WaitTimeout for cond, and fails the test saying
// what it waited for when cond stays false.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()

	if !await(cond) {
		t.Fatalf("waited %v for %s", WaitTimeout, what)
	}
}

// await polls cond for up to WaitTimeout and reports whether it held.
func await(cond func() bool) bool {
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}

		time.Sleep(20 * time.Millisecond)
	}

	return true
}

// Receive returns the next value from ch, and fails the test when none
// arrives within WaitTimeout.
func Receive[T any](t testing.TB, ch <-chan T) T {
	t.Helper()

	select {
	case v := <-ch:
		return v
	case <-time.After(WaitTimeout):
		t.Fatalf("nothing received within %v", WaitTimeout)

		var zero T

		return zero
	}
}

// Runs records handler runs in order; handlers may add to it concurrently.
type Runs struct {
	mu   sync.Mutex
	runs []string
}

// Add records run.
func (r *Runs) Add(run string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.runs = append(r.runs, run)
}

// All returns the runs recorded so far, in order.
func (r *Runs) All() []string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]string(nil), r.runs...)
}
