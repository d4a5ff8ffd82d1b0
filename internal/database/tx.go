package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/errors"
)

// WithTx runs fn in a transaction of pool: committed when fn returns nil,
// rolled back when it returns an error, panics or exits its goroutine
// (runtime.Goexit, as t.FailNow does). A transaction that cannot begin is
// Unavailable, and so is a commit that fails because the database is
// unreachable (see Unreachable); fn's error is returned as it is. Module repositories build
// their WithTx on it.
func WithTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return errors.Unavailable("database unavailable", errors.WithCause(fmt.Errorf("begin: %w", err)))
	}

	finished := false

	defer func() {
		// fn panicked or called runtime.Goexit: never commit.
		if !finished {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()

	err = fn(tx)
	finished = true

	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))

		return err
	}

	if err := tx.Commit(ctx); err != nil {
		if Unreachable(err) {
			return errors.Unavailable("database unavailable", errors.WithCause(fmt.Errorf("commit: %w", err)))
		}

		return fmt.Errorf("commit: %w", err)
	}

	return nil
}
