// Package repository is the orders module's data access: it wraps the
// sqlc-generated store, speaks models, translates driver errors once (no
// rows → NotFound) and runs groups of operations in one transaction with
// WithTx, in which events are published too. It holds no business rules
// and never generates identifiers.
package repository

//go:generate go tool mockgen -destination=mocks/repository.go -package=mocks github.com/modulith/modulith/modules/orders/internal/repository Repository

import (
	"context"
	stderrors "errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/telemetry"
	"github.com/modulith/modulith/modules/orders/internal/db/store"
	"github.com/modulith/modulith/modules/orders/internal/models"
)

const (
	module = "orders"
	entity = "order"
)

// Repository is what the orders service needs from storage.
type Repository interface {
	// WithTx runs fn with a repository bound to one transaction, committed
	// when fn returns nil and rolled back otherwise (or on panic).
	WithTx(ctx context.Context, fn func(tx Repository) error) error

	// CreateOrder stores an order and its items.
	CreateOrder(ctx context.Context, o models.Order) error
	// Order returns an order with its items; LockOrder also locks it
	// (call it in a transaction).
	Order(ctx context.Context, id string) (models.Order, error)
	LockOrder(ctx context.Context, id string) (models.Order, error)
	// Orders returns up to limit orders of a user, newest first, with IDs
	// below after (all when after is empty), with their items.
	Orders(ctx context.Context, userID, after string, limit int32) ([]models.Order, error)
	CancelOrder(ctx context.Context, id, reason string, now time.Time) error

	// Publish stores an event: inside WithTx it commits (and will be
	// delivered) if and only if the transaction does.
	Publish(ctx context.Context, e events.Event) error
}

// Publisher stores events, in a transaction or in one of its own.
type Publisher interface {
	Publish(ctx context.Context, e events.Event) error
	PublishTx(ctx context.Context, tx pgx.Tx, e events.Event) error
}

// SQL is the PostgreSQL Repository.
type SQL struct {
	pool *pgxpool.Pool // nil inside a transaction
	tx   pgx.Tx        // set inside a transaction
	q    *store.Queries
	bus  Publisher
}

var _ Repository = (*SQL)(nil)

// New returns a repository on pool that publishes events through bus.
func New(pool *pgxpool.Pool, bus Publisher) *SQL {
	return &SQL{pool: pool, q: store.New(pool), bus: bus}
}

// WithTx runs fn in a transaction: committed when fn returns nil, rolled
// back when it returns an error, panics or exits its goroutine.
func (r *SQL) WithTx(ctx context.Context, fn func(tx Repository) error) error {
	if r.pool == nil {
		return fn(r) // already in a transaction: join it
	}

	return database.WithTx(ctx, r.pool, func(tx pgx.Tx) error {
		return fn(&SQL{q: r.q.WithTx(tx), tx: tx, bus: r.bus})
	})
}

// Publish stores e in the repository's transaction, or in its own.
func (r *SQL) Publish(ctx context.Context, e events.Event) error {
	if r.tx != nil {
		return r.bus.PublishTx(ctx, r.tx, e)
	}

	return r.bus.Publish(ctx, e)
}

// CreateOrder stores an order and its items (in one transaction when
// called inside WithTx, as the service does).
func (r *SQL) CreateOrder(ctx context.Context, o models.Order) error {
	ctx, end := span(ctx, "CreateOrder")
	defer end()

	err := r.q.CreateOrder(ctx, store.CreateOrderParams{
		ID: o.ID, UserID: o.UserID, Currency: o.Currency, TotalMinor: o.TotalMinor, CreatedAt: o.CreatedAt,
	})
	if err != nil {
		return translate(ctx, err)
	}

	rows := make([]store.CreateOrderItemsParams, 0, len(o.Items))

	var position int32

	for _, it := range o.Items {
		rows = append(rows, store.CreateOrderItemsParams{
			OrderID: o.ID, Position: position, Sku: it.SKU, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor,
		})
		position++
	}

	if _, err := r.q.CreateOrderItems(ctx, rows); err != nil {
		return translate(ctx, err)
	}

	return nil
}

// Order returns an order with its items.
func (r *SQL) Order(ctx context.Context, id string) (models.Order, error) {
	ctx, end := span(ctx, "Order")
	defer end()

	row, err := r.q.GetOrder(ctx, id)
	if err != nil {
		return models.Order{}, translate(ctx, err)
	}

	return r.withItems(ctx, row)
}

// LockOrder returns an order with its items, locked until the transaction
// ends.
func (r *SQL) LockOrder(ctx context.Context, id string) (models.Order, error) {
	ctx, end := span(ctx, "LockOrder")
	defer end()

	row, err := r.q.LockOrder(ctx, id)
	if err != nil {
		return models.Order{}, translate(ctx, err)
	}

	return r.withItems(ctx, row)
}

func (r *SQL) withItems(ctx context.Context, row store.OrdersOrder) (models.Order, error) {
	orders, err := r.attachItems(ctx, []store.OrdersOrder{row})
	if err != nil {
		return models.Order{}, err
	}

	return orders[0], nil
}

// Orders returns a page of a user's orders with their items.
func (r *SQL) Orders(ctx context.Context, userID, after string, limit int32) ([]models.Order, error) {
	ctx, end := span(ctx, "Orders")
	defer end()

	rows, err := r.q.ListOrders(ctx, store.ListOrdersParams{UserID: userID, After: after, PageSize: limit})
	if err != nil {
		return nil, translate(ctx, err)
	}

	return r.attachItems(ctx, rows)
}

// attachItems loads the items of rows in one query.
func (r *SQL) attachItems(ctx context.Context, rows []store.OrdersOrder) ([]models.Order, error) {
	if len(rows) == 0 {
		return nil, nil
	}

	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}

	items, err := r.q.OrderItems(ctx, ids)
	if err != nil {
		return nil, translate(ctx, err)
	}

	byOrder := make(map[string][]models.Item, len(rows))
	for _, it := range items {
		byOrder[it.OrderID] = append(byOrder[it.OrderID], models.Item{SKU: it.Sku, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
	}

	out := make([]models.Order, len(rows))
	for i, row := range rows {
		out[i] = models.Order{
			ID: row.ID, UserID: row.UserID, Status: row.Status, Currency: row.Currency, TotalMinor: row.TotalMinor,
			CancelReason: row.CancelReason, Items: byOrder[row.ID], CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		}
	}

	return out, nil
}

// CancelOrder marks an order cancelled.
func (r *SQL) CancelOrder(ctx context.Context, id, reason string, now time.Time) error {
	ctx, end := span(ctx, "CancelOrder")
	defer end()

	n, err := r.q.CancelOrder(ctx, store.CancelOrderParams{ID: id, CancelReason: reason, UpdatedAt: now})
	if err != nil {
		return translate(ctx, err)
	}

	if n == 0 {
		return errors.NotFound(entity + " not found")
	}

	return nil
}

// translate turns driver errors into domain errors, once, here.
func translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}

	telemetry.RecordError(ctx, err)

	if stderrors.Is(err, pgx.ErrNoRows) {
		return errors.NotFound(entity+" not found", errors.WithCause(err))
	}

	return fmt.Errorf("%s: %w", entity, err)
}

// span starts a repository span for an operation on orders.
func span(ctx context.Context, op string) (context.Context, func()) {
	ctx, s := telemetry.RepositorySpan(ctx, module, op, entity)

	return ctx, func() { s.End() }
}
