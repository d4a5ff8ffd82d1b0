// Package repository is the orders module's data access: it wraps the
// sqlc-generated store and speaks models, on the platform's repository
// plumbing (internal/repo: transactions, events published in them, spans
// and driver errors translated once). It holds no business rules and never
// generates identifiers.
package repository

//go:generate go tool mockgen -destination=mocks/repository.go -package=mocks github.com/modulith/modulith/modules/orders/internal/repository Repository

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/repo"
	"github.com/modulith/modulith/modules/orders/internal/db/store"
	"github.com/modulith/modulith/modules/orders/internal/models"
)

const entity = "order"

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
	Publish(ctx context.Context, p events.Payload) error
}

// SQL is the PostgreSQL Repository.
type SQL struct {
	repo.Base[*store.Queries]
}

var _ Repository = (*SQL)(nil)

// New returns a repository on pool that publishes events through bus.
func New(pool *pgxpool.Pool, bus repo.Publisher) *SQL {
	return &SQL{repo.New("orders", pool, bus, store.New(pool))}
}

// WithTx runs fn in a transaction (see repo.Base.InTx).
func (r *SQL) WithTx(ctx context.Context, fn func(tx Repository) error) error {
	return r.InTx(ctx, func(b repo.Base[*store.Queries]) error { return fn(&SQL{b}) })
}

// CreateOrder stores an order and its items (in one transaction when
// called inside WithTx, as the service does).
func (r *SQL) CreateOrder(ctx context.Context, o models.Order) (err error) {
	ctx, end := r.Span(ctx, "CreateOrder", entity)
	defer end(&err)

	err = r.Q.CreateOrder(ctx, store.CreateOrderParams{
		ID: o.ID, UserID: o.UserID, Currency: o.Currency, TotalMinor: o.TotalMinor, CreatedAt: o.CreatedAt,
	})
	if err != nil {
		return err
	}

	rows := make([]store.CreateOrderItemsParams, 0, len(o.Items))

	var position int32

	for _, it := range o.Items {
		rows = append(rows, store.CreateOrderItemsParams{
			OrderID: o.ID, Position: position, Sku: it.SKU, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor,
		})
		position++
	}

	_, err = r.Q.CreateOrderItems(ctx, rows)

	return err
}

// Order returns an order with its items.
func (r *SQL) Order(ctx context.Context, id string) (_ models.Order, err error) {
	ctx, end := r.Span(ctx, "Order", entity)
	defer end(&err)

	row, err := r.Q.GetOrder(ctx, id)
	if err != nil {
		return models.Order{}, err
	}

	return r.withItems(ctx, row)
}

// LockOrder returns an order with its items, locked until the transaction
// ends.
func (r *SQL) LockOrder(ctx context.Context, id string) (_ models.Order, err error) {
	ctx, end := r.Span(ctx, "LockOrder", entity)
	defer end(&err)

	row, err := r.Q.LockOrder(ctx, id)
	if err != nil {
		return models.Order{}, err
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
func (r *SQL) Orders(ctx context.Context, userID, after string, limit int32) (_ []models.Order, err error) {
	ctx, end := r.Span(ctx, "Orders", entity)
	defer end(&err)

	rows, err := r.Q.ListOrders(ctx, store.ListOrdersParams{UserID: userID, After: after, PageSize: limit})
	if err != nil {
		return nil, err
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

	items, err := r.Q.OrderItems(ctx, ids)
	if err != nil {
		return nil, err
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
func (r *SQL) CancelOrder(ctx context.Context, id, reason string, now time.Time) (err error) {
	ctx, end := r.Span(ctx, "CancelOrder", entity)
	defer end(&err)

	n, err := r.Q.CancelOrder(ctx, store.CancelOrderParams{ID: id, CancelReason: reason, UpdatedAt: now})
	if err != nil {
		return err
	}

	if n == 0 {
		return errors.NotFound(entity + " not found")
	}

	return nil
}
