package repository_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/secrets"
	orderevents "github.com/modulith/modulith/modules/orders/events"
	"github.com/modulith/modulith/modules/orders/internal/models"
	"github.com/modulith/modulith/modules/orders/internal/repository"
	"github.com/modulith/modulith/modules/orders/resources"
)

// now is the instant the tests pretend it is, at PostgreSQL's microsecond
// precision so that values read back compare equal.
var now = time.Date(2026, time.January, 2, 3, 4, 5, 678901000, time.UTC)

// errRollback is what a test returns from WithTx to make it roll back.
var errRollback = errors.Conflict("roll back")

// newRepo returns a repository on a fresh, migrated database of the
// test's own (the events schema included), publishing through a real bus
// that is not started: events stay in the outbox for the test to read.
func newRepo(t *testing.T) (*repository.SQL, *pgxpool.Pool) {
	t.Helper()

	db := pgtest.NewDatabase(t,
		migration.Source{Module: events.SchemaName, Migrations: events.Migrations()},
		migration.Source{Module: "orders", Migrations: resources.Migrations()},
	)

	cfg := events.Config{
		Transport: events.TransportPostgres, MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
		Retention: 168 * time.Hour, Workers: 1, BatchSize: 32, PollInterval: time.Second, HandlerTimeout: 30 * time.Second,
	}

	bus, err := events.New(db.Pool, cfg, secrets.Fixed(bytes.Repeat([]byte{0x42}, 32)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("events.New(%+v) = %v", cfg, err)
	}

	return repository.New(db.Pool, bus), db.Pool
}

// newIDs returns n order IDs in ascending order (oldest first).
func newIDs(t *testing.T, n int) []string {
	t.Helper()

	ids := make([]string, n)
	for i := range ids {
		id, err := typeid.WithPrefix("order")
		if err != nil {
			t.Fatalf("typeid.WithPrefix(order) = %v", err)
		}

		ids[i] = id.String()
	}

	slices.Sort(ids)

	return ids
}

// newOrder is a placed order of userID whose items make its ID visible.
func newOrder(id, userID string) models.Order {
	return models.Order{
		ID: id, UserID: userID, Status: models.StatusPlaced, Currency: "EUR", TotalMinor: 2*150 + 1000,
		Items: []models.Item{
			{SKU: "z-last-" + id[len(id)-4:], Quantity: 2, UnitPriceMinor: 150},
			{SKU: "a-first", Quantity: 1, UnitPriceMinor: 1000},
		},
		CreatedAt: now, UpdatedAt: now,
	}
}

func mustCreate(t *testing.T, repo repository.Repository, o models.Order) {
	t.Helper()

	if err := repo.CreateOrder(t.Context(), o); err != nil {
		t.Fatalf("CreateOrder(%s) = %v", o.ID, err)
	}
}

// count returns the number of rows of a query of the form
// SELECT count(*) ….
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()

	var n int
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s = %v", query, err)
	}

	return n
}

func TestCreateOrderRoundTrip(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	want := newOrder(newIDs(t, 1)[0], "user_ada")
	want.Items = append(want.Items, models.Item{SKU: "m-middle", Quantity: 50, UnitPriceMinor: 0})
	want.CreatedAt = now.In(time.FixedZone("CET", 3600))
	want.UpdatedAt = time.Time{} // CreateOrder stores CreatedAt as both

	mustCreate(t, repo, want)

	got, err := repo.Order(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Order(%q) = %v", want.ID, err)
	}

	want.UpdatedAt = now

	// cmp compares times with Equal: the zone does not matter, the instant does.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Order(%q) (-want +got):\n%s", want.ID, diff)
	}
}

func TestCreateOrderTwice(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	o := newOrder(newIDs(t, 1)[0], "user_ada")
	mustCreate(t, repo, o)

	// Before the plumbing translated errors once (internal/repo), orders
	// answered a duplicate with an untyped error: an Internal at the
	// boundary.
	err := repo.CreateOrder(t.Context(), o)
	if !errors.IsType(err, errors.TypeAlreadyExists) {
		t.Errorf("CreateOrder(%s) again = %v, want an already_exists error", o.ID, err)
	}

	if n := count(t, pool, "SELECT count(*) FROM orders.order_items WHERE order_id = $1", o.ID); n != len(o.Items) {
		t.Errorf("order_items of %s = %d, want %d", o.ID, n, len(o.Items))
	}
}

