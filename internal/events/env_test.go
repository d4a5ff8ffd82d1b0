package events_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/testutil"
)

// waitTimeout bounds every wait on the bus, so that a broken bus fails the
// test instead of hanging it.
const waitTimeout = 15 * time.Second

// sealKey keys the sealing of event secrets in these tests.
var sealKey = []byte("events-test-key-0123456789abcdef")

// fastConfig polls, retries and gives up quickly.
func fastConfig() events.Config {
	return events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 5,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Retention: time.Hour,
		Workers: 2, BatchSize: 4, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func nopHandler(context.Context, events.Event) error { return nil }

// pgEnv is a test's own database with the events schema migrated.
type pgEnv struct {
	t    *testing.T
	dsn  string
	pool *pgxpool.Pool
}

func newPGEnv(t *testing.T) *pgEnv {
	t.Helper()

	db := testutil.NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})

	return &pgEnv{t: t, dsn: db.DSN, pool: openPool(t, db.DSN, 8)}
}

// openPool opens a pool of its own on dsn, as another replica would.
func openPool(t *testing.T, dsn string, maxConns int32) *pgxpool.Pool {
	t.Helper()

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}

	cfg.MaxConns = maxConns

	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	return pool
}

// newBus returns a bus on the environment's pool; the test starts it.
func (env *pgEnv) newBus(cfg events.Config) *events.Bus {
	env.t.Helper()

	bus, err := events.New(env.pool, cfg, sealKey, discardLogger())
	if err != nil {
		env.t.Fatalf("New() = %v", err)
	}

	return bus
}

func subscribe(t *testing.T, bus *events.Bus, subscriber, event string, h events.Handler) {
	t.Helper()

	if err := bus.Subscribe(subscriber, event, h); err != nil {
		t.Fatalf("Subscribe(%s, %s) = %v", subscriber, event, err)
	}
}

func newEventID(t *testing.T) string {
	t.Helper()

	id, err := typeid.WithPrefix(events.IDPrefix)
	if err != nil {
		t.Fatal(err)
	}

	return id.String()
}

func (env *pgEnv) publish(bus *events.Bus, e events.Event) {
	env.t.Helper()

	if err := bus.Publish(env.t.Context(), e); err != nil {
		env.t.Fatalf("Publish(%s %s) = %v", e.Name, e.ID, err)
	}
}

func (env *pgEnv) scan(dest []any, sql string, args ...any) {
	env.t.Helper()

	if err := env.pool.QueryRow(env.t.Context(), sql, args...).Scan(dest...); err != nil {
		env.t.Fatalf("%s: %v", sql, err)
	}
}

func (env *pgEnv) exec(sql string, args ...any) {
	env.t.Helper()

	if _, err := env.pool.Exec(env.t.Context(), sql, args...); err != nil {
		env.t.Fatalf("%s: %v", sql, err)
	}
}

func (env *pgEnv) count(sql string, args ...any) int {
	env.t.Helper()

	var n int
	env.scan([]any{&n}, sql, args...)

	return n
}

// secret returns the sealed secret stored with an event (nil once erased).
func (env *pgEnv) secret(eventID string) []byte {
	env.t.Helper()

	var sealed []byte
	env.scan([]any{&sealed}, "SELECT secret FROM events.outbox WHERE id = $1", eventID)

	return sealed
}

// deliveries lists "subscriber state" of an event's deliveries.
func (env *pgEnv) deliveries(eventID string) []string {
	env.t.Helper()

	rows, err := env.pool.Query(env.t.Context(),
		"SELECT subscriber || ' ' || state FROM events.deliveries WHERE event_id = $1 ORDER BY subscriber", eventID)
	if err != nil {
		env.t.Fatal(err)
	}

	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		env.t.Fatal(err)
	}

	return out
}

// deliveryRow is the state of one delivery.
type deliveryRow struct {
	State     string
	Attempts  int
	LastError string
	// Deferred: the next attempt is due after the last update.
	Deferred bool
}

func (env *pgEnv) delivery(subscriber, eventID string) deliveryRow {
	env.t.Helper()

	var d deliveryRow
	env.scan([]any{&d.State, &d.Attempts, &d.LastError, &d.Deferred},
		`SELECT state, attempts, coalesce(last_error, ''), next_attempt_at > updated_at
		FROM events.deliveries WHERE subscriber = $1 AND event_id = $2`, subscriber, eventID)

	return d
}

// awaitState waits until a delivery reaches state and returns it.
func (env *pgEnv) awaitState(subscriber, eventID, state string) deliveryRow {
	env.t.Helper()

	var d deliveryRow

	eventually(env.t, "delivery "+subscriber+"/"+eventID+" "+state, func() bool {
		d = env.delivery(subscriber, eventID)

		return d.State == state
	})

	return d
}

// eventually waits up to waitTimeout for cond, and fails the test without.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()

	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitTimeout, what)
		}

		time.Sleep(20 * time.Millisecond)
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()

	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("nothing received within %v", waitTimeout)

		var zero T

		return zero
	}
}

// sink records the events a handler receives.
type sink struct {
	ch chan events.Event
}

func newSink() *sink { return &sink{ch: make(chan events.Event, 1024)} }

func (s *sink) handle(_ context.Context, e events.Event) error {
	s.ch <- e

	return nil
}

func (s *sink) next(t *testing.T) events.Event {
	t.Helper()

	return receive(t, s.ch)
}

// none checks that nothing more arrives within d.
func (s *sink) none(t *testing.T, d time.Duration) {
	t.Helper()

	select {
	case e := <-s.ch:
		t.Errorf("handled %s %s, want nothing", e.Name, e.ID)
	case <-time.After(d):
	}
}
