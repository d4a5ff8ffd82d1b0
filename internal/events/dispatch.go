package events

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/telemetry"
)

// wakers fans NOTIFY wake-ups out to every dispatcher worker.
type wakers struct {
	mu    sync.Mutex
	chans []chan struct{}
}

func (w *wakers) add() chan struct{} {
	c := make(chan struct{}, 1)

	w.mu.Lock()
	w.chans = append(w.chans, c)
	w.mu.Unlock()

	return c
}

func (w *wakers) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()

	for _, c := range w.chans {
		select {
		case c <- struct{}{}:
		default: // already due to run
		}
	}
}

// postgresTransport is the default transport, PostgreSQL alone: in every
// process, Workers dispatchers per subscriber claim due deliveries with
// FOR UPDATE SKIP LOCKED, woken by NOTIFY on every commit that stored an
// event, and by a timer for due retries.
type postgresTransport struct{}

func (postgresTransport) Name() string { return TransportPostgres }

func (postgresTransport) Start(_ context.Context, d *Deliveries) (func(context.Context), error) {
	b := d.bus

	return func(ctx context.Context) {
		var wg sync.WaitGroup

		w := &wakers{}

		for _, name := range d.names {
			s := d.subs[name]

			for range b.cfg.Workers {
				wake := w.add()

				wg.Go(func() { b.dispatchLoop(ctx, s, wake) })
			}
		}

		wg.Go(func() { b.listen(ctx, w.wake) })
		wg.Wait()
	}, nil
}

// listen holds one connection in LISTEN and calls wake on each
// notification and each time it listens (to catch up on what was stored
// while it did not), listening again every PollInterval after errors: the
// dispatch loops poll meanwhile.
func (b *Bus) listen(ctx context.Context, wake func()) {
	l := &database.Listener{
		Pool: b.pool, Channels: []string{notifyChannel},
		Name: "events: listener", Logger: b.logger,
		MinDelay: b.cfg.PollInterval, MaxDelay: b.cfg.PollInterval,
		Listening: wake,
		Notified:  func(string) { wake() },
	}

	l.Run(ctx)
}

// dispatchLoop handles s's due deliveries batch after batch, then sleeps
// until woken or the poll interval passes.
func (b *Bus) dispatchLoop(ctx context.Context, s *subscriber, wake <-chan struct{}) {
	names := s.eventNames()

	timer := time.NewTimer(0)
	defer timer.Stop()

	for {
		n, err := b.dispatchBatch(ctx, s, names)
		if err != nil && ctx.Err() == nil {
			b.logger.ErrorContext(ctx, "events: dispatch failed", "subscriber", s.name, "error", err)
		}

		if n == b.cfg.BatchSize && err == nil {
			continue // more may be due
		}

		timer.Reset(b.cfg.PollInterval)

		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
	}
}

// dispatchBatch claims due deliveries and handles each in the claiming
// transaction, under its own savepoint: a handler's writes, the delivery's
// new state and the idempotency record commit together. A batch that has
// started finishes even when ctx ends (Close waits for it): its handlers'
// outcomes are committed, not rolled back.
func (b *Bus) dispatchBatch(ctx context.Context, s *subscriber, names []string) (int, error) {
	ctx = context.WithoutCancel(ctx)

	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}

	defer func() { _ = tx.Rollback(ctx) }()

	batch, err := claim(ctx, tx, s.name, names, b.cfg.BatchSize)
	if err != nil || len(batch) == 0 {
		return 0, err
	}

	handled, skipped, err := b.handleBatch(ctx, tx, s, batch)
	if err != nil {
		return 0, err
	}

	if err := recordDone(ctx, tx, s.name, handled, skipped); err != nil {
		return 0, err
	}

	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}

	return len(batch), nil
}

// handleBatch runs the handlers of a claimed batch, skipping events the
// subscriber already processed (redelivered). It returns the IDs handled
// and those skipped.
func (b *Bus) handleBatch(ctx context.Context, tx pgx.Tx, s *subscriber, batch []Delivery) (handled, skipped []string, err error) {
	seen, err := processedAmong(ctx, tx, s.name, batch)
	if err != nil {
		return nil, nil, err
	}

	for _, c := range batch {
		if seen[c.EventID] {
			skipped = append(skipped, c.EventID)
			handledCount.Add(ctx, 1, outcomeAttrs(s.name, c.Name, outcomeSkipped))

			continue
		}

		ok, err := b.handleClaimed(ctx, tx, s, c)
		if err != nil {
			return nil, nil, err
		}

		if ok {
			handled = append(handled, c.EventID)
		}
	}

	return handled, skipped, nil
}

