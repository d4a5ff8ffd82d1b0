package repo_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/repo"
)

// schema is the tiny store of the tests: notes, and the events a fake bus
// stores in the transaction it is handed, as the real one does.
const schema = `
CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL);
CREATE TABLE published (seq serial PRIMARY KEY, name text NOT NULL, note_id text NOT NULL);`

// dbtx is what queries run on: the pool or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queries stands for a sqlc store.
type queries struct{ db dbtx }

func (q *queries) WithTx(tx pgx.Tx) *queries { return &queries{db: tx} }

// notes is a module's repository built on repo.Base, as the modules build
// theirs.
type notes struct{ repo.Base[*queries] }

func (r notes) WithTx(ctx context.Context, fn func(tx notes) error) error {
	return r.InTx(ctx, func(b repo.Base[*queries]) error { return fn(notes{b}) })
}

// Create stores a note; a nil body breaks the NOT NULL constraint.
func (r notes) Create(ctx context.Context, id string, body *string) (err error) {
	ctx, end := r.Span(ctx, "Create", "note")
	defer end(&err)

	_, err = r.Q.db.Exec(ctx, "INSERT INTO notes VALUES ($1, $2)", id, body)

	return err
}

func (r notes) Body(ctx context.Context, id string) (_ string, err error) {
	ctx, end := r.Span(ctx, "Body", "note")
	defer end(&err)

	var body string

	err = r.Q.db.QueryRow(ctx, "SELECT body FROM notes WHERE id = $1", id).Scan(&body)

	return body, err
}

// noteAdded is the event the tests publish.
type noteAdded struct {
	NoteID string `json:"note_id"`
}

func (noteAdded) EventName() string { return "note.added" }
func (noteAdded) EventVersion() int { return 1 }
func (e noteAdded) Validate() error {
	if e.NoteID == "" {
		return stderrors.New("note_id is required")
	}

	return nil
}

// fakeBus stores events in the transaction it is handed; it fails on a
// nil one, or on an event whose Validate fails, as the bus does.
type fakeBus struct{}

func (fakeBus) Publish(ctx context.Context, tx pgx.Tx, p events.Payload) error {
	if tx == nil {
		return stderrors.New("publish outside a transaction")
	}

	e, ok := p.(noteAdded)
	if !ok || e.Validate() != nil {
		return fmt.Errorf("invalid payload %#v", p)
	}

	_, err := tx.Exec(ctx, "INSERT INTO published (name, note_id) VALUES ($1, $2)", e.EventName(), e.NoteID)

	return err
}

// errRollback is what a test returns from InTx to make it roll back.
var errRollback = errors.Conflict("roll back")

func newNotes(t *testing.T) (notes, *pgxpool.Pool) {
	t.Helper()

	db := pgtest.NewDatabase(t)
	if _, err := db.Pool.Exec(t.Context(), schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}

	return notes{repo.New("notes", db.Pool, fakeBus{}, &queries{db: db.Pool})}, db.Pool
}

func ptr(s string) *string { return &s }

// stored returns the IDs of the notes stored and of those published, in
// order.
func stored(t *testing.T, pool *pgxpool.Pool) (noteIDs, publishedIDs []string) {
	t.Helper()

	query := func(sql string) []string {
		rows, err := pool.Query(t.Context(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}

		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}

		return ids
	}

	return query("SELECT id FROM notes ORDER BY id"), query("SELECT note_id FROM published ORDER BY seq")
}