// TestOrders checks pagination: newest (greatest ID) first, below the
// cursor, at most limit, only the user's own, each with its own items.
func TestOrders(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ids := newIDs(t, 8)

	// Ada's orders interleave with Bob's, and are inserted out of order: the
	// order of IDs decides, not the order of insertion.
	var ada, bob []models.Order

	for i, id := range ids {
		if i%3 == 1 {
			bob = append(bob, newOrder(id, "user_bob"))
		} else {
			ada = append(ada, newOrder(id, "user_ada"))
		}
	}

	for _, i := range []int{2, 0, 4, 1, 3} {
		mustCreate(t, repo, ada[i])
	}

	for _, o := range bob {
		mustCreate(t, repo, o)
	}

	// Newest first, as Orders returns them.
	slices.Reverse(ada)
	slices.Reverse(bob)

	tests := []struct {
		name  string
		user  string
		after string
		limit int32
		want  []models.Order
	}{
		{name: "all", user: "user_ada", limit: 10, want: ada},
		{name: "first page", user: "user_ada", limit: 2, want: ada[:2]},
		{name: "second page", user: "user_ada", after: ada[1].ID, limit: 2, want: ada[2:4]},
		{name: "last page", user: "user_ada", after: ada[3].ID, limit: 2, want: ada[4:]},
		{name: "past the end", user: "user_ada", after: ada[4].ID, limit: 2},
		{name: "after another user's order", user: "user_ada", after: bob[1].ID, limit: 10, want: below(ada, bob[1].ID)},
		{name: "other user", user: "user_bob", limit: 10, want: bob},
		{name: "no orders", user: "user_eve", limit: 10},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := repo.Orders(t.Context(), tt.user, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("Orders(%q, %q, %d) = %v", tt.user, tt.after, tt.limit, err)
			}

			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Orders(%q, %q, %d) (-want +got):\n%s", tt.user, tt.after, tt.limit, diff)
			}
		})
	}
}

// below returns the orders with IDs below id.
func below(orders []models.Order, id string) []models.Order {
	return slices.DeleteFunc(slices.Clone(orders), func(o models.Order) bool { return o.ID >= id })
}

func TestLockAndCancelOrder(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	o := newOrder(newIDs(t, 1)[0], "user_ada")
	mustCreate(t, repo, o)

	later := now.Add(time.Hour)

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		locked, err := tx.LockOrder(t.Context(), o.ID)
		if err != nil {
			return err
		}

		if diff := cmp.Diff(o, locked); diff != "" {
			t.Errorf("LockOrder(%q) (-want +got):\n%s", o.ID, diff)
		}

		wantLocked(t, repo, o.ID)

		return tx.CancelOrder(t.Context(), o.ID, "changed my mind", later)
	})
	if err != nil {
		t.Fatalf("WithTx(LockOrder, CancelOrder) = %v", err)
	}

	got, err := repo.Order(t.Context(), o.ID)
	if err != nil {
		t.Fatalf("Order(%q) = %v", o.ID, err)
	}

	want := o
	want.Status, want.CancelReason, want.UpdatedAt = models.StatusCancelled, "changed my mind", later

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Order(%q) after CancelOrder (-want +got):\n%s", o.ID, diff)
	}
}

// wantLocked fails unless another transaction cannot lock order id now.
func wantLocked(t *testing.T, repo repository.Repository, id string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()

	err := repo.WithTx(ctx, func(tx repository.Repository) error {
		_, err := tx.LockOrder(ctx, id)

		return err
	})
	if err == nil {
		t.Errorf("LockOrder(%q) in another transaction = nil, want it to wait for the lock", id)
	}

	// A plain read does not wait.
	if _, err := repo.Order(t.Context(), id); err != nil {
		t.Errorf("Order(%q) while locked = %v", id, err)
	}
}

func TestMissingOrder(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	mustCreate(t, repo, newOrder(newIDs(t, 1)[0], "user_ada"))
	missing := newIDs(t, 1)[0]

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "Order", call: func(ctx context.Context) error {
			_, err := repo.Order(ctx, missing)

			return err
		}},
		{name: "LockOrder", call: func(ctx context.Context) error {
			return repo.WithTx(ctx, func(tx repository.Repository) error {
				_, err := tx.LockOrder(ctx, missing)

				return err
			})
		}},
		{name: "CancelOrder", call: func(ctx context.Context) error {
			return repo.CancelOrder(ctx, missing, "gone", time.Now())
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if err := tt.call(t.Context()); !errors.IsType(err, errors.TypeNotFound) {
				t.Errorf("%s(%q) = %v, want a not_found error", tt.name, missing, err)
			}
		})
	}
}

