package events_test

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

// registered returns an unstarted bus whose subscriptions mailer and
// auditor of order.placed are registered by a bus that started and closed
// (its maintenance, which purges at start, is over).
func registered(t *testing.T, db *bustest.DB, cfg events.Config) *events.Bus {
	t.Helper()

	registrar := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, registrar, "mailer", "order.placed", nopHandler)
	bustest.Subscribe(t, registrar, "auditor", "order.placed", nopHandler)

	if err := registrar.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	if err := registrar.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	return bustest.NewBus(t, db.Pool, cfg)
}

// age makes events look created two retention periods ago.
func age(db *bustest.DB, ids ...string) {
	db.Exec("UPDATE events.outbox SET created_at = now() - 2 * $2::interval WHERE id = ANY($1)", ids, bustest.FastConfig().Retention)
}

func TestPurgeDeletesOnlyDeliveredEventsPastRetention(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	bus := registered(t, db, bustest.FastConfig())

	ids := map[string]string{}
	for _, name := range []string{"old delivered", "recent delivered", "old dead", "old pending", "old half dead"} {
		ids[name] = bustest.NewEventID(t)
		db.PublishRaw(bus, events.Raw{ID: ids[name], Name: "order.placed"})
	}

	db.Exec("UPDATE events.deliveries SET state = 'delivered' WHERE event_id = ANY($1)",
		[]string{ids["old delivered"], ids["recent delivered"], ids["old half dead"]})
	db.Exec("UPDATE events.deliveries SET state = 'dead' WHERE event_id = $1 OR (event_id = $2 AND subscriber = 'mailer')",
		ids["old dead"], ids["old half dead"])
	age(db, ids["old delivered"], ids["old dead"], ids["old pending"], ids["old half dead"])
	db.Exec(`INSERT INTO events.processed (subscriber, event_id, processed_at)
		VALUES ('mailer', 'evt_old', now() - interval '2 hours'), ('mailer', 'evt_recent', now())`)

	if n, err := bus.Purge(t.Context()); n != 1 || err != nil {
		t.Errorf("Purge() = %d, %v; want 1 (old delivered)", n, err)
	}

	want := []string{ids["old dead"], ids["old half dead"], ids["old pending"], ids["recent delivered"]}
	if diff := cmp.Diff(sorted(want), queryStrings(t, db, "SELECT id FROM events.outbox ORDER BY id")); diff != "" {
		t.Errorf("events kept (-want +got):\n%s", diff)
	}

	if n := db.Count("SELECT count(*) FROM events.deliveries WHERE event_id = $1", ids["old delivered"]); n != 0 {
		t.Errorf("deliveries of the purged event = %d, want 0", n)
	}

	if diff := cmp.Diff([]string{"evt_recent"}, queryStrings(t, db, "SELECT event_id FROM events.processed")); diff != "" {
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

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.MaxAttempts = 1

	bus := bustest.NewBus(t, db.Pool, cfg)
	bustest.Subscribe(t, bus, "mailer", "order.placed", func(context.Context, events.Raw) error { return errBoom })
	bustest.Subscribe(t, bus, "auditor", "order.shipped", nopHandler)
	bustest.Start(t, bus)

	dead, done := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}, events.Raw{ID: bustest.NewEventID(t), Name: "order.shipped"}
	db.PublishRaw(bus, dead)
	db.PublishRaw(bus, done)
	db.AwaitState("mailer", dead.ID, events.StateDead)
	db.AwaitState("auditor", done.ID, events.StateDelivered)

	// Stopped, the bus leaves the rows to the tasks.
	if err := bus.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	age(db, done.ID)

	var out bytes.Buffer

	tasks := adminTasks(t, bus, &out)

	checkContains(t, "events-dead-letters", runTask(t, tasks, "events-dead-letters", &out),
		"mailer", dead.ID, "order.placed", "boom", "1 dead letter(s)")
	checkContains(t, "events-redrive", runTask(t, tasks, "events-redrive", &out), "redrove 1 delivery(ies)")

	if got := db.Delivery("mailer", dead.ID); got.State != events.StatePending || got.Attempts != 0 {
		t.Errorf("delivery after events-redrive = %+v, want pending with no attempts", got)
	}

	got := runTask(t, tasks, "events-purge", &out)
	if !regexp.MustCompile(`^purged 1 event\(s\), erased \d+ secret\(s\)\n$`).MatchString(got) {
		t.Errorf("events-purge wrote %q, want one event purged", got)
	}

	if n := db.Count("SELECT count(*) FROM events.outbox WHERE id = $1", done.ID); n != 0 {
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

	db := bustest.NewDB(t)
	bus := registered(t, db, bustest.FastConfig())

	retrying, dead := bustest.NewEventID(t), bustest.NewEventID(t)
	for _, id := range []string{retrying, dead} {
		db.PublishRaw(bus, events.Raw{ID: id, Name: "order.placed", Secret: map[string]string{"code": "918273"}})
	}

	db.Exec("UPDATE events.deliveries SET state = 'delivered' WHERE subscriber = 'auditor'")
	db.Exec("UPDATE events.deliveries SET state = 'failed', attempts = 1 WHERE subscriber = 'mailer' AND event_id = $1", retrying)
	db.Exec("UPDATE events.deliveries SET state = 'dead', attempts = 5 WHERE subscriber = 'mailer' AND event_id = $1", dead)

	if n, err := bus.EraseSecrets(t.Context()); n != 1 || err != nil {
		t.Errorf("EraseSecrets() = %d, %v; want 1 (the dead event's)", n, err)
	}

	if secretOf(db, retrying) == nil || secretOf(db, dead) != nil {
		t.Errorf("after EraseSecrets, secret of the retrying event %q and of the dead one %q; want kept, erased",
			secretOf(db, retrying), secretOf(db, dead))
	}
}
