package bench

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/natstest"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/secrets"
)

// eventsConfig is the bus configuration the benchmarks run with: the
// defaults, on the transport given (NATS: the tests' server, see
// natstest.URL).
func eventsConfig(b *testing.B, transport string) events.Config {
	b.Helper()

	var natsURL string
	if transport == events.TransportNATS {
		natsURL = natstest.URL(b)
	}

	return events.Config{
		Transport: transport, NATSURL: natsURL, Consume: true,
		MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: 10 * time.Minute, Retention: 168 * time.Hour,
		Workers: 2, BatchSize: 32, PollInterval: time.Second, HandlerTimeout: 30 * time.Second,
	}
}

// eventsDB is a database with the bus's schema and a baseline table.
func eventsDB(b *testing.B) *pgxpool.Pool {
	b.Helper()

	db := pgtest.NewDatabase(b, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})

	pc, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		b.Fatal(err)
	}

	pc.MaxConns = 25

	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(pool.Close)

	_, err = pool.Exec(context.Background(), `CREATE TABLE baseline_events (
		id bigserial PRIMARY KEY, name text NOT NULL, payload jsonb NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now(), done boolean NOT NULL DEFAULT false)`)
	if err != nil {
		b.Fatal(err)
	}

	return pool
}

func newBus(b *testing.B, pool *pgxpool.Pool, transport string) *events.Bus {
	b.Helper()

	bus, err := events.New(pool, eventsConfig(b, transport), secrets.Fixed([]byte(secret)), slog.New(slog.NewTextHandler(io.Discard, nil)),
		natsbus.Transport{})
	if err != nil {
		b.Fatal(err)
	}

	return bus
}

func startBus(b *testing.B, bus *events.Bus) {
	b.Helper()

	if err := bus.Start(context.Background()); err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		_ = bus.Close(ctx)
	})
}

// benchEvent is the typed payload BenchmarkOutboxPublish publishes, the
// size of a typical event.
type benchEvent struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

func (benchEvent) EventName() string { return "bench.published" }

func (benchEvent) EventVersion() int { return 1 }

var benchPayload = benchEvent{UserID: "user_01m7y8sgkde0kr97y8kcjykkyv", Email: "ada@example.com"}

// benchJSON is benchPayload as JSON, the payload of the raw events the
// other benchmarks publish.
var benchJSON = json.RawMessage(`{"user_id": "user_01m7y8sgkde0kr97y8kcjykkyv", "email": "ada@example.com"}`)

// runConcurrently calls fn b.N times from `concurrency` goroutines and
// returns the elapsed time.
func runConcurrently(b *testing.B, fn func(ctx context.Context) error) time.Duration {
	b.Helper()

	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		failure atomic.Value
	)

	b.ResetTimer()

	start := time.Now()

	for range concurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := fn(context.Background()); err != nil {
					failure.Store(err)

					return
				}
			}
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	b.StopTimer()

	if err, ok := failure.Load().(error); ok {
		b.Fatal(err)
	}

	return elapsed
}

