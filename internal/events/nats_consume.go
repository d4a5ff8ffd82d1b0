package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
)

// lockDeliverySQL locks the delivery row of a message, so that copies of
// one message (a redelivery racing a slow handler) are handled one after
// the other, and reads what decides its fate; the wait until the next
// attempt is due is in microseconds.
const lockDeliverySQL = `
SELECT d.state, d.attempts,
       greatest(0, extract(epoch FROM d.next_attempt_at - clock_timestamp()) * 1e6)::bigint,
       EXISTS (SELECT 1 FROM events.processed p WHERE p.subscriber = d.subscriber AND p.event_id = d.event_id),
       d.ordering_key IS NOT NULL AND EXISTS (
           SELECT 1 FROM events.deliveries o
           WHERE o.subscriber = d.subscriber AND o.ordering_key = d.ordering_key
             AND o.seq < d.seq AND o.state IN ('pending', 'failed'))
FROM events.deliveries d
WHERE d.subscriber = $1 AND d.event_id = $2
FOR UPDATE OF d`

const (
	// outcomeSkipped counts a message whose handler had already run.
	outcomeSkipped = "skipped"
	// unhandledDelay spaces the returns of a message to a replica that does
	// not handle its event (an older version, during a rolling deploy).
	unhandledDelay = 10 * time.Second
)

// settlement is what the consumer tells JetStream about a message.
type settlement int

// The zero settlement is the safe one: the message comes back.
const (
	nak  settlement = iota // redeliver after verdict.delay
	ack                    // handled, or handled before
	term                   // never redeliver: dead, or not a delivery
)

type verdict struct {
	settle settlement
	delay  time.Duration
}

func retryIn(d time.Duration) verdict { return verdict{settle: nak, delay: d} }

// apply settles msg; an ack that is lost makes JetStream redeliver the
// message, which the delivery row then recognizes as handled.
func (v verdict) apply(msg jetstream.Msg) error {
	var err error

	switch v.settle {
	case nak:
		err = msg.NakWithDelay(v.delay)
	case ack:
		err = msg.Ack()
	case term:
		err = msg.Term()
	}

	if err != nil {
		return fmt.Errorf("settle message: %w", err)
	}

	return nil
}

// lockedDelivery is the delivery row of a message.
type lockedDelivery struct {
	state     string
	attempts  int
	wait      time.Duration // until the next attempt is due
	processed bool          // events.processed holds the handler's record
	blocked   bool          // an older delivery with the same ordering key is unfinished
}

// fetchLoop pulls s's messages one at a time and handles each, until ctx
// ends; while NATS is away pulls fail or time out and the loop carries on.
func (t *natsTransport) fetchLoop(ctx context.Context, s *subscriber, c jetstream.Consumer) {
	for ctx.Err() == nil {
		msg, err := next(ctx, c)
		if err != nil {
			t.fetchFailed(ctx, s, err)

			continue
		}

		if msg != nil {
			t.handle(ctx, s, msg)
		}
	}
}

// fetchFailed logs a failed fetch, unless the connection is down (the
// disconnect is logged once), recreates a consumer found gone, and pauses.
func (t *natsTransport) fetchFailed(ctx context.Context, s *subscriber, err error) {
	if ctx.Err() != nil {
		return
	}

	if t.nc.IsConnected() {
		t.bus.logger.WarnContext(ctx, "events: fetch from NATS failed", "subscriber", s.name, "error", err)
		t.repair(ctx, err)
	}

	sleep(ctx, t.bus.cfg.PollInterval)
}

// next waits up to fetchWait for a message; nil when none came.
func next(ctx context.Context, c jetstream.Consumer) (jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()

	batch, err := c.Fetch(1, jetstream.FetchContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}

	if msg := <-batch.Messages(); msg != nil {
		return msg, nil
	}

	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("fetch: %w", err)
	}

	return nil, nil
}

