package examples

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"
	"golang.org/x/sync/errgroup"

	"github.com/modulith/modulith/examples/testdata/replica/ledger"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/secrets"
)

const (
	// durableEvents are published by durablePublishers at once, each
	// pausing publishSpacing after each event: about 15 s of load.
	durableEvents     = 1000
	durablePublishers = 10
	publishSpacing    = 150 * time.Millisecond
	// drainWithin bounds the wait for every delivery to be done once the
	// chaos stops; with NATS it must exceed the consumers' AckWait
	// (EVENTS_HANDLER_TIMEOUT + 10 s), after which a message fetched by a
	// killed process comes back.
	drainWithin = 45 * time.Second
)

// TestDurability publishes 1,000 events to two durable subscribers of a
// test module (ledger-a and ledger-b, in examples/testdata/replica) while
// a chaos loop SIGKILLs a random one of three replicas every 1–3 s and
// restarts it, then lets the cluster drain and checks the promise of the
// bus: each subscriber applied every event exactly once (one row per event
// in its table, written through the handler's transaction), and every
// delivery ended delivered. No process may log a panic. With each events
// transport.
//
// The events are published by the test itself, through a bus of its own
// (PublishTx in its own transactions, from several goroutines): what is
// under test is delivery, which the kills interrupt; a publishing
// transaction is atomic, and a publisher that dies only rolls it back.
//
// Neither this test nor its subtests run in parallel: they start a dozen
// processes that keep the CPUs busy. With NATS, the test database's
// stream (a cluster's own, see TestDurabilityTwoClustersOnOneNATSServer)
// is removed at the end.
func TestDurability(t *testing.T) {
	bins := installBinaries(t)

	for _, transport := range []string{events.TransportPostgres, events.TransportNATS} {
		t.Run(transport, func(t *testing.T) { testDurability(t, bins, transport) })
	}
}

func testDurability(t *testing.T, bins binaries, transport string) {
	db := pgtest.NewDatabase(t, append(migrationSources(), ledger.Source())...)
	env, subs := durabilityEnv(t, transport, db)
	c := startCluster(t, bins.replica, env, 3)

	publisher := newLedgerPublisher(t, db.DSN)
	chaos := startChaos(t, c)

	started := time.Now()
	ids := publisher.publish(t, durableEvents)
	published := time.Since(started)

	kills := chaos.stop()
	stopped := time.Now()

	c.awaitReady(t)

	if states, ok := drain(t, db.Pool, subs, len(ids), drainWithin); !ok {
		t.Fatalf("deliveries by state %v, want %d delivered within %v of the chaos stopping; unfinished:\n%s",
			states, len(ids)*len(subs), drainWithin, unfinished(t, db.Pool, subs))
	}

	drained := time.Since(stopped)
	interrupted := 0

	for _, s := range subs {
		a := checkApplied(t, db.Pool, s, ids)
		interrupted += a.rolledBack
		t.Logf("%s: %d rows for %d events published, %d distinct, %d duplicates, %d missing, %d unknown; %d applications rolled back",
			s.Name, a.rows, len(ids), a.distinct, a.duplicates, a.missing, a.unknown, a.rolledBack)
	}

	// Kills that only ever hit idle replicas would prove nothing.
	if kills == 0 || interrupted == 0 {
		t.Errorf("%d kills interrupted %d handlers, want some of each", kills, interrupted)
	}

	t.Logf("%s: %d events published in %v; %d kills and restarts (%d processes in all); drained %v after the chaos stopped",
		transport, len(ids), published.Round(time.Millisecond), kills, c.processCount(), drained.Round(time.Millisecond))
}

