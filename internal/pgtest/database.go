package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/migration"
)

const (
	// walLog is the CREATE DATABASE strategy for clones. On PostgreSQL 15 with fsync on it
	// beat FILE_COPY, whose two checkpoints per clone grow with the writes of parallel
	// tests; with fsync off the two were even (see BenchmarkClone).
	walLog = "WAL_LOG"

	setupTimeout = 2 * time.Minute
	dropTimeout  = 30 * time.Second
	poolMaxConns = 4
)

// Database is a test's own database.
type Database struct {
	Pool *pgxpool.Pool // at most 4 connections, closed when the test ends
	DSN  string        // postgres:// URL, for code under test that opens its own pool
	Name string
}

// NewDatabase returns a pool on a new database that has every migration of sources
// applied and no other data (seeds are not run). The database is dropped when the test
// ends. It is safe for parallel tests and for many test processes on one server.
func NewDatabase(t testing.TB, sources ...migration.Source) *Database {
	t.Helper()

	server := ServerURL(t)

	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()

	tmpl, err := newTemplate(sources)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	name := "t_" + randomHex()
	if err := create(ctx, server, tmpl, name); err != nil {
		t.Fatalf("pgtest: create database %s from %s: %v", name, tmpl.name, err)
	}

	t.Cleanup(func() {
		if err := drop(server, name); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	dsn, err := databaseURL(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	pool, err := newPool(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	t.Cleanup(pool.Close) // runs before the drop above

	return &Database{Pool: pool, DSN: dsn, Name: name}
}

// create makes sure the template exists and clones it as name, on one maintenance
// connection that is closed before create returns.
func create(ctx context.Context, server string, tmpl template, name string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", envURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if err := ensureTemplate(ctx, conn, server, tmpl); err != nil {
		return err
	}

	return clone(ctx, conn, tmpl.name, name, walLog)
}

func clone(ctx context.Context, conn *pgx.Conn, tmpl, name, strategy string) error {
	_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()+" STRATEGY "+strategy)
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}

	return nil
}

func drop(server, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()

	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)

	return dropDatabase(ctx, conn, name)
}

func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop: %w", err)
	}

	return nil
}

func newPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse pool config: %w", err)
	}

	cfg.MaxConns = poolMaxConns
	database.CancelQueriesOnTimeout(cfg.ConnConfig)

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}

	return pool, nil
}

// databaseURL returns server with its database replaced by name.
func databaseURL(server, name string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The parse error would repeat the URL, password included.
		return "", fmt.Errorf("%s must be a postgres:// URL", envURL)
	}

	u.Path = "/" + name
	u.RawPath = ""

	return u.String(), nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails since Go 1.24

	return hex.EncodeToString(b)
}