// handle handles one message and settles it. A message already fetched is
// handled to the end when the bus stops (HandlerTimeout bounds it), so that
// it is settled now rather than redelivered after AckWait.
func (t *natsTransport) handle(ctx context.Context, s *subscriber, msg jetstream.Msg) {
	ctx = context.WithoutCancel(ctx)

	v, err := t.process(ctx, s, msg.Data())
	if err != nil {
		t.bus.logger.ErrorContext(ctx, "events: handle NATS message", "subscriber", s.name, "subject", msg.Subject(), "error", err)
	}

	if err := v.apply(msg); err != nil {
		t.bus.logger.WarnContext(ctx, "events: settle NATS message", "subscriber", s.name, "subject", msg.Subject(), "error", err)
	}
}

// process decides a message's fate. An error means nothing was recorded
// (the database is away): the message comes back after the poll interval.
func (t *natsTransport) process(ctx context.Context, s *subscriber, data []byte) (verdict, error) {
	var m natsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return verdict{settle: term}, fmt.Errorf("decode message: %w", err)
	}

	if s.handlers[m.Name] == nil {
		// Replicas run different versions during a rolling deploy: leave
		// the event to one that handles it.
		return retryIn(unhandledDelay), nil
	}

	v, err := t.deliver(ctx, s, m)
	if err != nil {
		return retryIn(t.bus.cfg.PollInterval), fmt.Errorf("event %s: %w", m.EventID, err)
	}

	return v, nil
}

// deliver runs the handler in a transaction holding the delivery row
// locked: the handler's writes, the processed record and the delivered
// state commit together, and the message is acked only after the commit.
// A crash in between redelivers the message, which then finds the event
// handled and is acked without running the handler again.
func (t *natsTransport) deliver(ctx context.Context, s *subscriber, m natsMessage) (verdict, error) {
	tx, err := t.bus.pool.Begin(ctx)
	if err != nil {
		return verdict{}, fmt.Errorf("begin: %w", err)
	}

	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	d, err := lockDelivery(ctx, tx, s.name, m.EventID)
	if errors.Is(err, pgx.ErrNoRows) {
		// Purged, or published by another database sharing this stream.
		t.bus.logger.WarnContext(ctx, "events: NATS message without a delivery", "subscriber", s.name, "event_id", m.EventID)

		return verdict{settle: term}, nil
	}

	if err != nil {
		return verdict{}, err
	}

	if v, done, err := t.settled(ctx, tx, s, m, d); done || err != nil {
		return v, err
	}

	ok, err := t.bus.handleClaimed(ctx, tx, s, m.claimed(d.attempts))
	if err != nil {
		return verdict{}, err
	}

	if ok {
		return t.succeeded(ctx, tx, s, m)
	}

	return t.failed(ctx, tx, s, m)
}

// settled decides the messages whose handler must not run: handled before,
// dead, or waiting for an older event with the same ordering key.
func (t *natsTransport) settled(ctx context.Context, tx pgx.Tx, s *subscriber, m natsMessage, d lockedDelivery) (verdict, bool, error) {
	switch {
	case d.state == StateDead:
		return verdict{settle: term}, true, nil
	case d.state == StateDelivered || d.processed:
		handledCount.Add(ctx, 1, outcomeAttrs(s.name, m.Name, outcomeSkipped))

		if d.state == StateDelivered {
			return verdict{settle: ack}, true, nil
		}

		// The processed record is there but the row says otherwise: trust
		// the record, which commits with the handler's writes.
		v, err := t.commit(ctx, tx, s, m, func() error { return markDelivered(ctx, tx, s.name, []string{m.EventID}) })

		return v, true, err
	case d.blocked:
		// Back in the stream after its head was redriven: wait. The nak
		// counts as a JetStream delivery but not as an attempt (attempts
		// live in the delivery row), and MaxDeliver is unlimited.
		return retryIn(t.bus.cfg.PollInterval), true, nil
	case d.state == StateFailed && d.wait > 0:
		// Early: the nak that set the delay was lost and AckWait passed,
		// or this is a copy. The delivery row decides when to retry.
		return retryIn(d.wait), true, nil
	default:
		return verdict{}, false, nil
	}
}

