package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/pgtest"
)

// TestCancelQueriesOnTimeout: a query whose context ends is canceled by
// PostgreSQL, and the transaction and its connection stay usable (rolling
// back to a savepoint works), where pgx's default would close the
// connection.
func TestCancelQueriesOnTimeout(t *testing.T) {
	t.Parallel()

	pool := newPool(t, pgtest.NewDatabase(t).DSN)

	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
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
