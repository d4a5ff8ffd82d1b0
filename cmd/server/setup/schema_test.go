package setup_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
)

// shop is a module with one migration applied and, in the binary of
// TestSchemaReady, a second one pending.
func shop(versions int) migration.Source {
	files := fstest.MapFS{
		"000001_init.up.sql":   {Data: []byte("CREATE TABLE shop.items (id text PRIMARY KEY);")},
		"000001_init.down.sql": {Data: []byte("DROP TABLE shop.items;")},
	}
	if versions > 1 {
		files["000002_price.up.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE shop.items ADD COLUMN price bigint;")}
		files["000002_price.down.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE shop.items DROP COLUMN price;")}
	}

	return migration.Source{Module: "shop", Migrations: files}
}

// TestSchemaReady: a module whose schema lacks a migration of the binary
// is not ready, named with what it waits for, until an operator migrates;
// then the check is ready and stops querying, so that a later database
// outage is reported by the database check alone.
func TestSchemaReady(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, shop(1)) // the database as the previous release left it
	runner := migration.NewRunner(db.Pool, []migration.Source{shop(2)}, io.Discard)
	ready := setup.SchemaReady(runner)

	notReady := ready(t.Context())
	if err := notReady["shop"]; err == nil || !strings.Contains(err.Error(), "000002") || len(notReady) != 1 {
		t.Fatalf("SchemaReady() before migrating = %v, want shop waiting for 000002", notReady)
	}

	if _, err := runner.Up(t.Context()); err != nil {
		t.Fatal(err)
	}

	if got := ready(t.Context()); len(got) != 0 {
		t.Fatalf("SchemaReady() after migrating = %v, want ready", got)
	}

	db.Pool.Close() // an outage: the check must not query again

	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	if got := ready(canceled); len(got) != 0 {
		t.Errorf("SchemaReady() once ready, database gone = %v, want ready still", got)
	}
}

// TestSchemaReadyReportsErrors: a failing status read is not ready.
func TestSchemaReadyReportsErrors(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	ready := setup.SchemaReady(migration.NewRunner(db.Pool, []migration.Source{shop(1)}, io.Discard))

	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	if got := ready(canceled); len(got) == 0 {
		t.Errorf("SchemaReady() with a failing read = %v, want an error", got)
	}
}
