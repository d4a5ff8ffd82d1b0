package events

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

// TestBacklog reads the backlog gauges' figures from deliveries in every
// state: counts per state, the age of the oldest waiting event (a dead or
// delivered one does not count), zeros for a subscriber with nothing
// waiting, and nothing for a subscriber the process does not run.
func TestBacklog(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migration.Source{Module: SchemaName, Migrations: Migrations()})
	ctx := t.Context()

	for _, sql := range []string{
		`INSERT INTO events.outbox (id, seq, name, version, payload, occurred_at, created_at) VALUES
			('evt_1', 1, 'e', 1, '{}', now(), now() - interval '2 hours'),
			('evt_2', 2, 'e', 1, '{}', now(), now() - interval '90 seconds'),
			('evt_3', 3, 'e', 1, '{}', now(), now() - interval '30 seconds'),
			('evt_4', 4, 'e', 1, '{}', now(), now())`,
		`INSERT INTO events.deliveries (subscriber, event_id, seq, state) VALUES
			('a', 'evt_1', 1, 'dead'),
			('a', 'evt_2', 2, 'failed'),
			('a', 'evt_3', 3, 'pending'),
			('a', 'evt_4', 4, 'pending'),
			('b', 'evt_1', 1, 'delivered'),
			('b', 'evt_2', 2, 'dead'),
			('other', 'evt_1', 1, 'pending')`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	got, err := backlog(ctx, db.Pool, []string{"a", "b", "idle"})
	if err != nil {
		t.Fatal(err)
	}

	wantCounts := map[string]map[string]int64{
		"a":    {StatePending: 2, StateFailed: 1, StateDead: 1},
		"b":    {StatePending: 0, StateFailed: 0, StateDead: 1},
		"idle": {StatePending: 0, StateFailed: 0, StateDead: 0},
	}

	counts := make(map[string]map[string]int64, len(got))
	for name, b := range got {
		counts[name] = b.Count
	}

	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("backlog counts (-want +got):\n%s", diff)
	}

	// a's oldest waiting event is evt_2 (failed, 90 s); evt_1 is dead.
	if age := got["a"].Oldest; age < 89*time.Second || age > 2*time.Minute {
		t.Errorf("oldest waiting age of a = %v, want about 90s", age)
	}

	if got["b"].Oldest != 0 || got["idle"].Oldest != 0 {
		t.Errorf("oldest waiting age of b, idle = %v, %v; want 0 (nothing waits)", got["b"].Oldest, got["idle"].Oldest)
	}
}
