package pgtest

import (
	"context"
	"errors"
	"strings"

	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/modulith/modulith/internal/migration"
)

// itemsSource is a module whose template records when it was built.
var itemsSource = migration.Source{Module: "items", Migrations: fstest.MapFS{
	"000001_init.up.sql": &fstest.MapFile{Data: []byte(`
		CREATE TABLE items.item (name text PRIMARY KEY);
		CREATE TABLE items.built (at timestamptz NOT NULL);
		INSERT INTO items.built VALUES (clock_timestamp());`)},
	"000001_init.down.sql": &fstest.MapFile{Data: []byte(`DROP TABLE items.item, items.built;`)},
}}

func TestNewDatabaseIsolatesData(t *testing.T) {
	t.Parallel()

	a := NewDatabase(t, itemsSource)
	b := NewDatabase(t, itemsSource)

	if a.Name == b.Name || a.DSN == b.DSN {
		t.Fatalf("NewDatabase twice = %q and %q, want different databases", a.Name, b.Name)
	}

	if _, err := a.Pool.Exec(t.Context(), "INSERT INTO items.item VALUES ('only in a')"); err != nil {
		t.Fatal(err)
	}

	if got := itemCount(t, a.Pool); got != 1 {
		t.Errorf("rows in %s = %d, want 1", a.Name, got)
	}

	if got := itemCount(t, b.Pool); got != 0 {
		t.Errorf("rows in %s after insert into %s = %d, want 0", b.Name, a.Name, got)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			db := NewDatabase(t, itemsSource)
			if got := itemCount(t, db.Pool); got != 0 {
				t.Fatalf("rows in new database %s = %d, want 0", db.Name, got)
			}

			if _, err := db.Pool.Exec(t.Context(), "INSERT INTO items.item VALUES ($1)", name); err != nil {
				t.Fatal(err)
			}

			if got := itemCount(t, db.Pool); got != 1 {
				t.Errorf("rows in %s = %d, want 1", db.Name, got)
			}
		})
	}
}

func TestNewDatabaseReusesTemplate(t *testing.T) {
	t.Parallel()

	first := builtAt(t, NewDatabase(t, itemsSource).Pool)
	second := builtAt(t, NewDatabase(t, itemsSource).Pool)

	// A rebuilt template would have run the migration, and clock_timestamp(), again.
	if !first.Equal(second) {
		t.Errorf("template built at %v for the first database and %v for the second, want one build", first, second)
	}
}

func TestNewDatabaseReplacesStaleBuildingTemplate(t *testing.T) {
	t.Parallel()

	src, tmpl := uniqueSource(t)

	// What a process that died mid-build leaves behind.
	raw := connect(t, ServerURL(t))
	mustExec(t, raw, "CREATE DATABASE "+pgx.Identifier{tmpl.name + "_building"}.Sanitize())

	staleURL, err := databaseURL(ServerURL(t), tmpl.name+"_building")
	if err != nil {
		t.Fatal(err)
	}

	stale := connect(t, staleURL)
	mustExec(t, stale, "CREATE TABLE junk (id int)")

	if err := stale.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	db := NewDatabase(t, src)

	var junk, migrated bool

	err = db.Pool.QueryRow(t.Context(), "SELECT to_regclass('junk') IS NOT NULL, to_regclass($1) IS NOT NULL",
		src.Module+".t").Scan(&junk, &migrated)
	if err != nil {
		t.Fatal(err)
	}

	if junk || !migrated {
		t.Errorf("database from replaced template: junk table %v, migrated table %v; want false, true", junk, migrated)
	}

	if databaseExists(t, raw, tmpl.name+"_building") {
		t.Errorf("stale %s_building still exists", tmpl.name)
	}
}

func TestCreateBuildsTemplateOnce(t *testing.T) {
	t.Parallel()

	src, tmpl := uniqueSource(t)
	server := ServerURL(t)
	names := make([]string, 4)

	// Goroutines stand in for test processes: each uses its own maintenance connection.
	var g errgroup.Group

	for i := range names {
		names[i] = "t_" + randomHex()

		g.Go(func() error { return create(t.Context(), server, tmpl, names[i]) })
	}

	err := g.Wait()

	t.Cleanup(func() {
		for _, name := range names {
			if err := drop(server, name); err != nil {
				t.Error(err)
			}
		}
	})

	if err != nil {
		t.Fatal(err)
	}

	var built []time.Time

	for _, name := range names {
		dsn, err := databaseURL(server, name)
		if err != nil {
			t.Fatal(err)
		}

		conn := connect(t, dsn)

		var at time.Time
		if err := conn.QueryRow(t.Context(), "SELECT at FROM "+src.Module+".built").Scan(&at); err != nil {
			t.Fatal(err)
		}

		built = append(built, at)
	}

	for _, at := range built[1:] {
		if !at.Equal(built[0]) {
			t.Fatalf("templates built at %v, want one build", built)
		}
	}
}

