package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/pgtest"
)

// TestCancelQueriesOnTimeout: a query whose context ends is canceled by
// PostgreSQL, and the transaction and its connection stay usable (rolling
// back to a savepoint works), where pgx's default would close the
// connection.
func TestCancelQueriesOnTimeout(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}

	database.CancelQueriesOnTimeout(cfg.ConnConfig)

	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		sp, err := tx.Begin(t.Context())
		if err != nil {
			return err
		}

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()

		if _, err := sp.Exec(ctx, "SELECT pg_sleep(5)"); err == nil {
			t.Error("pg_sleep(5) with a 100ms context succeeded, want it canceled")
		}

		if err := sp.Rollback(t.Context()); err != nil {
			return errors.Join(errors.New("the transaction did not survive the canceled statement"), err)
		}

		var one int

		return tx.QueryRow(t.Context(), "SELECT 1").Scan(&one)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListenUnblocksWhenContextEnds: a listener waiting for notifications
// returns as soon as its context ends, not after the cancel grace that
// pooled connections allow a query.
func TestListenUnblocksWhenContextEnds(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}

	database.CancelQueriesOnTimeout(cfg.ConnConfig)

	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	conn, err := database.Listen(t.Context(), pool, "test_channel")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	if _, err := pool.Exec(t.Context(), "SELECT pg_notify('test_channel', 'hello')"); err != nil {
		t.Fatal(err)
	}

	n, err := conn.WaitForNotification(t.Context())
	if err != nil || n.Payload != "hello" {
		t.Fatalf("WaitForNotification() = %v, %v; want payload hello", n, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()

	returned := make(chan struct{})

	go func() {
		_, _ = conn.WaitForNotification(ctx)

		close(returned)
	}()

	select {
	case <-returned:
	case <-time.After(time.Second):
		t.Fatal("WaitForNotification still blocked 1s after its context ended")
	}
}
