package resources_test

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/modules/auth/resources"
)

var source = migration.Source{Module: "auth", Migrations: resources.Migrations(), Seeds: resources.Seeds()}

// initTables are the tables of the auth schema's first migration,
// limitTables those after its second, knownTables after its third, and
// authTables those of all its migrations, sorted.
var (
	initTables  = []string{"magic_codes", "rate_limits", "refresh_tokens", "sessions", "users"}
	limitTables = []string{"login_lockouts", "magic_codes", "rate_limits", "refresh_tokens", "sessions", "users"}
	knownTables = []string{"login_known_clients", "login_lockouts", "magic_codes", "rate_limits", "refresh_tokens", "sessions", "users"}
	authTables  = []string{
		"login_known_clients", "login_lockouts", "magic_codes", "oauth_accounts", "oauth_exchange_codes", "oauth_states",
		"rate_limits", "refresh_tokens", "sessions", "users",
	}
)

func newRunner(t *testing.T) (*migration.Runner, *pgxpool.Pool) {
	t.Helper()

	db := pgtest.NewDatabase(t, source)

	return migration.NewRunner(db.Pool, []migration.Source{source}, io.Discard), db.Pool
}

func TestSeedTwice(t *testing.T) {
	t.Parallel()

	runner, pool := newRunner(t)

	for i := range 2 {
		if err := runner.Seed(t.Context()); err != nil {
			t.Fatalf("Seed #%d = %v", i+1, err)
		}
	}

	type user struct{ Email, Role string }

	rows, err := pool.Query(t.Context(), "SELECT email, role FROM auth.users")
	if err != nil {
		t.Fatal(err)
	}

	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[user])
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]user{{"admin@example.com", "admin"}}, got); diff != "" {
		t.Errorf("users after seeding twice (-want +got):\n%s", diff)
	}
}

func TestMigrationsRoundTrip(t *testing.T) {
	t.Parallel()

	runner, pool := newRunner(t)
	want := []migration.Applied{
		{Module: "auth", Version: 1, Name: "init"}, {Module: "auth", Version: 2, Name: "login_limits"},
		{Module: "auth", Version: 3, Name: "login_known_clients"}, {Module: "auth", Version: 4, Name: "oauth"},
	}
	ignoreDuration := cmpopts.IgnoreFields(migration.Applied{}, "Duration")

	// Down reverts the newest migration first.
	wantDown(t, runner, want[3])
	wantTables(t, pool, knownTables)
	wantDown(t, runner, want[2])
	wantTables(t, pool, limitTables)
	wantDown(t, runner, want[1])
	wantTables(t, pool, initTables)
	wantNoColumn(t, pool, "magic_codes", "client")
	wantDown(t, runner, want[0])
	wantTables(t, pool, nil)

	if _, err := runner.Down(t.Context(), "auth"); !errors.Is(err, migration.ErrNoneApplied) {
		t.Errorf("Down(auth) a second time = %v, want %v", err, migration.ErrNoneApplied)
	}

	applied, err := runner.Up(t.Context())
	if err != nil {
		t.Fatalf("Up after Down = %v", err)
	}

	if diff := cmp.Diff(want, applied, ignoreDuration); diff != "" {
		t.Errorf("Up after Down mismatch (-want +got):\n%s", diff)
	}

	wantTables(t, pool, authTables)

	if applied, err := runner.Up(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("Up a second time = %v, %v; want nothing applied", applied, err)
	}

	if err := runner.Seed(t.Context()); err != nil {
		t.Errorf("Seed after the round trip = %v", err)
	}
}

// wantTables checks the tables of the auth schema, besides the migration
// history.
func wantTables(t *testing.T, pool *pgxpool.Pool, want []string) {
	t.Helper()

	rows, err := pool.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = 'auth' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}

	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("tables of schema auth (-want +got):\n%s", diff)
	}
}

// wantNoColumn fails if table of the auth schema has column.
func wantNoColumn(t *testing.T, pool *pgxpool.Pool, table, column string) {
	t.Helper()

	var n int

	err := pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = 'auth' AND table_name = $1 AND column_name = $2`, table, column).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("auth.%s.%s: %d columns, %v; want none", table, column, n, err)
	}
}

// wantDown reverts one migration of auth and fails unless it is want.
func wantDown(t *testing.T, runner *migration.Runner, want migration.Applied) {
	t.Helper()

	reverted, err := runner.Down(t.Context(), "auth")
	if err != nil {
		t.Fatalf("Down(auth) = %v", err)
	}

	if diff := cmp.Diff(want, reverted, cmpopts.IgnoreFields(migration.Applied{}, "Duration")); diff != "" {
		t.Errorf("Down(auth) mismatch (-want +got):\n%s", diff)
	}
}