// succeeded records the handler's run with its writes, then acks.
func (t *natsTransport) succeeded(ctx context.Context, tx pgx.Tx, s *subscriber, m natsMessage) (verdict, error) {
	return t.commit(ctx, tx, s, m, func() error {
		if _, err := tx.Exec(ctx, `INSERT INTO events.processed (subscriber, event_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, s.name, m.EventID); err != nil {
			return fmt.Errorf("record processed: %w", err)
		}

		return markDelivered(ctx, tx, s.name, []string{m.EventID})
	})
}

// commit runs record in tx, commits and acks.
func (t *natsTransport) commit(ctx context.Context, tx pgx.Tx, s *subscriber, m natsMessage, record func() error) (verdict, error) {
	if err := record(); err != nil {
		return verdict{}, err
	}

	if err := tx.Commit(ctx); err != nil {
		return verdict{}, fmt.Errorf("commit: %w", err)
	}

	t.notifyOrdered(ctx, s, m)

	return verdict{settle: ack}, nil
}

// failed commits the failure handleClaimed recorded (retry or dead, by the
// retry policy) and settles the message accordingly: redelivered when the
// delivery row says the next attempt is due, or terminated when dead (a
// redrive publishes it again).
func (t *natsTransport) failed(ctx context.Context, tx pgx.Tx, s *subscriber, m natsMessage) (verdict, error) {
	var (
		state string
		wait  int64 // microseconds
	)

	err := tx.QueryRow(ctx, `SELECT state, greatest(0, extract(epoch FROM next_attempt_at - clock_timestamp()) * 1e6)::bigint
		FROM events.deliveries WHERE subscriber = $1 AND event_id = $2`, s.name, m.EventID).Scan(&state, &wait)
	if err != nil {
		return verdict{}, fmt.Errorf("read retry: %w", err)
	}

	if err := tx.Commit(ctx); err != nil {
		return verdict{}, fmt.Errorf("commit: %w", err)
	}

	if state == StateDead {
		t.notifyOrdered(ctx, s, m)

		return verdict{settle: term}, nil
	}

	return retryIn(time.Duration(wait) * time.Microsecond), nil
}

// notifyOrdered wakes the relays once an event with an ordering key is
// finished: the next event with that key may be relayed now. It runs after
// the commit, as a NOTIFY inside it would serialize commits.
func (t *natsTransport) notifyOrdered(ctx context.Context, s *subscriber, m natsMessage) {
	if m.OrderingKey == "" {
		return
	}

	if _, err := t.bus.pool.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, s.name); err != nil {
		t.bus.logger.WarnContext(ctx, "events: notify", "error", err)
	}
}

func lockDelivery(ctx context.Context, tx pgx.Tx, subscriber, eventID string) (lockedDelivery, error) {
	var (
		d    lockedDelivery
		wait int64
	)

	err := tx.QueryRow(ctx, lockDeliverySQL, subscriber, eventID).Scan(&d.state, &d.attempts, &wait, &d.processed, &d.blocked)
	if err != nil {
		return d, fmt.Errorf("lock delivery: %w", err)
	}

	d.wait = time.Duration(wait) * time.Microsecond

	return d, nil
}

// claimed is the message as the PostgreSQL dispatcher's claimed delivery,
// with the attempts the delivery row counts.
func (m natsMessage) claimed(attempts int) claimed {
	c := claimed{
		EventID: m.EventID, Name: m.Name, Version: m.Version, Secret: m.Sealed, Trace: m.Trace,
		OccurredAt: m.OccurredAt, Attempts: attempts,
	}

	if len(m.Payload) > 0 {
		_ = json.Unmarshal(m.Payload, &c.Payload) // the relay wrote it from a jsonb value
	}

	if m.OrderingKey != "" {
		c.OrderingKey = &m.OrderingKey
	}

	return c
}
