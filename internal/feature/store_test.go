package feature_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/feature"
	"github.com/modulith/modulith/internal/feature/featuretest"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

// newDB returns a database with the events and feature schemas.
func newDB(t *testing.T) *bustest.DB {
	t.Helper()

	return bustest.NewDB(t, migration.Source{Module: feature.SchemaName, Migrations: feature.Migrations()})
}

// newStore returns a store on pool publishing on a bus that is not
// started: events stay in the outbox, for the test to read.
func newStore(t *testing.T, pool *pgxpool.Pool, local *feature.Flags) *feature.Store {
	t.Helper()

	return feature.NewStore(pool, bustest.NewBus(t, pool, bustest.FastConfig()), local)
}

// started returns flags of pool, started, reloading every interval.
func started(t *testing.T, pool *pgxpool.Pool, interval time.Duration) *feature.Flags {
	t.Helper()

	f := feature.New(pool, interval, slog.New(slog.DiscardHandler))
	if err := f.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()

		if err := f.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	return f
}

var killSwitch = feature.Flag{Key: "orders.create_enabled", Type: feature.TypeBoolean, Description: "Placing orders", Enabled: true, Value: true}

func TestStore(t *testing.T) {
	t.Parallel()

	db := newDB(t)
	store := newStore(t, db.Pool, nil)
	ctx := t.Context()

	created, err := store.Create(ctx, "user_admin", killSwitch)
	if err != nil || created.Version != 1 || created.UpdatedBy != "user_admin" || created.CreatedAt.IsZero() {
		t.Fatalf("Create() = %+v, %v; want version 1 by user_admin", created, err)
	}

	_, err = store.Create(ctx, "user_admin", killSwitch)
	if !errors.IsType(err, errors.TypeAlreadyExists) {
		t.Errorf("Create(existing) = %v, want AlreadyExists", err)
	}

	wantUpdated(t, store)

	if _, err := store.Delete(ctx, "user_admin", killSwitch.Key); err != nil {
		t.Fatal(err)
	}

	wantGone(t, store)
	wantChanges(t, featuretest.Changes(t, db.Pool, killSwitch.Key))
}

// wantUpdated updates the kill switch as cli:ops and checks that Get and
// List read the update back.
func wantUpdated(t *testing.T, store *feature.Store) {
	t.Helper()

	ctx := t.Context()
	change := killSwitch
	change.Value = false
	change.Rules = []feature.Rule{{Roles: []string{"admin"}, Value: true}, {Percentage: pct(10), Value: true}}

	updated, err := store.Update(ctx, "cli:ops", change)
	if err != nil || updated.Version != 2 || updated.UpdatedBy != "cli:ops" || updated.Value != false {
		t.Fatalf("Update() = %+v, %v; want version 2 by cli:ops, value false", updated, err)
	}

	got, err := store.Get(ctx, killSwitch.Key)
	if diff := cmp.Diff(updated, got); err != nil || diff != "" {
		t.Errorf("Get() after Update = %v (-updated +got):\n%s", err, diff)
	}

	if list, err := store.List(ctx); err != nil || len(list) != 1 || list[0].Key != killSwitch.Key {
		t.Errorf("List() = %v, %v; want the one flag", list, err)
	}
}

