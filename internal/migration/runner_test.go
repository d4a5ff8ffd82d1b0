package migration_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

var ignoreDuration = cmpopts.IgnoreFields(migration.Applied{}, "Duration")

// authSource has three migrations; 2 holds several statements, one of them a function
// body with semicolons of its own.
func authSource() migration.Source {
	return migration.Source{Module: "auth", Migrations: authFiles()}
}

func authFiles() fstest.MapFS {
	return files(
		"000001_users.up.sql", "CREATE TABLE auth.users (id bigint PRIMARY KEY, email text NOT NULL);",
		"000001_users.down.sql", "DROP TABLE auth.users;",
		"000002_touch.up.sql", `
			ALTER TABLE auth.users ADD COLUMN updated_at timestamptz;
			CREATE INDEX users_email ON auth.users (email);
			CREATE FUNCTION auth.touch() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				NEW.updated_at := now();
				RETURN NEW;
			END;
			$$;
			CREATE TRIGGER touch BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.touch();`,
		"000002_touch.down.sql", `
			DROP TRIGGER touch ON auth.users;
			DROP FUNCTION auth.touch();
			DROP INDEX auth.users_email;
			ALTER TABLE auth.users DROP COLUMN updated_at;`,
		"000003_sessions.up.sql", "CREATE TABLE auth.sessions (id bigint PRIMARY KEY);",
		"000003_sessions.down.sql", "DROP TABLE auth.sessions;",
	)
}

func TestUpAppliesInOrder(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	var out bytes.Buffer

	r := migration.NewRunner(db.Pool, []migration.Source{authSource()}, &out)

	applied, err := r.Up(t.Context())
	if err != nil {
		t.Fatalf("Up() = %v", err)
	}

	want := []migration.Applied{
		{Module: "auth", Version: 1, Name: "users"},
		{Module: "auth", Version: 2, Name: "touch"},
		{Module: "auth", Version: 3, Name: "sessions"},
	}
	if diff := cmp.Diff(want, applied, ignoreDuration); diff != "" {
		t.Errorf("Up() mismatch (-want +got):\n%s", diff)
	}

	wantOut := "migrate: auth 000001_users applied (D)\n" +
		"migrate: auth 000002_touch applied (D)\n" +
		"migrate: auth 000003_sessions applied (D)\n"
	if got := withoutDurations(out.String()); got != wantOut {
		t.Errorf("Up() printed:\n%s\nwant:\n%s", got, wantOut)
	}

	if diff := cmp.Diff([]int64{1, 2, 3}, history(t, db.Pool, "auth")); diff != "" {
		t.Errorf("auth history mismatch (-want +got):\n%s", diff)
	}

	// Every statement of the multi-statement file ran: the trigger sets updated_at.
	if _, err := db.Pool.Exec(t.Context(), "INSERT INTO auth.users (id, email) VALUES (1, 'a@example.com')"); err != nil {
		t.Fatal(err)
	}

	var touched bool

	err = db.Pool.QueryRow(t.Context(),
		"UPDATE auth.users SET email = 'b@example.com' RETURNING updated_at IS NOT NULL").Scan(&touched)
	if err != nil || !touched {
		t.Errorf("updated_at set by the trigger of 000002_touch = %v, %v; want true", touched, err)
	}
}

func TestUpTwiceIsNoOp(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	r := migration.NewRunner(db.Pool, []migration.Source{authSource()}, nil)

	if _, err := r.Up(t.Context()); err != nil {
		t.Fatalf("first Up() = %v", err)
	}

	var out bytes.Buffer

	applied, err := migration.NewRunner(db.Pool, []migration.Source{authSource()}, &out).Up(t.Context())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Up() = %v, %v; want nothing applied", applied, err)
	}

	if want := "migrate: auth is up to date (version 3)\n"; out.String() != want {
		t.Errorf("second Up() printed %q, want %q", out.String(), want)
	}
}

