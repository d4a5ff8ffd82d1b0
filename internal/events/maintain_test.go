package events_test

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/testutil"
)

// registered returns an unstarted bus whose subscriptions mailer and
// auditor of order.placed are registered by a bus that started and closed
// (its maintenance, which purges at start, is over).
func (env *pgEnv) registered(cfg events.Config) *events.Bus {
	env.t.Helper()

	registrar := env.newBus(cfg)
	subscribe(env.t, registrar, "mailer", "order.placed", nopHandler)
	subscribe(env.t, registrar, "auditor", "order.placed", nopHandler)

	if err := registrar.Start(env.t.Context()); err != nil {
		env.t.Fatal(err)
	}

	if err := registrar.Close(env.t.Context()); err != nil {
		env.t.Fatal(err)
	}

	return env.newBus(cfg)
}

// age makes events look created two retention periods ago.
func (env *pgEnv) age(ids ...string) {
	env.t.Helper()

	env.exec("UPDATE events.outbox SET created_at = now() - 2 * $2::interval WHERE id = ANY($1)", ids, fastConfig().Retention)
}

func (env *pgEnv) strings(sql string, args ...any) []string {
	env.t.Helper()

	rows, err := env.pool.Query(env.t.Context(), sql, args...)
	if err != nil {
		env.t.Fatal(err)
	}

	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		env.t.Fatal(err)
	}

	return out
}

func TestPurgeDeletesOnlyDeliveredEventsPastRetention(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.registered(fastConfig())

	ids := map[string]string{}
	for _, name := range []string{"old delivered", "recent delivered", "old dead", "old pending", "old half dead"} {
		ids[name] = newEventID(t)
		env.publish(bus, events.Event{ID: ids[name], Name: "order.placed"})
	}

	env.exec("UPDATE events.deliveries SET state = 'delivered' WHERE event_id = ANY($1)",
		[]string{ids["old delivered"], ids["recent delivered"], ids["old half dead"]})
	env.exec("UPDATE events.deliveries SET state = 'dead' WHERE event_id = $1 OR (event_id = $2 AND subscriber = 'mailer')",
		ids["old dead"], ids["old half dead"])
	env.age(ids["old delivered"], ids["old dead"], ids["old pending"], ids["old half dead"])
	env.exec(`INSERT INTO events.processed (subscriber, event_id, processed_at)
		VALUES ('mailer', 'evt_old', now() - interval '2 hours'), ('mailer', 'evt_recent', now())`)

	if n, err := bus.Purge(t.Context()); n != 1 || err != nil {
		t.Errorf("Purge() = %d, %v; want 1 (old delivered)", n, err)
	}

	want := []string{ids["old dead"], ids["old half dead"], ids["old pending"], ids["recent delivered"]}
	if diff := cmp.Diff(sorted(want), env.strings("SELECT id FROM events.outbox ORDER BY id")); diff != "" {
		t.Errorf("events kept (-want +got):\n%s", diff)
	}

	if n := env.count("SELECT count(*) FROM events.deliveries WHERE event_id = $1", ids["old delivered"]); n != 0 {
		t.Errorf("deliveries of the purged event = %d, want 0", n)
	}

	if diff := cmp.Diff([]string{"evt_recent"}, env.strings("SELECT event_id FROM events.processed")); diff != "" {
		t.Errorf("idempotency records kept (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)

	return out
}

func TestAdminTasks(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	cfg := fastConfig()
	cfg.MaxAttempts = 1

	bus := env.newBus(cfg)
	subscribe(t, bus, "mailer", "order.placed", func(context.Context, events.Event) error { return errBoom })
	subscribe(t, bus, "auditor", "order.shipped", nopHandler)
	testutil.StartBus(t, bus)

	dead, done := events.Event{ID: newEventID(t), Name: "order.placed"}, events.Event{ID: newEventID(t), Name: "order.shipped"}
	env.publish(bus, dead)
	env.publish(bus, done)
	env.awaitState("mailer", dead.ID, events.StateDead)
	env.awaitState("auditor", done.ID, events.StateDelivered)

	// Stopped, the bus leaves the rows to the tasks.
	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	env.age(done.ID)

	var out bytes.Buffer

	tasks := adminTasks(t, bus, &out)

	checkContains(t, "events-dead-letters", runTask(t, tasks, "events-dead-letters", &out),
		"mailer", dead.ID, "order.placed", "boom", "1 dead letter(s)")
	checkContains(t, "events-redrive", runTask(t, tasks, "events-redrive", &out), "redrove 1 delivery(ies)")

	if got := env.delivery("mailer", dead.ID); got.State != events.StatePending || got.Attempts != 0 {
		t.Errorf("delivery after events-redrive = %+v, want pending with no attempts", got)
	}

	got := runTask(t, tasks, "events-purge", &out)
	if !regexp.MustCompile(`^purged 1 event\(s\), erased \d+ secret\(s\)\n$`).MatchString(got) {
		t.Errorf("events-purge wrote %q, want one event purged", got)
	}

	if n := env.count("SELECT count(*) FROM events.outbox WHERE id = $1", done.ID); n != 0 {
		t.Errorf("outbox rows of the old delivered event after events-purge = %d, want 0", n)
	}
}

func adminTasks(t *testing.T, bus *events.Bus, out *bytes.Buffer) map[string]admin.Task {
	t.Helper()

	tasks := map[string]admin.Task{}

	for _, task := range bus.AdminTasks(out) {
		if task.Description() == "" {
			t.Errorf("task %s has no description", task.Name())
		}

		tasks[task.Name()] = task
	}

	if len(tasks) != 3 {
		t.Fatalf("AdminTasks() = %d distinct tasks, want 3", len(tasks))
	}

	return tasks
}

// runTask runs the task named name and returns what it wrote to out.
func runTask(t *testing.T, tasks map[string]admin.Task, name string, out *bytes.Buffer) string {
	t.Helper()

	task, ok := tasks[name]
	if !ok {
		t.Fatalf("no task %s", name)
	}

	out.Reset()

	if err := task.Execute(t.Context()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}

	return out.String()
}

func checkContains(t *testing.T, what, got string, want ...string) {
	t.Helper()

	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want %q in it", what, got, w)
		}
	}
}

// TestEraseSecretsWaitsForEveryDelivery: a secret stays while any delivery
// of its event may still run (pending, or failed and due again), and goes
// once they all ended, dead included.
func TestEraseSecretsWaitsForEveryDelivery(t *testing.T) {
	t.Parallel()

	env := newPGEnv(t)
	bus := env.registered(fastConfig())

	retrying, dead := newEventID(t), newEventID(t)
	for _, id := range []string{retrying, dead} {
		env.publish(bus, events.Event{ID: id, Name: "order.placed", Secret: events.CodeSecret("918273")})
	}

	env.exec("UPDATE events.deliveries SET state = 'delivered' WHERE subscriber = 'auditor'")
	env.exec("UPDATE events.deliveries SET state = 'failed', attempts = 1 WHERE subscriber = 'mailer' AND event_id = $1", retrying)
	env.exec("UPDATE events.deliveries SET state = 'dead', attempts = 5 WHERE subscriber = 'mailer' AND event_id = $1", dead)

	if n, err := bus.EraseSecrets(t.Context()); n != 1 || err != nil {
		t.Errorf("EraseSecrets() = %d, %v; want 1 (the dead event's)", n, err)
	}

	if env.secret(retrying) == nil || env.secret(dead) != nil {
		t.Errorf("after EraseSecrets, secret of the retrying event %q and of the dead one %q; want kept, erased",
			env.secret(retrying), env.secret(dead))
	}
}
