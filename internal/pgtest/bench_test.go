package pgtest

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/migration"
)

// benchSource is a module the size of a few real ones: tables with keys, indexes and a
// foreign key each.
func benchSource(module string, tables int) migration.Source {
	var up strings.Builder
	for i := range tables {
		fmt.Fprintf(&up, `CREATE TABLE %[1]s.t%[2]d (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name text NOT NULL UNIQUE,
			parent bigint REFERENCES %[1]s.t%[2]d (id),
			created_at timestamptz NOT NULL DEFAULT now());
			CREATE INDEX ON %[1]s.t%[2]d (created_at);
			`, module, i)
	}

	return migration.Source{Module: module, Migrations: fstest.MapFS{
		"000001_init.up.sql":   &fstest.MapFile{Data: []byte(up.String())},
		"000001_init.down.sql": &fstest.MapFile{},
	}}
}

// BenchmarkClone compares the CREATE DATABASE strategies; NewDatabase uses walLog.
func BenchmarkClone(b *testing.B) {
	tmpl, err := newTemplate([]migration.Source{benchSource("bench", 30)})
	if err != nil {
		b.Fatal(err)
	}

	server := ServerURL(b)

	conn, err := pgx.Connect(b.Context(), server)
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { _ = conn.Close(b.Context()) })

	if err := ensureTemplate(b.Context(), conn, server, tmpl); err != nil {
		b.Fatal(err)
	}

	for _, strategy := range []string{walLog, "FILE_COPY"} {
		b.Run(strategy, func(b *testing.B) {
			for b.Loop() {
				name := "t_" + randomHex()
				if err := clone(b.Context(), conn, tmpl.name, name, strategy); err != nil {
					b.Fatal(err)
				}

				b.StopTimer()

				if err := dropDatabase(b.Context(), conn, name); err != nil {
					b.Fatal(err)
				}

				b.StartTimer()
			}
		})
	}
}

// BenchmarkNewDatabase is what a test pays: connect, find the template, clone, open a
// pool and run a first query. The databases are dropped when each run ends.
func BenchmarkNewDatabase(b *testing.B) {
	for _, tables := range []int{0, 30} {
		b.Run(fmt.Sprintf("tables=%d", tables), func(b *testing.B) {
			var sources []migration.Source
			if tables > 0 {
				sources = append(sources, benchSource("bench", tables))
			}

			NewDatabase(b, sources...) // builds the template when missing

			for b.Loop() {
				db := NewDatabase(b, sources...)
				if _, err := db.Pool.Exec(b.Context(), "SELECT 1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildTemplate is what the first test on a server pays for a new set of
// migrations.
func BenchmarkBuildTemplate(b *testing.B) {
	server := ServerURL(b)

	for b.Loop() {
		tmpl, err := newTemplate([]migration.Source{benchSource("b_"+randomHex(), 30)})
		if err != nil {
			b.Fatal(err)
		}

		name := "t_" + randomHex()
		if err := create(b.Context(), server, tmpl, name); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()

		for _, db := range []string{name, tmpl.name} {
			if err := drop(server, db); err != nil {
				b.Fatal(err)
			}
		}

		b.StartTimer()
	}
}