// wantStored fails unless the notes stored and published are exactly
// those.
func wantStored(t *testing.T, pool *pgxpool.Pool, wantNotes, wantPublished []string) {
	t.Helper()

	gotNotes, gotPublished := stored(t, pool)
	if diff := cmp.Diff(wantNotes, gotNotes, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(wantPublished, gotPublished, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// outcome is what a test sees of an error: the type and message of the
// domain error in its chain, or no type and the error's text.
type outcome struct {
	Type    errors.Type
	Message string
}

func outcomeOf(err error) outcome {
	var de *errors.DomainError
	if stderrors.As(err, &de) {
		return outcome{Type: de.Type, Message: de.Message}
	}

	return outcome{Message: err.Error()}
}

// TestTranslate checks driver errors become domain errors naming the
// entity, other errors are wrapped with it, and none loses its cause.
func TestTranslate(t *testing.T) {
	t.Parallel()

	fk := &pgconn.PgError{Code: "23503", Message: "violates foreign key constraint"}

	tests := []struct {
		name string
		err  error
		want outcome
	}{
		{name: "no rows", err: pgx.ErrNoRows, want: outcome{errors.TypeNotFound, "note not found"}},
		{name: "wrapped no rows", err: fmt.Errorf("scan: %w", pgx.ErrNoRows), want: outcome{errors.TypeNotFound, "note not found"}},
		{name: "unique violation", err: &pgconn.PgError{Code: "23505"}, want: outcome{errors.TypeAlreadyExists, "note already exists"}},
		{name: "wrapped unique violation", err: fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), want: outcome{errors.TypeAlreadyExists, "note already exists"}},
		{name: "domain error", err: errors.Forbidden("not yours"), want: outcome{errors.TypeForbidden, "not yours"}},
		{name: "other driver error", err: fk, want: outcome{Message: "note: " + fk.Error()}},
		{name: "other error", err: stderrors.New("connection reset"), want: outcome{Message: "note: connection reset"}},
		{
			name: "database shutting down", err: &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"},
			want: outcome{errors.TypeUnavailable, "database unavailable"},
		},
		{
			name: "connection lost", err: fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF),
			want: outcome{errors.TypeUnavailable, "database unavailable"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := repo.Translate("note", tt.err)
			if !stderrors.Is(got, tt.err) {
				t.Errorf("Translate(note, %v) = %v, want it to wrap its cause", tt.err, got)
			}

			if diff := cmp.Diff(tt.want, outcomeOf(got)); diff != "" {
				t.Errorf("Translate(note, %v) (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

// TestTranslateKeepsDomainErrors checks a domain error comes back as it
// is, wrapped or not, and nil stays nil.
func TestTranslateKeepsDomainErrors(t *testing.T) {
	t.Parallel()

	domain := errors.Forbidden("not yours")
	wrapped := fmt.Errorf("check: %w", domain)

	for _, err := range []error{domain, wrapped} {
		if got := repo.Translate("note", err); got.Error() != err.Error() || !stderrors.Is(got, domain) {
			t.Errorf("Translate(note, %v) = %v, want it unchanged", err, got)
		}
	}

	if got := repo.Translate("note", nil); got != nil {
		t.Errorf("Translate(note, nil) = %v, want nil", got)
	}
}

// TestSpanTranslates checks a repository operation's error is translated
// when it ends: what the driver says on a real database becomes a domain
// error naming the entity.
func TestSpanTranslates(t *testing.T) {
	t.Parallel()

	r, _ := newNotes(t)
	if err := r.Create(t.Context(), "n1", ptr("first")); err != nil {
		t.Fatalf("Create(n1) = %v", err)
	}

	var pgErr *pgconn.PgError

	if _, err := r.Body(t.Context(), "missing"); !errors.IsType(err, errors.TypeNotFound) || !stderrors.Is(err, pgx.ErrNoRows) {
		t.Errorf("Body(missing) = %v, want not_found wrapping %v", err, pgx.ErrNoRows)
	}

	if err := r.Create(t.Context(), "n1", ptr("again")); !errors.IsType(err, errors.TypeAlreadyExists) || !stderrors.As(err, &pgErr) {
		t.Errorf("Create(n1) again = %v, want already_exists wrapping the driver's error", err)
	}

	err := r.Create(t.Context(), "n2", nil)
	if !stderrors.As(err, &pgErr) || pgErr.Code != "23502" || outcomeOf(err).Type != "" {
		t.Errorf("Create(n2, NULL) = %v, want the not-null violation, not a domain error", err)
	}
}

func TestInTx(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		ret  error // what the function returns after creating and publishing
		want []string
	}{
		{name: "commits", want: []string{"n1"}},
		{name: "rolls back on error", ret: errRollback},
		{name: "rolls back on a driver error", ret: &pgconn.PgError{Code: "40001"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			r, pool := newNotes(t)

			err := r.WithTx(t.Context(), func(tx notes) error {
				if err := createAndPublish(t.Context(), tx, "n1"); err != nil {
					return err
				}

				wantStored(t, pool, nil, nil) // nothing seen outside before the commit

				return tt.ret
			})
			if !returned(err, tt.ret) {
				t.Fatalf("InTx = %v, want %v", err, tt.ret)
			}

			wantStored(t, pool, tt.want, tt.want)
		})
	}
}

// returned reports whether InTx returned err for a function that returned
// want: want itself, nil for nil.
func returned(err, want error) bool {
	return stderrors.Is(err, want) && (want == nil) == (err == nil)
}

// createAndPublish creates note id and publishes its event in r.
func createAndPublish(ctx context.Context, r notes, id string) error {
	if err := r.Create(ctx, id, ptr("body of "+id)); err != nil {
		return err
	}

	return r.Publish(ctx, noteAdded{NoteID: id})
}

func TestInTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()

	r, pool := newNotes(t)

	got := catch(func() {
		_ = r.WithTx(t.Context(), func(tx notes) error {
			if err := createAndPublish(t.Context(), tx, "n1"); err != nil {
				return err
			}

			panic("boom")
		})
	})
	if got != "boom" {
		t.Fatalf("InTx recovered %v, want the re-panic of boom", got)
	}

	wantStored(t, pool, nil, nil)

	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("connections still acquired after a panicking InTx = %d, want 0", n)
	}
}

// catch runs fn and returns what it panicked with, nil if it did not.
func catch(fn func()) (p any) {
	defer func() { p = recover() }()

	fn()

	return nil
}

// TestInTxJoinsOuter checks a nested InTx runs in the outer transaction:
// it sees the outer writes, and what it does commits or rolls back with
// the outer transaction, whatever it returns.
func TestInTxJoinsOuter(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		inner error // what the nested function returns
		outer error // what the outer function returns
		want  []string
	}{
		{name: "both commit", want: []string{"inner", "outer"}},
		{name: "outer rolls back", outer: errRollback},
		{name: "inner fails, outer rolls back", inner: errRollback, outer: errRollback},
		// The outer function ignores the inner failure: it cannot undo the
		// inner writes, which belong to the outer transaction.
		{name: "inner fails, outer commits", inner: errRollback, want: []string{"inner", "outer"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			r, pool := newNotes(t)

			err := r.WithTx(t.Context(), func(tx notes) error {
				if err := createAndPublish(t.Context(), tx, "outer"); err != nil {
					return err
				}

				if err := tx.WithTx(t.Context(), nested(t, tt.inner)); !returned(err, tt.inner) {
					t.Errorf("nested InTx = %v, want %v", err, tt.inner)
				}

				return tt.outer
			})
			if !returned(err, tt.outer) {
				t.Fatalf("InTx = %v, want %v", err, tt.outer)
			}

			var published []string
			if tt.want != nil {
				published = []string{"outer", "inner"}
			}

			wantStored(t, pool, tt.want, published)
		})
	}
}

// nested is the function of a nested InTx: it checks the outer
// transaction's note is visible, creates and publishes note "inner", and
// returns ret.
func nested(t *testing.T, ret error) func(tx notes) error {
	return func(tx notes) error {
		if _, err := tx.Body(t.Context(), "outer"); err != nil {
			t.Errorf("Body(outer) in the nested InTx = %v, want the outer transaction's note", err)
		}

		if err := createAndPublish(t.Context(), tx, "inner"); err != nil {
			return err
		}

		return ret
	}
}

// TestPublishOutsideTx checks Publish outside InTx stores the event in a
// transaction of its own, which a later rollback does not undo.
func TestPublishOutsideTx(t *testing.T) {
	t.Parallel()

	r, pool := newNotes(t)

	if err := r.Publish(t.Context(), noteAdded{NoteID: "n1"}); err != nil {
		t.Fatalf("Publish(n1) = %v", err)
	}

	wantStored(t, pool, nil, []string{"n1"})

	if err := r.WithTx(t.Context(), func(notes) error { return errRollback }); !stderrors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want %v", err, errRollback)
	}

	wantStored(t, pool, nil, []string{"n1"})
}

// TestPublishFails checks a publication the bus refuses comes back as an
// error: inside InTx, the function returning it rolls back the change.
func TestPublishFails(t *testing.T) {
	t.Parallel()

	r, pool := newNotes(t)

	if err := r.Publish(t.Context(), noteAdded{}); err == nil {
		t.Errorf("Publish(no ID) = nil, want the bus's error")
	}

	err := r.WithTx(t.Context(), func(tx notes) error {
		if err := tx.Create(t.Context(), "n1", ptr("body")); err != nil {
			return err
		}

		return tx.Publish(t.Context(), noteAdded{})
	})
	if err == nil {
		t.Errorf("InTx(Create, Publish(no ID)) = nil, want the bus's error")
	}

	wantStored(t, pool, nil, nil)
}
