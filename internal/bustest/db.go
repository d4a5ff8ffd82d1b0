package bustest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

// poolMaxConns sizes the pools of DB: a bus holds a connection per busy
// worker, besides its listener, maintenance and the test's own queries.
const poolMaxConns = 8

// DB is a test's own database with the event bus's schema. Its methods
// publish in transactions of their own and read what the bus stored; they
// fail the test that made the DB on any error.
type DB struct {
	// Pool is the test's pool on the database; DSN opens others.
	Pool *pgxpool.Pool
	DSN  string

	t testing.TB
}

// NewDB returns a new database with the migrations of the events schema
// and of sources (registry.MigrationSources(modules) for modules' own;
// the events schema is migrated once), dropped when the test ends.
func NewDB(t testing.TB, sources ...migration.Source) *DB {
	t.Helper()

	all := []migration.Source{{Module: events.SchemaName, Migrations: events.Migrations()}}

	for _, s := range sources {
		if s.Module != events.SchemaName {
			all = append(all, s)
		}
	}

	db := &DB{DSN: pgtest.NewDatabase(t, all...).DSN, t: t}
	db.Pool = db.NewPool(poolMaxConns)

	return db
}

// NewPool opens a pool of its own on the database, as another replica
// would, closed when the test ends.
func (db *DB) NewPool(maxConns int32) *pgxpool.Pool {
	db.t.Helper()

	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		db.t.Fatal(err)
	}

	cfg.MaxConns = maxConns

	pool, err := pgxpool.NewWithConfig(db.t.Context(), cfg)
	if err != nil {
		db.t.Fatal(err)
	}

	db.t.Cleanup(pool.Close)

	return pool
}

// PublishRaw publishes raws through bus in one transaction of its own on
// pool.
func PublishRaw(ctx context.Context, pool *pgxpool.Pool, bus *events.Bus, raws ...events.Raw) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, e := range raws {
			if err := bus.PublishRaw(ctx, tx, e); err != nil {
				return err
			}
		}

		return nil
	})
	if err != nil {
		return fmt.Errorf("publish raw: %w", err)
	}

	return nil
}

// Publish publishes p through bus in a transaction of its own on pool.
func Publish(ctx context.Context, pool *pgxpool.Pool, bus *events.Bus, p events.Payload) error {
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return bus.Publish(ctx, tx, p) }); err != nil {
		return fmt.Errorf("publish: %w", err)
	}

	return nil
}

// PublishConcurrently publishes n events named name from 10 goroutines,
// through every one of buses in turn, each in a transaction of its own on
// pool; the payload of the i-th is Labelled(i).
func PublishConcurrently(t testing.TB, pool *pgxpool.Pool, buses []*events.Bus, name string, n int) {
	t.Helper()

	var wg sync.WaitGroup

	errs := make(chan error, n)

	for g := range 10 {
		wg.Go(func() {
			for i := g; i < n; i += 10 {
				errs <- PublishRaw(t.Context(), pool, buses[i%len(buses)], events.Raw{Name: name, Payload: Labelled(strconv.Itoa(i))})
			}
		})
	}

	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Fatalf("PublishRaw() = %v", err)
		}
	}
}

// PublishRaw publishes raws through bus in one transaction of its own.
func (db *DB) PublishRaw(bus *events.Bus, raws ...events.Raw) {
	db.t.Helper()

	if err := PublishRaw(db.t.Context(), db.Pool, bus, raws...); err != nil {
		db.t.Fatalf("PublishRaw(%d events) = %v", len(raws), err)
	}
}

// Publish publishes p through bus in a transaction of its own.
func (db *DB) Publish(bus *events.Bus, p events.Payload) {
	db.t.Helper()

	if err := Publish(db.t.Context(), db.Pool, bus, p); err != nil {
		db.t.Fatalf("Publish(%s) = %v", p.EventName(), err)
	}
}

// Exec runs sql.
func (db *DB) Exec(sql string, args ...any) {
	db.t.Helper()

	if _, err := db.Pool.Exec(db.t.Context(), sql, args...); err != nil {
		db.t.Fatalf("%s: %v", sql, err)
	}
}

// Scan scans the one row sql returns into dest.
func (db *DB) Scan(dest []any, sql string, args ...any) {
	db.t.Helper()

	if err := db.Pool.QueryRow(db.t.Context(), sql, args...).Scan(dest...); err != nil {
		db.t.Fatalf("%s: %v", sql, err)
	}
}

