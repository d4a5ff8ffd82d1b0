package database_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/database"
	domainerrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/pgtest"
)

// WithTx commits when fn returns nil, and rolls back when fn fails,
// panics or exits its goroutine.
func TestWithTx(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)
	if _, err := db.Pool.Exec(t.Context(), `CREATE TABLE notes (body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	insert := func(body string) func(tx pgx.Tx) error {
		return func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), `INSERT INTO notes VALUES ($1)`, body)

			return err
		}
	}

	errFailed := errors.New("failed")

	// Each case runs in a goroutine of its own, so that Goexit ends only it.
	run := func(fn func(tx pgx.Tx) error) (err error, panicked bool) {
		var wg sync.WaitGroup

		wg.Go(func() {
			defer func() { panicked = recover() != nil }()

			err = database.WithTx(context.Background(), db.Pool, fn)
		})
		wg.Wait()

		return err, panicked
	}

	if err, _ := run(insert("kept")); err != nil {
		t.Fatalf("WithTx(succeeding fn) = %v", err)
	}

	if err, _ := run(func(tx pgx.Tx) error { _ = insert("failed")(tx); return errFailed }); !errors.Is(err, errFailed) {
		t.Errorf("WithTx(failing fn) = %v, want fn's error", err)
	}

	if _, panicked := run(func(tx pgx.Tx) error { _ = insert("panicked")(tx); panic("boom") }); !panicked {
		t.Error("WithTx swallowed fn's panic")
	}

	_, _ = run(func(tx pgx.Tx) error { _ = insert("exited")(tx); runtime.Goexit(); return nil })

	rows, err := db.Pool.Query(t.Context(), `SELECT body FROM notes ORDER BY body`)
	if err != nil {
		t.Fatal(err)
	}

	bodies, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}

	if len(bodies) != 1 || bodies[0] != "kept" {
		t.Errorf("rows after WithTx = %q, want only the committed one", bodies)
	}
}

// A transaction that cannot begin is Unavailable.
func TestWithTxBeginFails(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	called := false

	err := database.WithTx(ctx, db.Pool, func(pgx.Tx) error { called = true; return nil })
	if !domainerrors.IsType(err, domainerrors.TypeUnavailable) || called {
		t.Errorf("WithTx(cancelled context) = %v (fn called: %v), want Unavailable without calling fn", err, called)
	}
}