// TestDurabilityTwoClustersOnOneNATSServer runs two clusters (two
// databases, one replica each) on one NATS server, as two deployments
// (staging and production) or two test runs sharing it would, with the
// same subscribers, and publishes events in each: each cluster must
// deliver its own. Were the stream or the consumers shared, a replica
// would pull the other cluster's messages, find no delivery row for them
// and terminate them, and the owner's deliveries would stay pending.
func TestDurabilityTwoClustersOnOneNATSServer(t *testing.T) {
	const perCluster = 100

	bins := installBinaries(t)
	subs := ledger.Subscribers()

	var dbs []*pgtest.Database

	for range 2 {
		db := pgtest.NewDatabase(t, append(migrationSources(), ledger.Source())...)
		env, _ := durabilityEnv(t, events.TransportNATS, db)
		startCluster(t, bins.replica, env, 1)

		dbs = append(dbs, db)
	}

	for _, db := range dbs {
		newLedgerPublisher(t, db.DSN).publish(t, perCluster)
	}

	deadline := time.Now().Add(10 * time.Second)

	for i, db := range dbs {
		if states, ok := drain(t, db.Pool, subs, perCluster, time.Until(deadline)); !ok {
			t.Errorf("cluster %d: deliveries by state %v, want %d delivered: the other cluster took its messages and dropped them",
				i+1, states, perCluster*len(subs))
		}
	}
}

// durabilityEnv is the environment of replicas on db, and the ledger
// subscribers. LEDGER_APPLY_DELAY keeps a handler's transaction open for
// 50 ms, so that most kills land in the middle of a batch (each replica is
// busy handling about half the time); a short handler timeout shortens
// NATS's AckWait.
func durabilityEnv(t *testing.T, transport string, db *pgtest.Database) (map[string]string, []ledger.Subscriber) {
	t.Helper()

	env := transportEnv(t, transport, envWith(harnessEnv(db.DSN), "LOG_LEVEL", "info", "DB_MAX_CONNS", "10",
		"LEDGER_APPLY_DELAY", "50ms", "EVENTS_HANDLER_TIMEOUT", "2s"))

	return env, ledger.Subscribers()
}

// ledgerPublisher publishes ledger.entry_recorded through a bus that
// consumes nothing: its outbox rows fan out to the subscribers the
// replicas registered.
type ledgerPublisher struct {
	pool *pgxpool.Pool
	bus  *events.Bus
}

func newLedgerPublisher(t *testing.T, dsn string) *ledgerPublisher {
	t.Helper()

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}

	cfg.MaxConns = durablePublishers + 2

	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	bus, err := events.New(pool, events.Config{
		Transport: events.TransportPostgres, Consume: false, MaxAttempts: 10,
		BackoffBase: time.Second, BackoffMax: time.Minute, Retention: time.Hour,
		Workers: 1, BatchSize: 1, PollInterval: time.Second, HandlerTimeout: time.Second,
	}, secrets.Fixed([]byte(testSecret)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	// Started, the bus's waker NOTIFYs the dispatchers once the
	// publishing transactions commit.
	if err := bus.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = bus.Close(context.Background()) })

	return &ledgerPublisher{pool: pool, bus: bus}
}

// publish publishes n events from durablePublishers goroutines, one
// transaction each, and returns their IDs.
func (p *ledgerPublisher) publish(t *testing.T, n int) []string {
	t.Helper()

	ids := make([]string, n)

	for i := range ids {
		id, err := typeid.WithPrefix(events.IDPrefix)
		if err != nil {
			t.Fatal(err)
		}

		ids[i] = id.String()
	}

	g, ctx := errgroup.WithContext(t.Context())

	for w := range durablePublishers {
		g.Go(func() error {
			for i := w; i < n; i += durablePublishers {
				e := events.Raw{ID: ids[i], Name: ledger.EntryRecorded{}.EventName(), Payload: fmt.Appendf(nil, `{"n": %d}`, i)}
				if err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error { return p.bus.PublishRaw(ctx, tx, e) }); err != nil {
					return fmt.Errorf("publish event %d: %w", i, err)
				}

				time.Sleep(publishSpacing)
			}

			return nil
		})
	}

	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	return ids
}

// drain waits up to d until each of subs has want deliveries, all
// delivered, and reports whether it saw that, with the last count of
// deliveries by state. It gives up at once on a dead delivery.
func drain(t *testing.T, pool *pgxpool.Pool, subs []ledger.Subscriber, want int, d time.Duration) (map[string]int, bool) {
	t.Helper()

	deadline := time.Now().Add(d)

	for {
		states := deliveryStates(t, pool, subs...)
		if states[events.StateDelivered] == want*len(subs) && len(states) == 1 {
			return states, true
		}

		if states[events.StateDead] > 0 || time.Now().After(deadline) {
			return states, false
		}

		time.Sleep(100 * time.Millisecond)
	}
}

