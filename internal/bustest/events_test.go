package bustest

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
)

// startCollector returns a started bus on a database of its own, and a
// collector of the events named names on it.
func startCollector(t *testing.T, names ...string) (*DB, *events.Bus, *Collector) {
	t.Helper()

	db := NewDB(t)
	bus := NewBus(t, db.Pool, FastConfig())
	c := NewCollector()

	if err := c.Subscribe(bus, names...); err != nil {
		t.Fatalf("Subscribe(%q) = %v", names, err)
	}

	Start(t, bus)

	return db, bus, c
}

func TestCollector(t *testing.T) {
	t.Parallel()

	db, bus, c := startCollector(t, "a.happened", "b.happened")
	db.PublishRaw(bus, events.Raw{Name: "a.happened"}, events.Raw{Name: "b.happened"},
		events.Raw{Name: "c.happened"}, events.Raw{Name: "a.happened"})

	first, second := wait(t, c, "a.happened"), wait(t, c, "a.happened")
	if first.ID == "" || first.ID == second.ID {
		t.Errorf("WaitForEvent(a.happened) twice = %q and %q, want the two events", first.ID, second.ID)
	}

	wait(t, c, "b.happened")

	for _, name := range []string{"a.happened", "c.happened"} {
		if _, err := c.WaitForEvent(name, 200*time.Millisecond); !errors.Is(err, ErrNoEvent) {
			t.Errorf("WaitForEvent(%s) with none left = %v, want ErrNoEvent", name, err)
		}
	}

	var names []string
	for _, e := range c.AllEvents() {
		names = append(names, e.Name)
	}

	// Delivery order across names is not specified: the count only.
	if len(names) != 3 {
		t.Errorf("AllEvents() = %q, want 3 events (c.happened is not subscribed)", names)
	}
}

func TestCollectorSubscribeTwice(t *testing.T) {
	t.Parallel()

	bus := NewBus(t, nil, FastConfig())

	if err := NewCollector().Subscribe(bus, "a.happened", "a.happened"); err == nil {
		t.Error("Subscribe(a.happened twice) = nil, want the duplicate refused")
	}
}

func wait(t *testing.T, c *Collector, name string) events.Raw {
	t.Helper()

	e, err := c.WaitForEvent(name, WaitTimeout)
	if err != nil {
		t.Fatal(err)
	}

	return e
}

func TestCollectorWaitsForLaterEvent(t *testing.T) {
	t.Parallel()

	db, bus, c := startCollector(t, "user.created")
	published := make(chan error, 1)

	go func() {
		time.Sleep(50 * time.Millisecond)

		published <- PublishRaw(t.Context(), db.Pool, bus, events.Raw{Name: "user.created", Payload: json.RawMessage(`{"n":1}`)})
	}()

	e, err := c.WaitForEvent("user.created", WaitTimeout)
	if err != nil {
		t.Fatalf("WaitForEvent(user.created) = %v, want the event published later", err)
	}

	var payload map[string]any
	if err := json.Unmarshal(e.Payload, &payload); err != nil || !cmp.Equal(map[string]any{"n": float64(1)}, payload) {
		t.Errorf("WaitForEvent(user.created) payload = %s (%v), want {\"n\":1}", e.Payload, err)
	}

	if err := <-published; err != nil {
		t.Errorf("PublishRaw() = %v", err)
	}
}

// codeSent is a typed event with a sealed field.
type codeSent struct {
	To   string `json:"to"`
	Code string `json:"-"  secret:"code"`
}

func (codeSent) EventName() string { return "code.sent" }
func (codeSent) EventVersion() int { return 2 }

func TestWait(t *testing.T) {
	t.Parallel()

	db, bus, c := startCollector(t, codeSent{}.EventName())
	db.Publish(bus, codeSent{To: "ada@example.com", Code: "123456"})

	e := Wait[codeSent](t, c, WaitTimeout)

	if diff := cmp.Diff(codeSent{To: "ada@example.com", Code: "123456"}, e.Payload); diff != "" {
		t.Errorf("Wait[codeSent]() payload mismatch (-want +got):\n%s", diff)
	}

	if e.ID == "" || e.Name != "code.sent" || e.Version != 2 || e.Attempt != 1 || e.OccurredAt.IsZero() {
		t.Errorf("Wait[codeSent]() = %+v, want the event's ID, name, version 2, attempt 1 and time", e)
	}
}

func TestWaitFailsTheTest(t *testing.T) {
	t.Parallel()

	db, bus, c := startCollector(t, codeSent{}.EventName())

	if msg := fatalOf(t, func(tb testing.TB) { Wait[codeSent](tb, c, 100*time.Millisecond) }); msg == "" {
		t.Error("Wait() with no event did not fail the test")
	}

	// An older version than codeSent's does not decode.
	db.PublishRaw(bus, events.Raw{Name: "code.sent", Version: 1, Payload: json.RawMessage(`{"to":"x"}`)})

	if msg := fatalOf(t, func(tb testing.TB) { Wait[codeSent](tb, c, WaitTimeout) }); !strings.Contains(msg, "decode") {
		t.Errorf("Wait() of an event that does not decode failed with %q, want the test failed on decoding", msg)
	}
}

func TestStartClosesAtTestEnd(t *testing.T) {
	t.Parallel()

	db := NewDB(t)
	bus := NewBus(t, db.Pool, FastConfig())

	t.Run("running", func(t *testing.T) {
		Start(t, bus)

		if err := PublishRaw(t.Context(), db.Pool, bus, events.Raw{Name: "a.happened"}); err != nil {
			t.Errorf("PublishRaw() on the started bus = %v", err)
		}
	})

	if err := PublishRaw(t.Context(), db.Pool, bus, events.Raw{Name: "a.happened"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("PublishRaw() after the test that started the bus ended = %v, want ErrClosed", err)
	}
}

// fatalOf runs f with a testing.TB whose Fatal stops f's goroutine, and
// returns the fatal message ("" if f finished).
func fatalOf(t *testing.T, f func(testing.TB)) string {
	t.Helper()

	r := &fatalRecorder{TB: t}
	done := make(chan struct{})

	go func() {
		defer close(done)

		f(r)
	}()

	<-done

	return r.msg
}

type fatalRecorder struct {
	testing.TB

	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)

	runtime.Goexit()
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)

	runtime.Goexit()
}
