package examples

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/pgtest"
)

// TestServeMigratesEmptyDatabase points the server at an empty database:
// it applies the auth schema before serving, and logs it.
func TestServeMigratesEmptyDatabase(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t) // no migrations applied
	s := runServer(t, harnessEnv(db.DSN))

	if _, err := s.logs.wait(logWait, msgPrefix("migrate: auth 000001_init applied")); err != nil {
		t.Errorf("no \"migrate: auth 000001_init applied\" line in the log:\n%s", s.Logs())
	}

	tok := s.login(t, "first@example.com")
	if r := s.do(t, http.MethodGet, profilePath, nil, tok.Access); r.Status != http.StatusOK {
		t.Errorf("GET %s on the migrated database = %d %s, want 200", profilePath, r.Status, r.Body)
	}
}

// TestMigrateCommandRoundTrip runs `migrate up`, `status`, `down orders`
// and `up` again, as an operator would around a deploy or a rollback
// (orders: a module with one migration, so down leaves it empty).
func TestMigrateCommandRoundTrip(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	env := harnessEnv(db.DSN)

	steps := []struct {
		args   []string
		output string // a regular expression
		tables bool   // whether orders.orders exists afterwards
	}{
		{[]string{"migrate", "up"}, `migrate: orders 000001_init applied`, true},
		{[]string{"migrate", "status"}, `orders\s+000001\s+init\s+applied \d{4}-\d\d-\d\d`, true},
		{[]string{"migrate", "up"}, `migrate: orders is up to date \(version 1\)`, true},
		{[]string{"migrate", "down", "orders"}, `migrate: orders 000001_init reverted`, false},
		{[]string{"migrate", "status"}, `orders\s+000001\s+init\s+pending`, false},
		{[]string{"migrate", "up"}, `migrate: orders 000001_init applied`, true},
	}
	for _, step := range steps {
		out, err := runCommand(t, env, step.args...)
		if err != nil || !regexp.MustCompile(step.output).MatchString(out) {
			t.Fatalf("%s = %v, output:\n%s\nwant output matching %s", strings.Join(step.args, " "), err, out, step.output)
		}

		if got := tableExists(t, db.Pool, "orders.orders"); got != step.tables {
			t.Errorf("after %s: orders.orders exists = %v, want %v", strings.Join(step.args, " "), got, step.tables)
		}
	}
}

func tableExists(t *testing.T, pool *pgxpool.Pool, table string) bool {
	t.Helper()

	var exists bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		t.Fatal(err)
	}

	return exists
}

// TestAdminCommand lists the maintenance tasks and runs cleanup-sessions
// the way a CronJob would.
func TestAdminCommand(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	env := harnessEnv(db.DSN)

	out, err := runCommand(t, env, "admin")
	if err != nil || !strings.Contains(out, "cleanup-sessions") || !strings.Contains(out, "cleanup-magic-codes") {
		t.Fatalf("admin = %v, output:\n%s\nwant cleanup-sessions and cleanup-magic-codes listed", err, out)
	}

	now := time.Now()
	mustExec(t, db.Pool, `INSERT INTO auth.users (id, email, created_at, updated_at) VALUES ('user_ops', 'ops@example.com', $1, $1)`, now)
	mustExec(t, db.Pool, `INSERT INTO auth.sessions (id, user_id, created_at, expires_at) VALUES
		('sess_old', 'user_ops', $1, $2), ('sess_live', 'user_ops', $1, $3)`,
		now.AddDate(0, -2, 0), now.AddDate(0, -1, 0), now.Add(time.Hour))

	if out, err := runCommand(t, env, "admin", "cleanup-sessions"); err != nil {
		t.Fatalf("admin cleanup-sessions = %v, output:\n%s", err, out)
	}

	if left := sessionIDs(t, db.Pool); strings.Join(left, ",") != "sess_live" {
		t.Errorf("sessions after cleanup-sessions = %v, want only sess_live (sess_old expired a month ago)", left)
	}

	if _, err := runCommand(t, env, "admin", "no-such-task"); err == nil {
		t.Error("admin no-such-task succeeded, want an error")
	}
}

func sessionIDs(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()

	rows, err := pool.Query(t.Context(), "SELECT id FROM auth.sessions ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}

	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	return ids
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()

	if _, err := pool.Exec(context.WithoutCancel(t.Context()), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()

	out, err := runCommand(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "server ") {
		t.Errorf("version = %q, %v; want a line starting with \"server \"", out, err)
	}
}

// TestSeedCommand loads the development seed: signing in as
// admin@example.com then gives the admin role.
func TestSeedCommand(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	env := harnessEnv(db.DSN)

	out, err := runCommand(t, env, "seed")
	if err != nil || !strings.Contains(out, "seed: auth 001_dev_admin.sql") {
		t.Fatalf("seed = %v, output:\n%s\nwant seed: auth 001_dev_admin.sql", err, out)
	}

	s := runServer(t, env)
	tok := s.login(t, "admin@example.com")

	r := s.do(t, http.MethodGet, profilePath, nil, tok.Access)
	if user, _ := r.JSON(t)["user"].(map[string]any); user["role"] != "admin" {
		t.Errorf("GET %s as admin@example.com = %d %s, want role admin", profilePath, r.Status, r.Body)
	}
}

// TestEventsCommands lists a dead delivery with `events dead`, gives it up
// with `events discard` (which refuses to run without both arguments), and
// finds nothing left to list or redrive, as the runbook of the
// EventsDeadLetters alert says.
func TestEventsCommands(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	env := harnessEnv(db.DSN)

	mustExec(t, db.Pool, `INSERT INTO events.outbox (id, name, version, payload, occurred_at)
		VALUES ('evt_stuck', 'order.created', 1, '{}', now())`)
	mustExec(t, db.Pool, `INSERT INTO events.deliveries (subscriber, event_id, seq, state, attempts, last_error)
		VALUES ('orders-notifier', 'evt_stuck', 1, 'dead', 10, 'smtp: 550 mailbox unavailable')`)

	if out := eventsCommand(t, env, "dead"); !strings.Contains(out, "evt_stuck") || !strings.Contains(out, "orders-notifier") {
		t.Fatalf("events dead printed:\n%s\nwant the dead delivery listed", out)
	}

	if _, err := runCommand(t, env, "events", "discard", "orders-notifier"); err == nil {
		t.Error("events discard without an event ID succeeded, want an error")
	}

	if out := eventsCommand(t, env, "discard", "orders-notifier", "evt_stuck"); !strings.Contains(out, "discarded 1") {
		t.Fatalf("events discard orders-notifier evt_stuck printed:\n%s\nwant discarded 1", out)
	}

	if out := eventsCommand(t, env, "dead"); strings.Contains(out, "evt_stuck") {
		t.Errorf("events dead after discard printed:\n%s\nwant evt_stuck gone", out)
	}

	if out := eventsCommand(t, env, "redrive"); !strings.Contains(out, "redrove 0") {
		t.Errorf("events redrive after discard printed:\n%s\nwant redrove 0", out)
	}
}

// eventsCommand runs `server events args...`, which must succeed, and
// returns what it printed.
func eventsCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()

	out, err := runCommand(t, env, append([]string{"events"}, args...)...)
	if err != nil {
		t.Fatalf("events %v = %v, output:\n%s", args, err, out)
	}

	return out
}