// Count returns the number sql selects, as in SELECT count(*) ….
func (db *DB) Count(sql string, args ...any) int {
	db.t.Helper()

	var n int
	db.Scan([]any{&n}, sql, args...)

	return n
}

// EventWithKey returns the ID of the one event stored with ordering key
// key: the ID of a typed event, which the bus draws.
func (db *DB) EventWithKey(key string) string {
	db.t.Helper()

	var id string
	db.Scan([]any{&id}, "SELECT id FROM events.outbox WHERE ordering_key = $1", key)

	return id
}

// Delivery is the state of the delivery of an event to a subscriber.
type Delivery struct {
	EventID string
	// OrderingKey is the event's, "" for none.
	OrderingKey string
	State       string
	Attempts    int
	LastError   string
	// Deferred: the next attempt is due after the last update (a retry
	// waits for its backoff).
	Deferred bool
}

// deliveriesSQL selects the fields of Delivery, in their order.
const deliveriesSQL = `SELECT d.event_id, coalesce(o.ordering_key, ''), d.state, d.attempts,
	coalesce(d.last_error, ''), d.next_attempt_at > d.updated_at
	FROM events.deliveries d JOIN events.outbox o ON o.id = d.event_id
	WHERE d.subscriber = $1`

// Delivery returns the delivery of event eventID to subscriber.
func (db *DB) Delivery(subscriber, eventID string) Delivery {
	db.t.Helper()

	ds := db.queryDeliveries(deliveriesSQL+" AND d.event_id = $2", subscriber, eventID)
	if len(ds) != 1 {
		db.t.Fatalf("deliveries of %s to %s = %+v, want one", eventID, subscriber, ds)
	}

	return ds[0]
}

// AwaitState waits until the delivery of event eventID to subscriber is in
// state, and returns it.
func (db *DB) AwaitState(subscriber, eventID, state string) Delivery {
	db.t.Helper()

	var d Delivery

	ok := await(func() bool {
		d = db.Delivery(subscriber, eventID)

		return d.State == state
	})
	if !ok {
		db.t.Fatalf("delivery %s/%s = %+v after %v, want %s", subscriber, eventID, d, WaitTimeout, state)
	}

	return d
}

// AwaitFinished waits until subscriber has n deliveries, all finished
// (delivered or dead), and returns them in publication order.
func (db *DB) AwaitFinished(subscriber string, n int) []Delivery {
	db.t.Helper()

	var got []Delivery

	ok := await(func() bool {
		got = db.queryDeliveries(deliveriesSQL+" ORDER BY d.seq", subscriber)

		return len(got) == n && finished(got)
	})
	if !ok {
		db.t.Fatalf("deliveries to %s = %+v after %v, want %d finished", subscriber, got, WaitTimeout, n)
	}

	return got
}

func (db *DB) queryDeliveries(sql string, args ...any) []Delivery {
	db.t.Helper()

	rows, err := db.Pool.Query(db.t.Context(), sql, args...)
	if err != nil {
		db.t.Fatalf("%s: %v", sql, err)
	}

	ds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Delivery])
	if err != nil {
		db.t.Fatalf("%s: %v", sql, err)
	}

	return ds
}

func finished(deliveries []Delivery) bool {
	for _, d := range deliveries {
		if d.State != events.StateDelivered && d.State != events.StateDead {
			return false
		}
	}

	return true
}

// CreateEffects creates the table RecordEffect writes to, in a schema of
// its own.
func (db *DB) CreateEffects() {
	db.t.Helper()

	db.Exec(`CREATE SCHEMA fx; CREATE TABLE fx.effects (event_id text NOT NULL, attempt int NOT NULL)`)
}

// RecordEffect is a handler that writes an effect (the event's ID and
// attempt) through the handler's transaction (events.Tx): the effect stays
// if and only if the delivery's outcome commits. The test calls
// CreateEffects first.
func RecordEffect(ctx context.Context, e events.Raw) error {
	tx, ok := events.Tx(ctx)
	if !ok {
		return errors.New("no transaction in the handler's context")
	}

	if _, err := tx.Exec(ctx, "INSERT INTO fx.effects VALUES ($1, $2)", e.ID, e.Attempt); err != nil {
		return fmt.Errorf("record effect: %w", err)
	}

	return nil
}

// Effects returns the attempts that left an effect (RecordEffect) for
// event eventID, in order.
func (db *DB) Effects(eventID string) []int {
	db.t.Helper()

	var attempts []int
	db.Scan([]any{&attempts}, "SELECT coalesce(array_agg(attempt ORDER BY attempt), '{}') FROM fx.effects WHERE event_id = $1", eventID)

	return attempts
}
