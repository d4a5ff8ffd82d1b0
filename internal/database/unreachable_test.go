package database_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/pgtest"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil},
		{name: "admin shutdown", err: &pgconn.PgError{Code: "57P01"}, want: true},
		{name: "crash shutdown", err: &pgconn.PgError{Code: "57P02"}, want: true},
		{name: "starting up", err: &pgconn.PgError{Code: "57P03"}, want: true},
		{name: "too many connections", err: &pgconn.PgError{Code: "53300"}, want: true},
		{name: "connection failure", err: fmt.Errorf("query: %w", &pgconn.PgError{Code: "08006"}), want: true},
		{name: "connection lost", err: fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), want: true},
		{name: "network error", err: &net.OpError{Op: "read", Net: "tcp", Err: fmt.Errorf("reset")}, want: true},
		{name: "conn closed", err: pgconn.ErrConnClosed, want: true},
		{name: "unique violation", err: &pgconn.PgError{Code: "23505"}},
		{name: "query canceled", err: &pgconn.PgError{Code: "57014"}},
		{name: "no rows", err: pgx.ErrNoRows},
		{name: "request deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded)},
		{name: "request canceled", err: context.Canceled},
		{name: "other error", err: fmt.Errorf("decode row")},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := database.Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestUnreachableDriverErrors checks the errors pgx really returns while
// the database is cut off: a pool that cannot connect, and a connection
// that breaks under a query.
func TestUnreachableDriverErrors(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)

	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	proxy.Break()

	_, queryErr := conn.Exec(t.Context(), "SELECT 1")
	_, acquireErr := pool.Exec(t.Context(), "SELECT 1")

	for what, err := range map[string]error{"query on a broken connection": queryErr, "query needing a new connection": acquireErr} {
		if err == nil || !database.Unreachable(err) {
			t.Errorf("%s: Unreachable(%v) = false, want true", what, err)
		}
	}
}
