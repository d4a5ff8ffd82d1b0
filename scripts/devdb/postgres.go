package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connectTimeout bounds one connection attempt: a server that answers at all
// answers well within it.
const connectTimeout = 3 * time.Second

// SQLSTATE codes devdb handles.
const (
	invalidCatalogName = "3D000" // the database does not exist
	duplicateDatabase  = "42P04" // someone else created it first
)

// ping connects to dsn and disconnects. Classify its error with
// databaseMissing and serverAnswered.
func ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	if err := conn.Close(ctx); err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}

	return nil
}

// serverAnswered reports whether err came from a PostgreSQL server, as
// opposed to nothing listening or the network.
func serverAnswered(err error) bool {
	var pgErr *pgconn.PgError

	return errors.As(err, &pgErr)
}

// databaseMissing reports whether err says the database does not exist.
func databaseMissing(err error) bool {
	var pgErr *pgconn.PgError

	return errors.As(err, &pgErr) && pgErr.Code == invalidCatalogName
}

// waitAnswering pings t until its server answers, whether or not its
// database exists yet, or until the timeout.
func waitAnswering(ctx context.Context, t target, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)

	for {
		err := ping(ctx, t.dsn())
		if err == nil || serverAnswered(err) {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL did not answer at %s within %s: %w", t, timeout, err)
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for PostgreSQL at %s: %w", t, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ensureDatabase creates the database of t unless it exists, and reports
// whether it did.
func ensureDatabase(ctx context.Context, t target) (created bool, err error) {
	err = ping(ctx, t.dsn())
	if err == nil {
		return false, nil
	}

	if !databaseMissing(err) {
		return false, fmt.Errorf("PostgreSQL at %s: %w", t, err)
	}

	err = maintain(ctx, t, func(conn *pgx.Conn) error {
		return createDatabase(ctx, conn, t.database)
	})

	return err == nil, err
}

// recreateDatabase drops the database of t, disconnecting its sessions,
// and creates it again, empty.
func recreateDatabase(ctx context.Context, t target) error {
	if t.database == maintenanceDB || t.database == "template0" || t.database == "template1" {
		return fmt.Errorf("refusing to drop the %q database, which PostgreSQL needs; point DB_DSN at another", t.database)
	}

	return maintain(ctx, t, func(conn *pgx.Conn) error {
		sql := "DROP DATABASE IF EXISTS " + pgx.Identifier{t.database}.Sanitize() + " WITH (FORCE)"
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("drop database %q: %w", t.database, err)
		}

		return createDatabase(ctx, conn, t.database)
	})
}

// createDatabase creates database name; one created concurrently is fine.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())

	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == duplicateDatabase {
		return nil
	}

	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}

	return nil
}

// maintain calls f with a connection to the maintenance database of t's server.
func maintain(ctx context.Context, t target, f func(*pgx.Conn) error) (err error) {
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()

	conn, err := pgx.Connect(connectCtx, t.withDatabase(maintenanceDB))
	if err != nil {
		return fmt.Errorf("connect to the %s database at %s: %w", maintenanceDB, t.address(), err)
	}

	defer func() {
		if cerr := conn.Close(ctx); err == nil && cerr != nil {
			err = fmt.Errorf("disconnect: %w", cerr)
		}
	}()

	return f(conn)
}