// handleClaimed runs one delivery under a savepoint. It reports whether the
// handler succeeded; a handler's failure is recorded (retry or dead), and
// only the dispatcher's own database errors are returned. When such an
// error leaves the transaction unusable (a handler that overran its timeout
// mid-query can cost the connection), the failure is still recorded, in a
// transaction of its own, so the delivery moves towards dead.
func (b *Bus) handleClaimed(ctx context.Context, tx pgx.Tx, s *subscriber, c Delivery) (bool, error) {
	e, failure := b.eventOf(c)
	if failure == nil {
		var err error

		failure, err = b.runUnderSavepoint(ctx, tx, s, e, c.Trace)
		if err != nil {
			recErr := pgx.BeginFunc(ctx, b.pool, func(own pgx.Tx) error {
				return b.recordFailure(ctx, own, s.name, c.Name, c.EventID, c.Attempts+1, err)
			})

			return false, errors.Join(err, recErr)
		}

		if failure == nil {
			return true, nil
		}
	}

	return false, b.recordFailure(ctx, tx, s.name, c.Name, c.EventID, c.Attempts+1, failure)
}

// runUnderSavepoint runs the handler in a savepoint of tx, released when
// the handler succeeds and rolled back when it fails. It returns the
// handler's failure, and separately an error of its own statements.
func (b *Bus) runUnderSavepoint(ctx context.Context, tx pgx.Tx, s *subscriber, e Raw, carrier map[string]string) (failure, err error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}

	if failure := b.invoke(ctx, sp, s, e, carrier); failure != nil {
		if err := sp.Rollback(ctx); err != nil {
			return nil, fmt.Errorf("roll back savepoint: %w", err)
		}

		return failure, nil
	}

	if err := sp.Commit(ctx); err != nil {
		return nil, fmt.Errorf("release savepoint: %w", err)
	}

	return nil, nil
}

// eventOf rebuilds the event of a claimed delivery, secrets opened.
func (b *Bus) eventOf(c Delivery) (Raw, error) {
	secret, err := b.sealer.open(c.EventID, c.Sealed)
	if err != nil {
		return Raw{}, err
	}

	return Raw{
		ID: c.EventID, Name: c.Name, Version: c.Version, Payload: c.Payload, Secret: secret,
		OrderingKey: c.OrderingKey, OccurredAt: c.OccurredAt, Attempt: c.Attempts + 1,
	}, nil
}

// recordFailure schedules a retry or declares the delivery dead: after its
// last attempt, or at once when the cause is Permanent.
func (b *Bus) recordFailure(ctx context.Context, tx pgx.Tx, subscriber, event, eventID string, attempt int, cause error) error {
	state, delay := b.policy.Next(attempt, randomJitter)
	if IsPermanent(cause) {
		state, delay = StateDead, 0
	}

	handledCount.Add(ctx, 1, outcomeAttrs(subscriber, event, state))

	level := b.logger.WarnContext
	if state == StateDead {
		level = b.logger.ErrorContext
	}

	level(ctx, "events: handler failed", "subscriber", subscriber, "event", event, "event_id", eventID,
		"attempt", attempt, "state", state, "retry_in", delay.String(), "error", cause)

	return markFailed(ctx, tx, subscriber, eventID, state, cause.Error(), attempt, delay)
}

// invoke runs a handler with the event's trace continued, a timeout, the
// transaction in its context, and panics turned into errors.
func (b *Bus) invoke(ctx context.Context, tx pgx.Tx, s *subscriber, e Raw, carrier map[string]string) (err error) {
	h := s.handlers[e.Name]
	if h == nil {
		return fmt.Errorf("subscriber %s has no handler for %s", s.name, e.Name)
	}

	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(carrier))

	ctx, span := telemetry.StartSpan(ctx, "event "+e.Name+" → "+s.name,
		attribute.String("event.id", e.ID), attribute.String("event.name", e.Name),
		attribute.String("event.subscriber", s.name), attribute.Int("event.attempt", e.Attempt))
	defer span.End()

	ctx, cancel := context.WithTimeout(withTx(ctx, tx), b.cfg.HandlerTimeout)
	defer cancel()

	start := time.Now()

	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}

		if err != nil {
			telemetry.RecordError(ctx, err)

			return
		}

		attrs := metric.WithAttributes(attribute.String("subscriber", s.name), attribute.String("event", e.Name))
		handleDuration.Record(ctx, time.Since(start).Seconds(), attrs)
		deliveryLag.Record(ctx, start.Sub(e.OccurredAt).Seconds(), metric.WithAttributes(attribute.String("subscriber", s.name)))
		handledCount.Add(ctx, 1, outcomeAttrs(s.name, e.Name, StateDelivered))
	}()

	if err := h(ctx, e); err != nil {
		return fmt.Errorf("subscriber %s, event %s: %w", s.name, e.ID, err)
	}

	return nil
}

// outcomeSkipped is the outcome of a delivery whose handler had run.
const outcomeSkipped = "skipped"

func outcomeAttrs(subscriber, event, outcome string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("subscriber", subscriber),
		attribute.String("event", event), attribute.String("outcome", outcome))
}