func TestUpModulesKeepSeparateHistories(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	billing := migration.Source{Module: "billing", Migrations: files(
		"000001_invoices.up.sql", "CREATE TABLE billing.invoices (id bigint PRIMARY KEY);",
		"000001_invoices.down.sql", "DROP TABLE billing.invoices;",
	)}

	var out bytes.Buffer

	applied, err := migration.NewRunner(db.Pool, []migration.Source{authSource(), billing}, &out).Up(t.Context())
	if err != nil {
		t.Fatalf("Up() = %v", err)
	}

	if len(applied) != 4 || applied[3].Module != "billing" {
		t.Errorf("Up() = %+v, want auth's 3 migrations then billing's 1", applied)
	}

	if diff := cmp.Diff([]int64{1, 2, 3}, history(t, db.Pool, "auth")); diff != "" {
		t.Errorf("auth history mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]int64{1}, history(t, db.Pool, "billing")); diff != "" {
		t.Errorf("billing history mismatch (-want +got):\n%s", diff)
	}
}

func TestUpFailureLeavesNoTrace(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		sql  string
		code string
	}{
		{"syntax error", "CREATE TABLE app.b (id int);\nCREAT TABLE app.c (id int);", "42601"},
		{"error after a statement ran", "CREATE TABLE app.b (id int);\nSELECT 1/0;", "22012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			db := pgtest.NewDatabase(t)

			applied, err := migration.NewRunner(db.Pool, []migration.Source{abcSource(tt.sql)}, nil).Up(t.Context())
			checkFileError(t, err, &migration.FileError{Module: "app", Version: 2, File: "000002_b.up.sql"}, tt.code)

			if diff := cmp.Diff([]migration.Applied{{Module: "app", Version: 1, Name: "a"}}, applied, ignoreDuration); diff != "" {
				t.Errorf("Up() applied mismatch (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff([]int64{1}, history(t, db.Pool, "app")); diff != "" {
				t.Errorf("history mismatch (-want +got):\n%s", diff)
			}

			for _, table := range []string{"app.b", "app.c"} {
				if tableExists(t, db.Pool, table) {
					t.Errorf("table %s exists after the failed migration", table)
				}
			}

			// No dirty state: once the file is fixed, Up carries on.
			fixed := abcSource("CREATE TABLE app.b (id int);")
			if _, err := migration.NewRunner(db.Pool, []migration.Source{fixed}, nil).Up(t.Context()); err != nil {
				t.Fatalf("Up() after fixing the file = %v", err)
			}

			if diff := cmp.Diff([]int64{1, 2, 3}, history(t, db.Pool, "app")); diff != "" {
				t.Errorf("history after fix mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// abcSource has three migrations; the second runs b.
func abcSource(b string) migration.Source {
	return migration.Source{Module: "app", Migrations: files(
		"000001_a.up.sql", "CREATE TABLE app.a (id int);", "000001_a.down.sql", "DROP TABLE app.a;",
		"000002_b.up.sql", b, "000002_b.down.sql", "DROP TABLE app.b;",
		"000003_c.up.sql", "CREATE TABLE app.c (id int);", "000003_c.down.sql", "DROP TABLE app.c;",
	)}
}

// checkFileError checks that err is a *migration.FileError like want (Err aside) that
// wraps a PostgreSQL error with the given code.
func checkFileError(t *testing.T, err error, want *migration.FileError, code string) {
	t.Helper()

	var fileErr *migration.FileError
	if !errors.As(err, &fileErr) {
		t.Fatalf("error = %v, want a *migration.FileError", err)
	}

	if diff := cmp.Diff(want, fileErr, cmpopts.IgnoreFields(migration.FileError{}, "Err")); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}

	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Errorf("error = %v, want PostgreSQL error %s", err, code)
	}
}

func TestUpRejectsUnknownVersions(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	if _, err := migration.NewRunner(db.Pool, []migration.Source{authSource()}, nil).Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	// An older binary knows only the first migration.
	older := migration.Source{Module: "auth", Migrations: files(
		"000001_users.up.sql", "CREATE TABLE auth.users (id bigint PRIMARY KEY, email text NOT NULL);",
		"000001_users.down.sql", "DROP TABLE auth.users;",
		"000004_new.up.sql", "CREATE TABLE auth.never (id int);",
		"000004_new.down.sql", "",
	)}
	r := migration.NewRunner(db.Pool, []migration.Source{older}, nil)

	if _, err := r.Up(t.Context()); !errors.Is(err, migration.ErrUnknownVersion) {
		t.Errorf("Up() with versions 2 and 3 unknown = %v, want %v", err, migration.ErrUnknownVersion)
	}

	if _, err := r.Down(t.Context(), "auth"); !errors.Is(err, migration.ErrUnknownVersion) {
		t.Errorf("Down() of unknown version 3 = %v, want %v", err, migration.ErrUnknownVersion)
	}

	if diff := cmp.Diff([]int64{1, 2, 3}, history(t, db.Pool, "auth")); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}

	if tableExists(t, db.Pool, "auth.never") {
		t.Errorf("Up() applied a pending migration although the database is newer than the files")
	}
}

func TestDown(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	var out bytes.Buffer

	r := migration.NewRunner(db.Pool, []migration.Source{authSource()}, &out)
	if _, err := r.Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	out.Reset()

	reverted, err := r.Down(t.Context(), "auth")
	if err != nil {
		t.Fatalf("Down(%q) = %v", "auth", err)
	}

	if diff := cmp.Diff(migration.Applied{Module: "auth", Version: 3, Name: "sessions"}, reverted, ignoreDuration); diff != "" {
		t.Errorf("Down(%q) mismatch (-want +got):\n%s", "auth", diff)
	}

	if want := "migrate: auth 000003_sessions reverted\n"; out.String() != want {
		t.Errorf("Down(%q) printed %q, want %q", "auth", out.String(), want)
	}

	if diff := cmp.Diff([]int64{1, 2}, history(t, db.Pool, "auth")); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}

	if tableExists(t, db.Pool, "auth.sessions") {
		t.Errorf("auth.sessions exists after Down")
	}
}

func TestDownToNothing(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	r := migration.NewRunner(db.Pool, []migration.Source{authSource()}, nil)
	if _, err := r.Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	for range 3 {
		if _, err := r.Down(t.Context(), "auth"); err != nil {
			t.Fatalf("Down(%q) = %v", "auth", err)
		}
	}

	if _, err := r.Down(t.Context(), "auth"); !errors.Is(err, migration.ErrNoneApplied) {
		t.Errorf("Down(%q) with nothing applied = %v, want %v", "auth", err, migration.ErrNoneApplied)
	}

	if _, err := r.Down(t.Context(), "billing"); !errors.Is(err, migration.ErrUnknownModule) {
		t.Errorf("Down(%q) = %v, want %v", "billing", err, migration.ErrUnknownModule)
	}

	// The down files really undo: everything applies again.
	if applied, err := r.Up(t.Context()); err != nil || len(applied) != 3 {
		t.Errorf("Up() after reverting all = %d applied, %v; want 3, nil", len(applied), err)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	older := authFiles()
	delete(older, "000003_sessions.up.sql")
	delete(older, "000003_sessions.down.sql")

	if _, err := migration.NewRunner(db.Pool, []migration.Source{{Module: "auth", Migrations: older}}, nil).Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A version from a newer binary.
	if _, err := db.Pool.Exec(t.Context(), "INSERT INTO auth.schema_migrations (version, name) VALUES (99, 'future')"); err != nil {
		t.Fatal(err)
	}

	billing := migration.Source{Module: "billing", Migrations: files(
		"000001_invoices.up.sql", "CREATE TABLE billing.invoices (id int);", "000001_invoices.down.sql", "",
	)}
	start := time.Now()

	got, err := migration.NewRunner(db.Pool, []migration.Source{authSource(), billing}, nil).Status(t.Context())
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}

	all, err := migration.Parse(authFiles())
	if err != nil {
		t.Fatal(err)
	}

	want := []migration.Status{
		{
			Module:  "auth",
			Applied: []migration.AppliedMigration{{Migration: all[0]}, {Migration: all[1]}},
			Pending: []migration.Migration{all[2]},
			Unknown: []int64{99},
		},
		{Module: "billing", Pending: []migration.Migration{{Version: 1, Name: "invoices", Up: "CREATE TABLE billing.invoices (id int);"}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(migration.AppliedMigration{}, "AppliedAt")); diff != "" {
		t.Errorf("Status() mismatch (-want +got):\n%s", diff)
	}

	for _, a := range got[0].Applied {
		if a.AppliedAt.IsZero() || a.AppliedAt.After(start) {
			t.Errorf("Status() applied_at of version %d = %v, want a time before %v", a.Version, a.AppliedAt, start)
		}
	}

	if tableExists(t, db.Pool, "billing.schema_migrations") {
		t.Errorf("Status() created billing's history; it must only read")
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	app := migration.Source{
		Module: "app",
		Migrations: files(
			"000001_log.up.sql", "CREATE TABLE app.log (seq bigserial PRIMARY KEY, entry text NOT NULL);",
			"000001_log.down.sql", "DROP TABLE app.log;",
		),
		Seeds: files(
			"002_more.sql", "INSERT INTO app.log (entry) VALUES ('app 002');",
			"001_first.sql", "INSERT INTO app.log (entry) VALUES ('app 001a'); INSERT INTO app.log (entry) VALUES ('app 001b');",
			"README.md", "not a seed",
		),
	}
	other := migration.Source{Module: "other", Seeds: files("001_x.sql", "INSERT INTO app.log (entry) VALUES ('other 001');")}

	var out bytes.Buffer

	r := migration.NewRunner(db.Pool, []migration.Source{app, other}, &out)
	if _, err := r.Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	out.Reset()

	if err := r.Seed(t.Context(), "app"); err != nil {
		t.Fatalf("Seed(%q) = %v", "app", err)
	}

	if diff := cmp.Diff([]string{"app 001a", "app 001b", "app 002"}, logEntries(t, db.Pool)); diff != "" {
		t.Errorf("log after Seed(%q) mismatch (-want +got):\n%s", "app", diff)
	}

	if err := r.Seed(t.Context()); err != nil {
		t.Fatalf("Seed() = %v", err)
	}

	wantOut := "seed: app 001_first.sql\nseed: app 002_more.sql\n" +
		"seed: app 001_first.sql\nseed: app 002_more.sql\nseed: other 001_x.sql\n"
	if out.String() != wantOut {
		t.Errorf("Seed printed:\n%s\nwant:\n%s", out.String(), wantOut)
	}

	if got := logEntries(t, db.Pool); len(got) != 7 || got[6] != "other 001" {
		t.Errorf("log after Seed() = %v, want app's seeds twice then other's", got)
	}

	if err := r.Seed(t.Context(), "nope"); !errors.Is(err, migration.ErrUnknownModule) {
		t.Errorf("Seed(%q) = %v, want %v", "nope", err, migration.ErrUnknownModule)
	}
}

func TestSeedFailureKeepsEarlierFiles(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	app := migration.Source{
		Module: "app",
		Migrations: files(
			"000001_log.up.sql", "CREATE TABLE app.log (seq bigserial PRIMARY KEY, entry text NOT NULL);",
			"000001_log.down.sql", "DROP TABLE app.log;",
		),
		Seeds: files(
			"001_ok.sql", "INSERT INTO app.log (entry) VALUES ('ok');",
			"002_bad.sql", "INSERT INTO app.log (entry) VALUES ('bad'); SELECT 1/0;",
			"003_never.sql", "INSERT INTO app.log (entry) VALUES ('never');",
		),
	}

	r := migration.NewRunner(db.Pool, []migration.Source{app}, nil)
	if _, err := r.Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := r.Seed(t.Context())
	checkFileError(t, err, &migration.FileError{Module: "app", File: "002_bad.sql"}, "22012")

	if diff := cmp.Diff([]string{"ok"}, logEntries(t, db.Pool)); diff != "" {
		t.Errorf("log after failed Seed() mismatch (-want +got):\n%s", diff)
	}
}

func TestInvalidSources(t *testing.T) {
	t.Parallel()

	good := authSource()

	tests := []struct {
		name    string
		sources []migration.Source
		want    error
	}{
		{"upper case", []migration.Source{{Module: "Auth"}}, migration.ErrInvalidModule},
		{"leading digit", []migration.Source{{Module: "1auth"}}, migration.ErrInvalidModule},
		{"reserved prefix", []migration.Source{{Module: "pg_auth"}}, migration.ErrInvalidModule},
		{"too long", []migration.Source{{Module: "a" + strings.Repeat("b", 63)}}, migration.ErrInvalidModule},
		{"empty", []migration.Source{{}}, migration.ErrInvalidModule},
		{"quote", []migration.Source{{Module: `auth"; DROP`}}, migration.ErrInvalidModule},
		{"twice", []migration.Source{good, good}, migration.ErrInvalidModule},
		{"bad file after a good module", []migration.Source{good, {Module: "billing", Migrations: files("x.sql", "")}}, migration.ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			db := pgtest.NewDatabase(t)
			r := migration.NewRunner(db.Pool, tt.sources, nil)

			if _, err := r.Up(t.Context()); !errors.Is(err, tt.want) {
				t.Errorf("Up() = %v, want %v", err, tt.want)
			}

			if _, err := r.Status(t.Context()); !errors.Is(err, tt.want) {
				t.Errorf("Status() = %v, want %v", err, tt.want)
			}

			// Sources are checked before anything changes.
			if tableExists(t, db.Pool, "auth.schema_migrations") {
				t.Errorf("Up() migrated auth although a source is invalid")
			}
		})
	}
}

func TestConcurrentUp(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	src := migration.Source{Module: "app", Migrations: files(
		// The sleep widens the window in which unlocked runners would both see 1 pending.
		"000001_counter.up.sql", "CREATE TABLE app.counter (n int); SELECT pg_sleep(0.2);",
		"000001_counter.down.sql", "DROP TABLE app.counter;",
		"000002_count.up.sql", "INSERT INTO app.counter VALUES (1);",
		"000002_count.down.sql", "DELETE FROM app.counter;",
	)}

	const replicas = 5

	var (
		g       errgroup.Group
		mu      sync.Mutex
		applied []migration.Applied
		start   = make(chan struct{})
	)

	for range replicas {
		// Each replica has its own pool, as separate processes would.
		pool, err := pgxpool.New(t.Context(), db.DSN)
		if err != nil {
			t.Fatal(err)
		}

		t.Cleanup(pool.Close)

		r := migration.NewRunner(pool, []migration.Source{src}, nil)

		g.Go(func() error {
			<-start

			done, err := r.Up(t.Context())

			mu.Lock()
			defer mu.Unlock()

			applied = append(applied, done...)

			return err
		})
	}

	close(start)

	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent Up() = %v", err)
	}

	if got := len(applied); got != 2 {
		t.Errorf("concurrent Up() applied %d migrations in total, want 2: %+v", got, applied)
	}

	var n int
	if err := db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM app.counter").Scan(&n); err != nil {
		t.Fatal(err)
	}

	if n != 1 {
		t.Errorf("rows in app.counter = %d, want 1", n)
	}

	if diff := cmp.Diff([]int64{1, 2}, history(t, db.Pool, "app")); diff != "" {
		t.Errorf("history mismatch (-want +got):\n%s", diff)
	}
}

var durationRE = regexp.MustCompile(`\([0-9.]+(ns|µs|ms|s|m[0-9.]+s|h[0-9m.]+s)\)`)

func withoutDurations(s string) string {
	return durationRE.ReplaceAllString(s, "(D)")
}

func history(t *testing.T, pool *pgxpool.Pool, schema string) []int64 {
	t.Helper()

	var versions []int64

	err := pool.QueryRow(t.Context(),
		"SELECT coalesce(array_agg(version ORDER BY version), '{}') FROM "+schema+".schema_migrations").Scan(&versions)
	if err != nil {
		t.Fatal(err)
	}

	return versions
}

func tableExists(t *testing.T, pool *pgxpool.Pool, table string) bool {
	t.Helper()

	var ok bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil {
		t.Fatal(err)
	}

	return ok
}

func logEntries(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()

	var entries []string

	err := pool.QueryRow(t.Context(), "SELECT coalesce(array_agg(entry ORDER BY seq), '{}') FROM app.log").Scan(&entries)
	if err != nil {
		t.Fatal(err)
	}

	return entries
}