// deliveryStates counts the deliveries to subs by state.
func deliveryStates(t *testing.T, pool *pgxpool.Pool, subs ...ledger.Subscriber) map[string]int {
	t.Helper()

	rows, err := pool.Query(t.Context(), `SELECT state, count(*)::int FROM events.deliveries
		WHERE subscriber = ANY($1) GROUP BY state`, subscriberNames(subs))
	if err != nil {
		t.Fatal(err)
	}

	states := map[string]int{}

	var (
		state string
		n     int
	)

	if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		states[state] = n

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	return states
}

// unfinished describes up to 20 deliveries to subs that are not delivered.
func unfinished(t *testing.T, pool *pgxpool.Pool, subs []ledger.Subscriber) string {
	t.Helper()

	rows, err := pool.Query(t.Context(), `SELECT format('%s %s %s attempts=%s published_at=%s error=%s',
			subscriber, event_id, state, attempts, published_at, last_error)
		FROM events.deliveries WHERE subscriber = ANY($1) AND state <> 'delivered' ORDER BY seq LIMIT 20`, subscriberNames(subs))
	if err != nil {
		t.Fatal(err)
	}

	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	return strings.Join(lines, "\n")
}

func subscriberNames(subs []ledger.Subscriber) []string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}

	return names
}

// applied is what a subscriber's table holds against the published IDs.
type applied struct {
	rows, distinct               int
	duplicates, missing, unknown int
	// rolledBack counts the rows inserted in transactions that did not
	// commit (the handlers the kills interrupted): sequence values used
	// but missing from the table.
	rolledBack int
}

// checkApplied checks that s applied each event of ids exactly once and
// nothing else, and that each of its deliveries is delivered.
func checkApplied(t *testing.T, pool *pgxpool.Pool, s ledger.Subscriber, ids []string) applied {
	t.Helper()

	a, missing := tally(appliedCounts(t, pool, s), ids)
	a.rolledBack = sequenceUsed(t, pool, s.Table) - a.rows

	if a.rows != len(ids) || a.duplicates > 0 || a.missing > 0 || a.unknown > 0 {
		t.Errorf("%s applied %d rows for %d events: %d duplicates, %d missing (first: %v), %d unknown; want each event once",
			s.Name, a.rows, len(ids), a.duplicates, a.missing, missing[:min(len(missing), 5)], a.unknown)
	}

	want := map[string]int{events.StateDelivered: len(ids)}
	if diff := cmp.Diff(want, deliveryStates(t, pool, s)); diff != "" {
		t.Errorf("deliveries to %s by state (-want +got):\n%s", s.Name, diff)
	}

	return a
}

// tally compares the rows applied per event ID with the IDs published,
// and returns the IDs missing.
func tally(counts map[string]int, ids []string) (applied, []string) {
	published := make(map[string]bool, len(ids))

	var (
		a       applied
		missing []string
	)

	for _, id := range ids {
		published[id] = true

		if counts[id] == 0 {
			missing = append(missing, id)
		}
	}

	for id, n := range counts {
		a.rows += n
		a.distinct++
		a.duplicates += n - 1

		if !published[id] {
			a.unknown++
		}
	}

	a.missing = len(missing)

	return a, missing
}

// appliedCounts counts the rows s applied by event ID.
func appliedCounts(t *testing.T, pool *pgxpool.Pool, s ledger.Subscriber) map[string]int {
	t.Helper()

	rows, err := pool.Query(t.Context(), "SELECT event_id, count(*)::int FROM "+s.Table+" GROUP BY event_id")
	if err != nil {
		t.Fatal(err)
	}

	counts := map[string]int{}

	var (
		id string
		n  int
	)

	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		counts[id] = n

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	return counts
}

// sequenceUsed is how many values the id sequence of table handed out.
func sequenceUsed(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()

	var last *int64
	if err := pool.QueryRow(t.Context(), `SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)`,
		table).Scan(&last); err != nil {
		t.Fatal(err)
	}

	if last == nil {
		return 0
	}

	return int(*last)
}