func TestCreateDropsFailedTemplate(t *testing.T) {
	t.Parallel()

	src := migration.Source{Module: "broken_" + randomHex(), Migrations: fstest.MapFS{
		"000001_init.up.sql":   &fstest.MapFile{Data: []byte("SELECT 1/0")},
		"000001_init.down.sql": &fstest.MapFile{},
	}}

	tmpl, err := newTemplate([]migration.Source{src})
	if err != nil {
		t.Fatal(err)
	}

	name := "t_" + randomHex()
	if err := create(t.Context(), ServerURL(t), tmpl, name); err == nil {
		t.Fatalf("create from failing migrations = nil, want error")
	}

	raw := connect(t, ServerURL(t))
	for _, db := range []string{name, tmpl.name, tmpl.name + "_building"} {
		if databaseExists(t, raw, db) {
			t.Errorf("database %s exists after a failed migration", db)
		}
	}
}

func TestNewTemplateName(t *testing.T) {
	t.Parallel()

	changed := migration.Source{Module: "items", Migrations: fstest.MapFS{
		"000001_init.up.sql":   &fstest.MapFile{Data: []byte("CREATE TABLE items.item (name text)")},
		"000001_init.down.sql": itemsSource.Migrations.(fstest.MapFS)["000001_init.down.sql"],
	}}
	renamed := itemsSource
	renamed.Module = "things"

	base := templateName(t, itemsSource)
	if !strings.HasPrefix(base, "tmpl_") || len(base) != len("tmpl_")+12 {
		t.Errorf("template name = %q, want tmpl_ and 12 hex digits", base)
	}

	if again := templateName(t, itemsSource); again != base {
		t.Errorf("template name for the same sources = %q, then %q", base, again)
	}

	for _, src := range []migration.Source{changed, renamed} {
		if got := templateName(t, src); got == base {
			t.Errorf("template name for %s = %q, same as for other migrations", src.Module, got)
		}
	}
}

func TestServerURL(t *testing.T) {
	t.Parallel()

	if got, err := serverURL("postgres://db/x"); got != "postgres://db/x" || err != nil {
		t.Errorf("serverURL(%q) = %q, %v; want the URL", "postgres://db/x", got, err)
	}

	if _, err := serverURL(""); !errors.Is(err, errNoDatabase) {
		t.Errorf("serverURL(\"\") = %v, want %v", err, errNoDatabase)
	}
}

// uniqueSource returns a module whose template no other test uses, and drops that
// template when the test ends.
func uniqueSource(t *testing.T) (migration.Source, template) {
	t.Helper()

	module := "u_" + randomHex()
	src := migration.Source{Module: module, Migrations: fstest.MapFS{
		"000001_init.up.sql": &fstest.MapFile{Data: []byte(
			"CREATE TABLE " + module + ".t (id int);" +
				"CREATE TABLE " + module + ".built (at timestamptz NOT NULL);" +
				"INSERT INTO " + module + ".built VALUES (clock_timestamp());")},
		"000001_init.down.sql": &fstest.MapFile{},
	}}

	tmpl, err := newTemplate([]migration.Source{src})
	if err != nil {
		t.Fatal(err)
	}

	server := ServerURL(t)

	// Registered first, so it runs after the test databases are dropped.
	t.Cleanup(func() {
		for _, name := range []string{tmpl.name, tmpl.name + "_building"} {
			if err := drop(server, name); err != nil {
				t.Error(err)
			}
		}
	})

	return src, tmpl
}

func templateName(t *testing.T, sources ...migration.Source) string {
	t.Helper()

	tmpl, err := newTemplate(sources)
	if err != nil {
		t.Fatal(err)
	}

	return tmpl.name
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func itemCount(t *testing.T, db querier) int {
	t.Helper()

	var n int
	if err := db.QueryRow(t.Context(), "SELECT count(*) FROM items.item").Scan(&n); err != nil {
		t.Fatal(err)
	}

	return n
}

func builtAt(t *testing.T, db querier) time.Time {
	t.Helper()

	var at time.Time
	if err := db.QueryRow(t.Context(), "SELECT at FROM items.built").Scan(&at); err != nil {
		t.Fatal(err)
	}

	return at
}

func databaseExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()

	ok, err := exists(t.Context(), conn, name)
	if err != nil {
		t.Fatal(err)
	}

	return ok
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close(context.Background()) })

	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()

	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}
