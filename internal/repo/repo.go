// Package repo is the plumbing every module's PostgreSQL repository is
// built on, so that it exists once: queries that run on the pool or on the
// transaction of WithTx, events published in that transaction (the
// outbox), and a span per operation whose error is translated once from
// the driver's to the domain's (no rows → NotFound, unique violation →
// AlreadyExists, unreachable database → Unavailable).
//
// A module's repository embeds Base over its sqlc store and adds its
// queries:
//
//	type SQL struct{ repo.Base[*store.Queries] }
//
//	func (r *SQL) Order(ctx context.Context, id string) (_ models.Order, err error) {
//		ctx, end := r.Span(ctx, "Order", "order")
//		defer end(&err)
//
//		row, err := r.Q.GetOrder(ctx, id)
//		...
//	}
package repo

import (
	"context"
	stderrors "errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/telemetry"
)

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// Publisher stores typed events in a transaction: the event bus.
type Publisher interface {
	Publish(ctx context.Context, tx pgx.Tx, p events.Payload) error
}

// Queries is a sqlc store: queries bound to the pool, which WithTx binds to
// a transaction.
type Queries[Q any] interface {
	WithTx(tx pgx.Tx) Q
}

// Base is what a module's repository embeds. Q runs the module's queries,
// on the pool or, inside InTx, on the transaction.
type Base[Q Queries[Q]] struct {
	Q Q

	module string
	pool   *pgxpool.Pool // nil inside a transaction
	tx     pgx.Tx        // set inside a transaction
	bus    Publisher
}

// New returns the plumbing of module's repository: queries q on pool,
// events published through bus.
func New[Q Queries[Q]](module string, pool *pgxpool.Pool, bus Publisher, q Q) Base[Q] {
	return Base[Q]{Q: q, module: module, pool: pool, bus: bus}
}

// InTx runs fn with a Base bound to one transaction: the current one when
// b is already in a transaction (fn joins it), else a new one, committed
// when fn returns nil and rolled back when it fails, panics or exits its
// goroutine (database.WithTx). A module's WithTx wraps it:
//
//	func (r *SQL) WithTx(ctx context.Context, fn func(Repository) error) error {
//		return r.InTx(ctx, func(b repo.Base[*store.Queries]) error { return fn(&SQL{b}) })
//	}
func (b Base[Q]) InTx(ctx context.Context, fn func(tx Base[Q]) error) error {
	if b.tx != nil {
		return fn(b)
	}

	return database.WithTx(ctx, b.pool, func(tx pgx.Tx) error {
		return fn(Base[Q]{Q: b.Q.WithTx(tx), module: b.module, tx: tx, bus: b.bus})
	})
}

// Publish stores the event p in the transaction, so that it is delivered
// if and only if the transaction commits; outside InTx, in a transaction
// of its own.
func (b Base[Q]) Publish(ctx context.Context, p events.Payload) error {
	return b.InTx(ctx, func(tx Base[Q]) error { return tx.bus.Publish(ctx, tx.tx, p) })
}

// Span starts the span of a repository operation on entity ("order");
// end, deferred with the operation's error, translates that error once
// (see Translate), records it on the span and ends the span:
//
//	ctx, end := r.Span(ctx, "CancelOrder", "order")
//	defer end(&err)
func (b Base[Q]) Span(ctx context.Context, op, entity string) (context.Context, func(err *error)) {
	ctx, span := telemetry.RepositorySpan(ctx, b.module, op, entity)

	return ctx, func(err *error) {
		if *err != nil {
			telemetry.RecordError(ctx, *err)
			*err = Translate(entity, *err)
		}

		span.End()
	}
}

// Translate turns a driver error into a domain error: no rows is NotFound
// and a unique violation AlreadyExists, both naming entity, and a database
// that cannot be reached (database.Unreachable) Unavailable; a domain error
// stays as it is, and anything else is wrapped with the entity's name (an
// Internal error at the boundary).
func Translate(entity string, err error) error {
	var (
		de    *errors.DomainError
		pgErr *pgconn.PgError
	)

	switch {
	case err == nil, stderrors.As(err, &de):
		return err
	case stderrors.Is(err, pgx.ErrNoRows):
		return errors.NotFound(entity+" not found", errors.WithCause(err))
	case stderrors.As(err, &pgErr) && pgErr.Code == uniqueViolation:
		return errors.AlreadyExists(entity+" already exists", errors.WithCause(err))
	case database.Unreachable(err):
		return errors.Unavailable("database unavailable", errors.WithCause(fmt.Errorf("%s: %w", entity, err)))
	default:
		return fmt.Errorf("%s: %w", entity, err)
	}
}