// wantGone checks that the kill switch, deleted, is NotFound to every
// method that names it.
func wantGone(t *testing.T, store *feature.Store) {
	t.Helper()

	ctx := t.Context()

	for name, err := range map[string]error{
		"Get":    second(store.Get(ctx, killSwitch.Key)),
		"Update": second(store.Update(ctx, "user_admin", killSwitch)),
		"Delete": second(store.Delete(ctx, "user_admin", killSwitch.Key)),
	} {
		if !errors.IsType(err, errors.TypeNotFound) {
			t.Errorf("%s(deleted) = %v, want NotFound", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// wantChanges checks the events of TestStore: who changed what, before and
// after.
func wantChanges(t *testing.T, got []feature.FlagChanged) {
	t.Helper()

	if len(got) != 3 {
		t.Fatalf("events = %+v, want created, updated, deleted", got)
	}

	type summary struct {
		Change, Actor      string
		OldValue, NewValue any
		OldVersion         int64
	}

	sum := func(e feature.FlagChanged) summary {
		s := summary{Change: e.Change, Actor: e.Actor}
		if e.Old != nil {
			s.OldValue, s.OldVersion = e.Old.Value, e.Old.Version
		}

		if e.New != nil {
			s.NewValue = e.New.Value
		}

		return s
	}

	want := []summary{
		{Change: feature.ChangeCreated, Actor: "user_admin", NewValue: true},
		{Change: feature.ChangeUpdated, Actor: "cli:ops", OldValue: true, NewValue: false, OldVersion: 1},
		{Change: feature.ChangeDeleted, Actor: "user_admin", OldValue: false, OldVersion: 2},
	}

	var sums []summary
	for _, e := range got {
		sums = append(sums, sum(e))
	}

	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("flag_changed events (-want +got):\n%s", diff)
	}
}

// TestStoreRefusesInvalid: an invalid definition is refused with the
// fields named, and neither stored nor announced.
func TestStoreRefusesInvalid(t *testing.T) {
	t.Parallel()

	db := newDB(t)
	store := newStore(t, db.Pool, nil)
	bad := killSwitch
	bad.Value = "yes"

	_, err := store.Create(t.Context(), "user_admin", bad)
	if diff := cmp.Diff([]string{"flag.value"}, invalidFields(err)); diff != "" {
		t.Errorf("Create(string value for a boolean) = %v (-want +got fields):\n%s", err, diff)
	}

	if n := db.Count(`SELECT count(*) FROM feature.flags`) + db.Count(`SELECT count(*) FROM events.outbox`); n != 0 {
		t.Errorf("%d rows stored for an invalid flag", n)
	}
}

// TestStoreRoundTripsValues: every type is read back as its Go type, rules
// included, from PostgreSQL.
func TestStoreRoundTripsValues(t *testing.T) {
	t.Parallel()

	store := newStore(t, newDB(t).Pool, nil)
	flags := []feature.Flag{
		{Key: "orders.b", Type: feature.TypeBoolean, Enabled: true, Value: false, Rules: []feature.Rule{{UserIDs: []string{"user_1"}, Value: true}}},
		{Key: "orders.s", Type: feature.TypeString, Enabled: true, Value: "a", Rules: []feature.Rule{{Roles: []string{"admin"}, Value: "b"}}},
		{Key: "orders.i", Type: feature.TypeInt, Enabled: false, Value: int64(9007199254740991), Rules: []feature.Rule{{Percentage: pct(0), Value: int64(-3)}}},
		{Key: "orders.f", Type: feature.TypeFloat, Enabled: true, Value: 0.1, Rules: []feature.Rule{{Percentage: pct(100), Value: 2.5}}},
	}

	for _, f := range flags {
		if _, err := store.Create(t.Context(), "user_admin", f); err != nil {
			t.Fatalf("Create(%s) = %v", f.Key, err)
		}

		got, err := store.Get(t.Context(), f.Key)
		if err != nil {
			t.Fatal(err)
		}

		if diff := cmp.Diff(f.Value, got.Value); diff != "" {
			t.Errorf("%s value (-want +got):\n%s", f.Key, diff)
		}

		if diff := cmp.Diff(f.Rules, got.Rules); diff != "" {
			t.Errorf("%s rules (-want +got):\n%s", f.Key, diff)
		}
	}
}

// awaitValue waits until c evaluates orders.create_enabled to want.
func awaitValue(t *testing.T, c *openfeature.Client, want bool, what string) {
	t.Helper()

	bustest.Eventually(t, what, func() bool {
		v, err := c.BooleanValue(t.Context(), killSwitch.Key, !want, openfeature.EvaluationContext{})

		return err == nil && v == want
	})
}

// TestFlagsFollowChangesAcrossInstances: two instances (two pools, as two
// replicas) on one database; a change made through one is evaluated by
// the other at once, by notification: the periodic reload is an hour
// away. The instance that made it sees it before the call returns.
func TestFlagsFollowChangesAcrossInstances(t *testing.T) {
	t.Parallel()

	db := newDB(t)
	a, b := started(t, db.NewPool(4), time.Hour), started(t, db.NewPool(4), time.Hour)
	store := newStore(t, db.Pool, a)

	if _, err := store.Create(t.Context(), "user_admin", killSwitch); err != nil {
		t.Fatal(err)
	}

	if v, err := a.Client("orders").BooleanValue(t.Context(), killSwitch.Key, false, openfeature.EvaluationContext{}); err != nil || !v {
		t.Errorf("the writing instance evaluates %v, %v right after Create; want true", v, err)
	}

	awaitValue(t, b.Client("orders"), true, "instance B to see the created flag")

	off := killSwitch
	off.Value = false

	if _, err := store.Update(t.Context(), "user_admin", off); err != nil {
		t.Fatal(err)
	}

	awaitValue(t, b.Client("orders"), false, "instance B to see the update")

	if _, err := store.Delete(t.Context(), "user_admin", killSwitch.Key); err != nil {
		t.Fatal(err)
	}

	bustest.Eventually(t, "instance B to see the deletion", func() bool {
		d, _ := b.Client("orders").BooleanValueDetails(t.Context(), killSwitch.Key, true, openfeature.EvaluationContext{})

		return d.ErrorCode == openfeature.FlagNotFoundCode
	})
}

// TestFlagsReloadAfterReconnect: a change made while an instance's
// database connection is down (its notification lost) is seen once the
// instance listens again.
func TestFlagsReloadAfterReconnect(t *testing.T) {
	t.Parallel()

	db := newDB(t)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)

	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	b := started(t, pool, time.Hour)
	store := newStore(t, db.Pool, nil)

	proxy.Break()

	if _, err := store.Create(t.Context(), "user_admin", killSwitch); err != nil {
		t.Fatal(err)
	}

	time.Sleep(200 * time.Millisecond) // the notification goes nowhere

	if v := b.Client("orders").Boolean(t.Context(), killSwitch.Key, false, openfeature.EvaluationContext{}); v {
		t.Fatal("instance saw the flag while disconnected: the test proves nothing")
	}

	proxy.Restore()
	awaitValue(t, b.Client("orders"), true, "the instance to reload once it listens again")
}

// TestFlagsReloadPeriodically: a change that sent no notification (made
// in SQL by hand) is seen at the next periodic reload.
func TestFlagsReloadPeriodically(t *testing.T) {
	t.Parallel()

	db := newDB(t)
	f := started(t, db.NewPool(4), 100*time.Millisecond)

	db.Exec(`INSERT INTO feature.flags (key, type, enabled, value, updated_by) VALUES ('orders.create_enabled', 'boolean', true, 'true', 'sql')`)
	awaitValue(t, f.Client("orders"), true, "the periodic reload")
}
