package repository_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/resources"
)

// now is the instant the tests pretend it is, at PostgreSQL's microsecond
// precision so that values read back compare equal.
var now = time.Date(2026, time.January, 2, 3, 4, 5, 678901234, time.UTC).Truncate(time.Microsecond)

// errRollback is what a test returns from WithTx to make it roll back.
var errRollback = errors.Conflict("roll back")

// newRepo returns a repository on a fresh, migrated database of the
// test's own (the events schema included), publishing through a real bus.
func newRepo(t *testing.T) (*repository.SQL, *pgxpool.Pool) {
	t.Helper()

	repo, _, pool := newRepoBus(t)

	return repo, pool
}

// newRepoBus is newRepo that also returns the bus, which is not started:
// events stay in the outbox for the test to read.
func newRepoBus(t *testing.T) (*repository.SQL, *events.Bus, *pgxpool.Pool) {
	t.Helper()

	db := pgtest.NewDatabase(t,
		migration.Source{Module: events.SchemaName, Migrations: events.Migrations()},
		migration.Source{Module: "auth", Migrations: resources.Migrations(), Seeds: resources.Seeds()},
	)

	bus, err := events.New(db.Pool, busConfig(), secrets.Fixed(bytes.Repeat([]byte{0x42}, 32)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("events.New(%+v) = %v", busConfig(), err)
	}

	return repository.New(db.Pool, bus), bus, db.Pool
}

// busConfig is the events configuration at its defaults, with one worker.
func busConfig() events.Config {
	return events.Config{
		Transport: events.TransportPostgres, MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
		Retention: 168 * time.Hour, Workers: 1, BatchSize: 32, PollInterval: time.Second, HandlerTimeout: 30 * time.Second,
	}
}

func newID(t *testing.T, prefix string) string {
	t.Helper()

	id, err := typeid.WithPrefix(prefix)
	if err != nil {
		t.Fatalf("typeid.WithPrefix(%q) = %v", prefix, err)
	}

	return id.String()
}

// wantType fails the test unless err is a domain error of type want.
func wantType(t *testing.T, call string, err error, want errors.Type) {
	t.Helper()

	if !errors.IsType(err, want) {
		t.Errorf("%s = %v, want a %s error", call, err, want)
	}
}

// race runs fn(ctx, i) for i in [0, n) at once and returns the error of
// each run.
func race(t *testing.T, n int, fn func(ctx context.Context, i int) error) []error {
	t.Helper()

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)

	for i := range n {
		wg.Go(func() {
			<-start

			errs[i] = fn(t.Context(), i)
		})
	}

	close(start)
	wg.Wait()

	return errs
}

// wantOneWinner checks that exactly one run succeeded and every other one
// found nothing.
func wantOneWinner(t *testing.T, errs []error) {
	t.Helper()

	won, lost := 0, 0

	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.IsType(err, errors.TypeNotFound):
			lost++
		default:
			t.Errorf("concurrent run = %v, want nil or a not_found error", err)
		}
	}

	if won != 1 || lost != len(errs)-1 {
		t.Errorf("of %d concurrent runs %d succeeded and %d found nothing, want 1 and %d",
			len(errs), won, lost, len(errs)-1)
	}
}

func newUser(t *testing.T, email, phone string) models.User {
	t.Helper()

	return models.User{
		ID: newID(t, "user"), Email: email, Phone: phone, DisplayName: "Ada Lovelace", Role: "user", CreatedAt: now,
	}
}

func mustCreateUser(t *testing.T, repo repository.Repository, email, phone string) models.User {
	t.Helper()

	u, err := repo.CreateUser(t.Context(), newUser(t, email, phone))
	if err != nil {
		t.Fatalf("CreateUser(%q, %q) = %v", email, phone, err)
	}

	return u
}

// wantNoUser fails the test unless the user with id is absent.
func wantNoUser(t *testing.T, repo repository.Repository, id string) {
	t.Helper()

	_, err := repo.User(t.Context(), id)
	wantType(t, fmt.Sprintf("User(%q)", id), err, errors.TypeNotFound)
}

func TestWithTxCommits(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	want := newUser(t, "ada@example.com", "")
	want.UpdatedAt = now

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		_, err := tx.CreateUser(t.Context(), want)

		return err
	})
	if err != nil {
		t.Fatalf("WithTx(CreateUser) = %v", err)
	}

	got, err := repo.User(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("User(%q) after commit = %v", want.ID, err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User(%q) after commit mismatch (-want +got):\n%s", want.ID, diff)
	}
}

// TestWithTxIsolates shows that the function runs in a transaction: its
// writes are invisible outside until the commit.
func TestWithTxIsolates(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	u := newUser(t, "ada@example.com", "")

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		if _, err := tx.CreateUser(t.Context(), u); err != nil {
			return err
		}

		if _, err := tx.User(t.Context(), u.ID); err != nil {
			t.Errorf("User(%q) inside the transaction = %v, want the new user", u.ID, err)
		}

		wantNoUser(t, repo, u.ID)

		return nil
	})
	if err != nil {
		t.Fatalf("WithTx = %v", err)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	u := newUser(t, "ada@example.com", "")

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		if _, err := tx.CreateUser(t.Context(), u); err != nil {
			return err
		}

		return errRollback
	})
	if !stderrors.Is(err, errRollback) {
		t.Fatalf("WithTx = %v, want %v", err, errRollback)
	}

	wantNoUser(t, repo, u.ID)
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	u := newUser(t, "ada@example.com", "")

	got := catch(func() {
		_ = repo.WithTx(t.Context(), func(tx repository.Repository) error {
			if _, err := tx.CreateUser(t.Context(), u); err != nil {
				return err
			}

			panic("boom")
		})
	})
	if got != "boom" {
		t.Fatalf("WithTx recovered %v, want the re-panic of boom", got)
	}

	wantNoUser(t, repo, u.ID)

	// The connection went back to the pool and works.
	if _, err := repo.CreateUser(t.Context(), u); err != nil {
		t.Errorf("CreateUser after a panicking WithTx = %v", err)
	}
}

// catch runs fn and returns what it panicked with, nil if it did not.
func catch(fn func()) (p any) {
	defer func() { p = recover() }()

	fn()

	return nil
}

func TestWithTxNestedJoinsOuter(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		inner error // what the inner function returns
	}{
		{"inner commits", nil},
		{"inner fails", errRollback},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			outer, inner := newUser(t, "ada@example.com", ""), newUser(t, "bob@example.com", "")

			err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
				if _, err := tx.CreateUser(t.Context(), outer); err != nil {
					return err
				}

				err := tx.WithTx(t.Context(), func(tx repository.Repository) error {
					return createThen(t, tx, inner, tt.inner)
				})
				if !stderrors.Is(err, tt.inner) {
					t.Errorf("nested WithTx = %v, want %v", err, tt.inner)
				}

				return errRollback
			})
			if !stderrors.Is(err, errRollback) {
				t.Fatalf("WithTx = %v, want %v", err, errRollback)
			}

			wantNoUser(t, repo, outer.ID)
			wantNoUser(t, repo, inner.ID)
		})
	}
}

// createThen creates u, checks that the outer transaction's user "ada" is
// visible, and returns ret.
func createThen(t *testing.T, tx repository.Repository, u models.User, ret error) error {
	t.Helper()

	if _, err := tx.UserByEmail(t.Context(), "ada@example.com"); err != nil {
		t.Errorf("UserByEmail in a nested WithTx = %v, want the outer transaction's user", err)
	}

	if _, err := tx.CreateUser(t.Context(), u); err != nil {
		return err
	}

	return ret
}
