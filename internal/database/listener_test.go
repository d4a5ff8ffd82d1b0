package database_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// wait bounds every wait for the listener.
const wait = 10 * time.Second

// recorder collects what a Listener hands its owner.
type recorder struct {
	listening chan struct{}
	payloads  chan string
}

func newRecorder(l *database.Listener) *recorder {
	r := &recorder{listening: make(chan struct{}, 16), payloads: make(chan string, 16)}
	l.Listening = func() { r.listening <- struct{}{} }
	l.Notified = func(p string) { r.payloads <- p }

	return r
}

func (r *recorder) wantListening(t *testing.T) {
	t.Helper()

	select {
	case <-r.listening:
	case <-time.After(wait):
		t.Fatal("the listener did not listen")
	}
}

func (r *recorder) wantPayload(t *testing.T, want string) {
	t.Helper()

	select {
	case got := <-r.payloads:
		if got != want {
			t.Fatalf("notified %q, want %q", got, want)
		}
	case <-time.After(wait):
		t.Fatalf("no notification %q", want)
	}
}

// newPool opens a pool on dsn configured as the server's are (queries
// cancelled on timeout, which a listener must not inherit).
func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}

	database.CancelQueriesOnTimeout(cfg.ConnConfig)

	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	return pool
}

func notify(t *testing.T, pool *pgxpool.Pool, channel, payload string) {
	t.Helper()

	if _, err := pool.Exec(t.Context(), "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		t.Fatal(err)
	}
}

func newListener(pool *pgxpool.Pool, logger *slog.Logger, channels ...string) *database.Listener {
	return &database.Listener{
		Pool: pool, AppName: "listener-test", Channels: channels,
		Name: "test: listener", Logger: logger,
		MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
	}
}

// Start returns once the listener listens, hands over the notifications of
// every channel in order, and stops at once when its context ends (not
// after the cancel grace pooled connections allow a query).
func TestListenerHandsOverNotifications(t *testing.T) {
	t.Parallel()

	pool := newPool(t, pgtest.NewDatabase(t).DSN)
	l := newListener(pool, slog.New(slog.DiscardHandler), "one", "Two")
	r := newRecorder(l)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	done, err := l.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}

	r.wantListening(t) // before Start returned: nothing sent now is missed

	notify(t, pool, "one", "a")
	notify(t, pool, "Two", "b")
	notify(t, pool, "one", "c")

	for _, want := range []string{"a", "b", "c"} {
		r.wantPayload(t, want)
	}

	cancel()

	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the listener still ran 1s after its context ended")
	}

	var open int
	if err := pool.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'listener-test' AND datname = current_database()",
	).Scan(&open); err != nil {
		t.Fatal(err)
	}

	if open != 0 {
		t.Errorf("%d listener connections left open after it stopped", open)
	}
}

// A lost connection is replaced: the owner hears the listener listen
// again (to catch up), and notifications flow again.
func TestListenerListensAgainAfterConnectionLoss(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	proxy, proxied := pgtest.NewDatabaseProxy(t, db.DSN)
	pool := newPool(t, db.DSN)
	logger, logs := logtest.New(slog.LevelInfo)
	l := newListener(newPool(t, proxied), logger, "events")
	r := newRecorder(l)

	if _, err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	r.wantListening(t)

	proxy.Break()
	time.Sleep(100 * time.Millisecond) // a few attempts fail
	proxy.Restore()

	r.wantListening(t)
	notify(t, pool, "events", "after")
	r.wantPayload(t, "after")

	var lines []string
	for _, e := range logs.Entries() {
		lines = append(lines, e.Message)
	}

	for _, want := range []string{"test: listener lost; listening again", "test: listener listening again"} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("no log line %q in %q", want, lines)
		}
	}
}

// Start fails when the listener cannot listen; Run keeps trying until it
// can.
func TestListenerRunWaitsForTheDatabase(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	proxy, proxied := pgtest.NewDatabaseProxy(t, db.DSN)
	broken := newPool(t, proxied)

	proxy.Break()

	if _, err := newListener(broken, slog.New(slog.DiscardHandler), "events").Start(t.Context()); err == nil ||
		!strings.Contains(err.Error(), "test: listener") {
		t.Fatalf("Start() on a broken database = %v, want an error naming the listener", err)
	}

	logger, logs := logtest.New(slog.LevelInfo)
	l := newListener(broken, logger, "events")
	r := newRecorder(l)

	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})

	go func() {
		defer close(ran)

		l.Run(ctx)
	}()

	deadline := time.Now().Add(wait)
	for len(logs.Entries()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("log lines %v, want attempts to listen", logs.Entries())
		}

		time.Sleep(10 * time.Millisecond)
	}

	proxy.Restore()
	r.wantListening(t)
	notify(t, newPool(t, db.DSN), "events", "late")
	r.wantPayload(t, "late")

	cancel()

	select {
	case <-ran:
	case <-time.After(time.Second):
		t.Fatal("Run still ran 1s after its context ended")
	}

	if got := logs.Entries()[0].Message; got != "test: listener cannot listen yet" {
		t.Errorf("first log line %q, want the failed attempt", got)
	}
}