// BenchmarkOutboxPublish measures events committed per second, each in its
// own transaction from 16 concurrent publishers (outbox row, delivery row,
// NOTIFY), against a plain INSERT of the same payload per transaction:
// typed (Publish, which validates and encodes the payload, as modules do)
// and raw (PublishRaw of JSON already encoded). Goal: ≥ 5,000 events/s.
func BenchmarkOutboxPublish(b *testing.B) {
	pool := eventsDB(b)
	bus := newBus(b, pool, events.TransportPostgres)

	if err := bus.Subscribe("bench", "bench.published", func(context.Context, events.Raw) error { return nil }); err != nil {
		b.Fatal(err)
	}

	// Register the subscription without consuming, so publishing fans out.
	registerOnly(b, pool)

	var base float64

	b.Run("baseline-insert", func(b *testing.B) {
		elapsed := runConcurrently(b, func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO baseline_events (name, payload) VALUES ($1, $2)`, "bench.published", benchPayload)

				return err
			})
		})
		base = float64(b.N) / elapsed.Seconds()
		b.ReportMetric(base, "events/s")
	})
	b.Run("publish", func(b *testing.B) {
		reportPublishRate(b, pool, base, func(ctx context.Context, tx pgx.Tx) error { return bus.Publish(ctx, tx, benchPayload) })
	})
	b.Run("publish-raw", func(b *testing.B) {
		reportPublishRate(b, pool, base, func(ctx context.Context, tx pgx.Tx) error {
			return bus.PublishRaw(ctx, tx, events.Raw{Name: "bench.published", Payload: benchJSON})
		})
	})
}

// reportPublishRate reports the events per second that publish commits,
// each in a transaction of its own, and the ratio to the baseline.
func reportPublishRate(b *testing.B, pool *pgxpool.Pool, base float64, publish func(context.Context, pgx.Tx) error) {
	b.Helper()

	elapsed := runConcurrently(b, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return publish(ctx, tx) })
	})
	reportRate(b, float64(b.N)/elapsed.Seconds(), base)
}

// registerOnly registers subscriber "bench" for bench.published directly,
// as a process running it would, without starting delivery.
func registerOnly(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()

	_, err := pool.Exec(context.Background(),
		`INSERT INTO events.subscriptions (subscriber, event_name) VALUES ('bench', 'bench.published') ON CONFLICT DO NOTHING`)
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDelivery measures events delivered per second: b.N events are
// stored first, then one process's bus delivers them to a no-op handler.
// On PostgreSQL its dispatchers drain them; the baseline is a hand-written
// SKIP LOCKED queue doing the least a worker can: claim 32 rows, mark them
// done, commit. On NATS the relay publishes them to JetStream and the
// subscriber's consumer handles them; the baseline is bare JetStream moving
// as many messages (publish in acknowledged batches, pull and ack). Goal: ≥
// 2,000 events/s on either transport.
func BenchmarkDelivery(b *testing.B) {
	var pgBase, natsBase float64

	b.Run("baseline-skip-locked", func(b *testing.B) {
		pool := eventsDB(b)
		seedBaseline(b, pool, b.N)
		b.ResetTimer()

		start := time.Now()

		drainBaseline(b, pool)
		pgBase = float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(pgBase, "events/s")
	})
	b.Run("postgres", func(b *testing.B) {
		reportRate(b, measureDelivery(b, events.TransportPostgres), pgBase)
	})
	b.Run("baseline-jetstream", func(b *testing.B) {
		q := newJSQueue(b)
		b.ResetTimer()

		natsBase = jetStreamDelivery(b, q, b.N)
		b.ReportMetric(natsBase, "events/s")
	})
	b.Run("nats", func(b *testing.B) {
		reportRate(b, measureDelivery(b, events.TransportNATS), natsBase)
	})
}

// reportRate reports events per second and, when a baseline ran, the
// ratio to it.
func reportRate(b *testing.B, rate, base float64) {
	b.Helper()
	b.ReportMetric(rate, "events/s")

	if base > 0 {
		b.ReportMetric(rate/base, "x-baseline")
	}
}

// seedBaseline stores n events for the SKIP LOCKED queue, with the partial
// index such a queue needs (as events.deliveries has): without it, each
// claim walks past every row already done, and the baseline slows down
// with b.N.
func seedBaseline(b *testing.B, pool *pgxpool.Pool, n int) {
	b.Helper()

	_, err := pool.Exec(context.Background(), `CREATE INDEX baseline_events_due ON baseline_events (id) WHERE NOT done`)
	if err == nil {
		_, err = pool.Exec(context.Background(),
			`INSERT INTO baseline_events (name, payload) SELECT 'bench', $1 FROM generate_series(1, $2)`, benchPayload, n)
	}

	if err != nil {
		b.Fatal(err)
	}
}

func drainBaseline(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()

	var wg sync.WaitGroup

	for range 2 {
		wg.Go(func() {
			for {
				n := 0

				err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
					tag, err := tx.Exec(context.Background(), `UPDATE baseline_events SET done = true WHERE id IN (
						SELECT id FROM baseline_events WHERE NOT done ORDER BY id LIMIT 32 FOR UPDATE SKIP LOCKED)`)
					n = int(tag.RowsAffected())

					return err
				})
				if err != nil {
					b.Error(err)

					return
				}

				if n == 0 {
					return
				}
			}
		})
	}

	wg.Wait()
}

// measureDelivery publishes b.N events, then starts a bus and times how
// long it takes to handle them all; it returns events per second.
func measureDelivery(b *testing.B, transport string) float64 {
	b.Helper()

	pool := eventsDB(b)
	bus := newBus(b, pool, transport)
	sub := "bench"

	dropStreamAfter(b, pool, transport)

	var handledN atomic.Int64

	done := make(chan struct{})

	err := bus.Subscribe(sub, "bench.delivered", func(context.Context, events.Raw) error {
		if handledN.Add(1) == int64(b.N) {
			close(done)
		}

		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	_, err = pool.Exec(context.Background(),
		`INSERT INTO events.subscriptions (subscriber, event_name) VALUES ($1, 'bench.delivered')`, sub)
	if err != nil {
		b.Fatal(err)
	}

	publishMany(b, pool, bus, "bench.delivered", b.N)
	b.ResetTimer()

	start := time.Now()

	startBus(b, bus)

	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("handled %d of %d events in 5 minutes", handledN.Load(), b.N)
	}

	return float64(b.N) / time.Since(start).Seconds()
}

// publishMany stores n events, 100 per transaction.
func publishMany(b *testing.B, pool *pgxpool.Pool, bus *events.Bus, name string, n int) {
	b.Helper()

	for done := 0; done < n; {
		batch := min(100, n-done)

		err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
			for range batch {
				if err := bus.PublishRaw(context.Background(), tx, events.Raw{Name: name, Payload: benchJSON}); err != nil {
					return err
				}
			}

			return nil
		})
		if err != nil {
			b.Fatal(err)
		}

		done += batch
	}
}

// BenchmarkWakeUp measures the latency from the commit of an event to the
// start of its handler in another goroutine, one event at a time (an idle
// system woken by NOTIFY, not by polling). On PostgreSQL the baseline is a
// bare LISTEN/NOTIFY round trip; on NATS, where the relay is woken the same
// way and then goes through JetStream, it is a bare JetStream publish
// received by a waiting pull. Goal: p99 < 50 ms on either transport.
func BenchmarkWakeUp(b *testing.B) {
	var pgBase, natsBase time.Duration

	b.Run("baseline-listen-notify", func(b *testing.B) {
		pool := eventsDB(b)
		pgBase = reportLatencies(b, notifyRoundTrips(b, pool), 0)
	})
	b.Run("postgres", func(b *testing.B) {
		reportLatencies(b, wakeUps(b, events.TransportPostgres), pgBase)
	})
	b.Run("baseline-jetstream", func(b *testing.B) {
		natsBase = reportLatencies(b, jetStreamRoundTrips(b), 0)
	})
	b.Run("nats", func(b *testing.B) {
		reportLatencies(b, wakeUps(b, events.TransportNATS), natsBase)
	})
}

// reportLatencies reports the median and 99th percentile of lat and, when
// a baseline ran, the ratio of the 99th percentiles; it returns the 99th.
func reportLatencies(b *testing.B, lat []time.Duration, baseP99 time.Duration) time.Duration {
	b.Helper()

	slices.Sort(lat)
	p99 := percentile(lat, 0.99)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")

	if baseP99 > 0 {
		b.ReportMetric(float64(p99)/float64(baseP99), "x-baseline-p99")
	}

	return p99
}

// wakeUps publishes b.N events one by one, each in a transaction of its
// own after the previous was handled, and returns the latencies from the
// publication (until its commit) to the start of the handler.
func wakeUps(b *testing.B, transport string) []time.Duration {
	b.Helper()

	pool := eventsDB(b)
	bus := newBus(b, pool, transport)
	arrived := make(chan time.Time, 1)

	dropStreamAfter(b, pool, transport)

	err := bus.Subscribe("bench", "bench.woken", func(context.Context, events.Raw) error {
		arrived <- time.Now()

		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	startBus(b, bus)
	time.Sleep(100 * time.Millisecond) // let the listener settle

	lat := make([]time.Duration, 0, b.N)

	b.ResetTimer()

	for range b.N {
		sent := time.Now()

		err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
			return bus.PublishRaw(context.Background(), tx, events.Raw{Name: "bench.woken", Payload: benchJSON})
		})
		if err != nil {
			b.Fatal(err)
		}

		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(sent))
		case <-time.After(10 * time.Second):
			b.Fatal("event not handled within 10s")
		}
	}

	return lat
}

// notifyRoundTrips measures from sending a NOTIFY to its receipt by a
// listening connection.
func notifyRoundTrips(b *testing.B, pool *pgxpool.Pool) []time.Duration {
	b.Helper()

	ctx := context.Background()

	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()

	if _, err := conn.Exec(ctx, "LISTEN bench_baseline"); err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, 0, b.N)

	b.ResetTimer()

	for range b.N {
		sent := time.Now()

		if _, err := pool.Exec(ctx, "SELECT pg_notify('bench_baseline', '')"); err != nil {
			b.Fatal(err)
		}

		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			b.Fatal(err)
		}

		lat = append(lat, time.Since(sent))
	}

	return lat
}