// outboxNames returns the names of the events in the outbox, oldest first.
func outboxNames(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()

	rows, err := pool.Query(t.Context(), "SELECT name, coalesce(ordering_key, '') FROM events.outbox ORDER BY seq")
	if err != nil {
		t.Fatalf("read events.outbox: %v", err)
	}
	defer rows.Close()

	var out []string

	for rows.Next() {
		var name, key string
		if err := rows.Scan(&name, &key); err != nil {
			t.Fatalf("read events.outbox: %v", err)
		}

		out = append(out, name+" "+key)
	}

	if err := rows.Err(); err != nil {
		t.Fatalf("read events.outbox: %v", err)
	}

	return out
}

// TestWithTx checks an order and its event are stored together or not at
// all, a nested WithTx joining the outer transaction.
func TestWithTx(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		nested bool  // create and publish in a nested WithTx
		ret    error // what the outer function returns
	}{
		{name: "commits"},
		{name: "rolls back", ret: errRollback},
		{name: "nested, commits", nested: true},
		{name: "nested, outer rolls back", nested: true, ret: errRollback},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, pool := newRepo(t)
			o := newOrder(newIDs(t, 1)[0], "user_ada")

			err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
				if err := createAndPublish(t.Context(), tx, o, tt.nested); err != nil {
					return err
				}

				if got := outboxNames(t, pool); len(got) != 0 {
					t.Errorf("events.outbox before the commit = %v, want it empty", got)
				}

				return tt.ret
			})
			if !stderrors.Is(err, tt.ret) || (tt.ret == nil && err != nil) {
				t.Fatalf("WithTx = %v, want %v", err, tt.ret)
			}

			wantStored(t, repo, pool, o, tt.ret == nil)
		})
	}
}

func createAndPublish(ctx context.Context, tx repository.Repository, o models.Order, nested bool) error {
	if nested {
		return tx.WithTx(ctx, func(tx repository.Repository) error { return createAndPublish(ctx, tx, o, false) })
	}

	if err := tx.CreateOrder(ctx, o); err != nil {
		return err
	}

	return tx.Publish(ctx, orderevents.OrderCreated{OrderID: o.ID, UserID: o.UserID})
}

// wantStored fails unless order o, its items and its order.created event
// are all stored (want true) or none of them is.
func wantStored(t *testing.T, repo repository.Repository, pool *pgxpool.Pool, o models.Order, want bool) {
	t.Helper()

	_, err := repo.Order(t.Context(), o.ID)
	if want && err != nil || !want && !errors.IsType(err, errors.TypeNotFound) {
		t.Errorf("Order(%q) = %v, want stored: %t", o.ID, err, want)
	}

	wantItems, wantEvents := 0, []string(nil)
	if want {
		wantItems, wantEvents = len(o.Items), []string{"order.created " + o.ID}
	}

	if n := count(t, pool, "SELECT count(*) FROM orders.order_items WHERE order_id = $1", o.ID); n != wantItems {
		t.Errorf("order_items of %s = %d, want %d", o.ID, n, wantItems)
	}

	if diff := cmp.Diff(wantEvents, outboxNames(t, pool)); diff != "" {
		t.Errorf("events.outbox (-want +got):\n%s", diff)
	}
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	o := newOrder(newIDs(t, 1)[0], "user_ada")

	got := catch(func() {
		_ = repo.WithTx(t.Context(), func(tx repository.Repository) error {
			if err := createAndPublish(t.Context(), tx, o, false); err != nil {
				return err
			}

			panic("boom")
		})
	})
	if got != "boom" {
		t.Fatalf("WithTx recovered %v, want the re-panic of boom", got)
	}

	wantStored(t, repo, pool, o, false)

	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("connections still acquired after a panicking WithTx = %d, want 0", n)
	}
}

// catch runs fn and returns what it panicked with, nil if it did not.
func catch(fn func()) (p any) {
	defer func() { p = recover() }()

	fn()

	return nil
}

// TestPublishOutsideTx checks Publish outside WithTx stores the event in a
// transaction of its own.
func TestPublishOutsideTx(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	e := orderevents.OrderCancelled{OrderID: "order_x", UserID: "user_ada"}

	if err := repo.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%s) = %v", e.EventName(), err)
	}

	if diff := cmp.Diff([]string{"order.cancelled order_x"}, outboxNames(t, pool)); diff != "" {
		t.Errorf("events.outbox (-want +got):\n%s", diff)
	}
}
