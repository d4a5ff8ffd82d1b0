package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/migration"
)

// templateFormat is hashed into every template name; change it when what a template
// holds changes for the same files (the migration package's bookkeeping, for example).
const templateFormat = "modulith.testutil.template.v1"

// template is a migrated database that test databases are cloned from. Its name is
// derived from the sources, so changed migrations get a new template.
type template struct {
	name    string
	sources []migration.Source
}

func newTemplate(sources []migration.Source) (template, error) {
	h := sha256.New()
	writeField(h, templateFormat)

	for _, s := range sources {
		writeField(h, "module", s.Module)

		if err := hashFiles(h, s.Migrations); err != nil {
			return template{}, fmt.Errorf("module %s: %w", s.Module, err)
		}
	}

	return template{name: "tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], sources: sources}, nil
}

func hashFiles(h hash.Hash, fsys fs.FS) error {
	if fsys == nil {
		return nil
	}

	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}

	for _, e := range entries {
		if e.IsDir() {
			continue
		}

		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return fmt.Errorf("read migration: %w", err)
		}

		writeField(h, "file", e.Name(), string(body))
	}

	return nil
}

// writeField writes length-prefixed values, so that no two inputs hash alike by moving
// bytes between fields.
func writeField(h hash.Hash, values ...string) {
	for _, v := range values {
		fmt.Fprintf(h, "%d:%s", len(v), v)
	}
}

// ensureTemplate builds the template unless it exists. Another process may be building
// the same template: the session-level advisory lock makes it wait and then reuse it.
// A template only gets its final name when complete, so existing means usable.
func ensureTemplate(ctx context.Context, conn *pgx.Conn, server string, tmpl template) error {
	if ok, err := exists(ctx, conn, tmpl.name); err != nil || ok {
		return err
	}

	key := lockKey(tmpl.name)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}

	// Closing conn would free the lock too; unlocking keeps the order obvious.
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()

	if ok, err := exists(ctx, conn, tmpl.name); err != nil || ok {
		return err
	}

	return build(ctx, conn, server, tmpl)
}

// build migrates the template under a temporary name and renames it when done. A
// leftover of that name comes from a process that died while building: holding the lock
// proves nobody is building it any more.
func build(ctx context.Context, conn *pgx.Conn, server string, tmpl template) error {
	building := tmpl.name + "_building"
	if err := dropDatabase(ctx, conn, building); err != nil {
		return fmt.Errorf("drop stale template: %w", err)
	}

	quoted := pgx.Identifier{building}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+quoted+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create template: %w", err)
	}

	err := migrate(ctx, server, building, tmpl.sources)
	if err == nil {
		// Nobody may connect to a template: CREATE DATABASE refuses a source in use.
		_, err = conn.Exec(ctx, "ALTER DATABASE "+quoted+" WITH ALLOW_CONNECTIONS false")
	}

	if err == nil {
		_, err = conn.Exec(ctx, "ALTER DATABASE "+quoted+" RENAME TO "+pgx.Identifier{tmpl.name}.Sanitize())
	}

	if err != nil {
		return errors.Join(fmt.Errorf("build template: %w", err), dropDatabase(ctx, conn, building))
	}

	return nil
}

// migrate applies the sources to database db and closes every connection to it.
func migrate(ctx context.Context, server, db string, sources []migration.Source) error {
	dsn, err := databaseURL(server, db)
	if err != nil {
		return err
	}

	pool, err := newPool(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()

	_, err = migration.NewRunner(pool, sources, io.Discard).Up(ctx)

	return err
}

func exists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool

	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("find database %s: %w", name, err)
	}

	return ok, nil
}

// lockKey derives an advisory lock key from name, stable across processes.
func lockKey(name string) int64 {
	sum := sha256.Sum256([]byte("modulith.testutil." + name))

	var key int64
	for _, b := range sum[:8] {
		key = key<<8 | int64(b)
	}

	return key
}
