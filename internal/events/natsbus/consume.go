package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events"
)

// lockDeliveriesSQL locks the delivery rows of a batch's messages, in one
// order for every batch (copies of one message, a redelivery racing a slow
// handler, are then handled one after the other, never deadlocked), and
// reads what decides their fate; the wait until the next attempt is due is
// in microseconds.
const lockDeliveriesSQL = `
SELECT d.event_id, d.state, d.attempts,
       greatest(0, extract(epoch FROM d.next_attempt_at - clock_timestamp()) * 1e6)::bigint,
       EXISTS (SELECT 1 FROM events.processed p WHERE p.subscriber = d.subscriber AND p.event_id = d.event_id),
       d.ordering_key IS NOT NULL AND EXISTS (
           SELECT 1 FROM events.deliveries o
           WHERE o.subscriber = d.subscriber AND o.ordering_key = d.ordering_key
             AND o.seq < d.seq AND o.state IN ('pending', 'failed'))
FROM events.deliveries d
WHERE d.subscriber = $1 AND d.event_id = ANY($2)
ORDER BY d.event_id
FOR UPDATE OF d`

// unhandledDelay spaces the returns of a message to a replica that does
// not handle its event (an older version, during a rolling deploy).
const unhandledDelay = 10 * time.Second

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

// fetchLoop pulls sub's messages and handles them a batch at a time, until
// ctx ends; while NATS is away pulls fail or time out and the loop carries
// on.
func (t *carrier) fetchLoop(ctx context.Context, sub string, c jetstream.Consumer) {
	for ctx.Err() == nil {
		msgs, err := t.fetch(ctx, c)
		if err != nil {
			t.fetchFailed(ctx, sub, err)

			continue
		}

		if len(msgs) > 0 {
			t.handle(ctx, sub, msgs)
		}
	}
}

// fetchFailed logs a failed fetch, unless the connection is down (the
// disconnect is logged once), recreates a consumer found gone, and pauses.
func (t *carrier) fetchFailed(ctx context.Context, sub string, err error) {
	if ctx.Err() != nil {
		return
	}

	if t.nc.IsConnected() {
		t.log.WarnContext(ctx, "events: fetch from NATS failed", "subscriber", sub, "error", err)
		t.repair(ctx, err)
	}

	sleep(ctx, t.cfg.PollInterval)
}

// fetch waits up to fetchWait for a message, then takes the messages
// already waiting, up to BatchSize in all; none when none came.
func (t *carrier) fetch(ctx context.Context, c jetstream.Consumer) ([]jetstream.Msg, error) {
	first, err := next(ctx, c)
	if err != nil || first == nil {
		return nil, err
	}

	msgs := []jetstream.Msg{first}

	if t.cfg.BatchSize > 1 {
		// More is a bonus: if this pull fails, the first is handled alone.
		if more, err := c.FetchNoWait(t.cfg.BatchSize - 1); err == nil {
			for msg := range more.Messages() {
				msgs = append(msgs, msg)
			}
		}
	}

	return msgs, nil
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

// handle handles a batch of messages in one transaction and settles them
// once it committed: the handlers' writes, their processed records and the
// delivered states commit together, one commit per batch as with the
// PostgreSQL dispatcher, and a message is acked only after the commit. A
// crash in between redelivers the messages, which then find their events
// handled and are acked without running the handlers again. If the
// transaction fails, every message comes back after the poll interval.
//
// Messages already fetched are handled to the end when the bus stops
// (HandlerTimeout bounds each), so that they are settled now rather than
// redelivered after AckWait.
func (t *carrier) handle(ctx context.Context, sub string, msgs []jetstream.Msg) {
	ctx = context.WithoutCancel(ctx)
	b := t.decode(sub, msgs)

	if len(b.run) > 0 {
		err := pgx.BeginFunc(ctx, t.d.Pool(), func(tx pgx.Tx) error { return t.deliver(ctx, tx, sub, b) })
		if err != nil {
			t.log.ErrorContext(ctx, "events: handle NATS messages", "subscriber", sub, "messages", len(b.run), "error", err)

			for _, i := range b.run {
				b.verdicts[i] = retryIn(t.cfg.PollInterval)
			}
		} else if b.ordered {
			t.notifyOrdered(ctx, sub)
		}
	}

	for i, msg := range msgs {
		if err := b.verdicts[i].apply(msg); err != nil {
			t.log.WarnContext(ctx, "events: settle NATS message", "subscriber", sub, "subject", msg.Subject(), "error", err)
		}
	}
}

// batch is a fetched batch on its way through handle.
type batch struct {
	msgs     []message
	verdicts []verdict
	run      []int // the messages to deliver (the others are settled)
	ordered  bool  // an event with an ordering key finished
}

// settle sets the verdict of message i, which ran its handler.
func (b *batch) settle(i int, v verdict) {
	b.verdicts[i] = v
	if b.msgs[i].OrderingKey != "" && v.settle != nak {
		b.ordered = true
	}
}

// decode decodes a batch and settles the messages that need no database:
// undecodable ones (terminated), events this replica does not handle
// (returned later), and copies of a message earlier in the batch (returned
// at once, then recognized as handled or early).
func (t *carrier) decode(sub string, msgs []jetstream.Msg) *batch {
	b := &batch{msgs: make([]message, len(msgs)), verdicts: make([]verdict, len(msgs))}
	seen := make(map[string]bool, len(msgs))

	for i, msg := range msgs {
		m := &b.msgs[i]

		switch err := json.Unmarshal(msg.Data(), m); {
		case err != nil:
			t.log.Error("events: undecodable NATS message", "subscriber", sub, "subject", msg.Subject(), "error", err)

			b.verdicts[i] = verdict{settle: term}
		case !t.d.Handles(sub, m.Name):
			// Replicas run different versions during a rolling deploy:
			// leave the event to one that handles it.
			b.verdicts[i] = retryIn(unhandledDelay)
		case seen[m.EventID]:
			b.verdicts[i] = retryIn(0)
		default:
			seen[m.EventID] = true

			b.run = append(b.run, i)
		}
	}

	return b
}

// deliver locks the batch's delivery rows, runs the handlers of the
// deliveries due, each under a savepoint, and records the outcomes in tx,
// setting the batch's verdicts.
func (t *carrier) deliver(ctx context.Context, tx pgx.Tx, sub string, b *batch) error {
	rows, err := lockDeliveries(ctx, tx, sub, b)
	if err != nil {
		return err
	}

	var handled, skipped []string

	for _, i := range b.run {
		m := b.msgs[i]

		d, ok := rows[m.EventID]
		if v, done := t.settled(ctx, sub, m, d, ok); done {
			b.verdicts[i] = v

			if ok && d.processed && d.state != events.StateDelivered {
				// The processed record is there but the row says otherwise:
				// trust the record, which commits with the handler's writes.
				skipped = append(skipped, m.EventID)
			}

			continue
		}

		v, err := t.handleDue(ctx, tx, sub, m, d)
		if err != nil {
			return err
		}

		b.settle(i, v)

		if v.settle == ack {
			handled = append(handled, m.EventID)
		}
	}

	return t.d.Done(ctx, tx, sub, handled, skipped)
}

// handleDue runs the handler of a due delivery: ack when it succeeded, else the
// verdict of the failure Handle recorded (retry or dead).
func (t *carrier) handleDue(ctx context.Context, tx pgx.Tx, sub string, m message, d lockedDelivery) (verdict, error) {
	ok, err := t.d.Handle(ctx, tx, sub, m.delivery(d.attempts))
	if err != nil {
		return verdict{}, err
	}

	if ok {
		return verdict{settle: ack}, nil
	}

	return t.failed(ctx, tx, sub, m)
}

// settled decides the messages whose handler must not run: without a
// delivery row (found false: purged since it was relayed), handled before,
// dead, or waiting for an older event with the same ordering key.
func (t *carrier) settled(ctx context.Context, sub string, m message, d lockedDelivery, found bool) (verdict, bool) {
	switch {
	case !found:
		t.log.WarnContext(ctx, "events: NATS message without a delivery", "subscriber", sub, "event_id", m.EventID)

		return verdict{settle: term}, true
	case d.state == events.StateDead:
		return verdict{settle: term}, true
	case d.state == events.StateDelivered || d.processed:
		t.d.Skipped(ctx, sub, m.Name)

		return verdict{settle: ack}, true
	case d.blocked:
		// Back in the stream after its head was redriven: wait. The nak
		// counts as a JetStream delivery but not as an attempt (attempts
		// live in the delivery row), and MaxDeliver is unlimited.
		return retryIn(t.cfg.PollInterval), true
	case d.state == events.StateFailed && d.wait > 0:
		// Early: the nak that set the delay was lost and AckWait passed,
		// or this is a copy. The delivery row decides when to retry.
		return retryIn(d.wait), true
	default:
		return verdict{}, false
	}
}

// failed settles the message by the failure Handle recorded
// (retry or dead, by the retry policy), once it commits: redelivered when
// the delivery row says the next attempt is due, or terminated when dead
// (a redrive publishes it again).
func (t *carrier) failed(ctx context.Context, tx pgx.Tx, sub string, m message) (verdict, error) {
	var (
		state string
		wait  int64 // microseconds
	)

	err := tx.QueryRow(ctx, `SELECT state, greatest(0, extract(epoch FROM next_attempt_at - clock_timestamp()) * 1e6)::bigint
		FROM events.deliveries WHERE subscriber = $1 AND event_id = $2`, sub, m.EventID).Scan(&state, &wait)
	if err != nil {
		return verdict{}, fmt.Errorf("read retry: %w", err)
	}

	if state == events.StateDead {
		return verdict{settle: term}, nil
	}

	return retryIn(time.Duration(wait) * time.Microsecond), nil
}

// notifyOrdered wakes the relays once events with an ordering key are
// finished: the next event with their key may be relayed now. It runs
// after the commit, as a NOTIFY inside it would serialize commits.
func (t *carrier) notifyOrdered(ctx context.Context, sub string) {
	if err := t.d.Notify(ctx, sub); err != nil {
		t.log.WarnContext(ctx, "events: notify", "error", err)
	}
}

// lockDeliveries locks the delivery rows of the batch's messages to run,
// by event ID; a message without one has none.
func lockDeliveries(ctx context.Context, tx pgx.Tx, subscriber string, b *batch) (map[string]lockedDelivery, error) {
	ids := make([]string, len(b.run))
	for k, i := range b.run {
		ids[k] = b.msgs[i].EventID
	}

	rows, err := tx.Query(ctx, lockDeliveriesSQL, subscriber, ids)
	if err != nil {
		return nil, fmt.Errorf("lock deliveries: %w", err)
	}
	defer rows.Close()

	out := make(map[string]lockedDelivery, len(ids))

	for rows.Next() {
		var (
			id   string
			d    lockedDelivery
			wait int64
		)

		if err := rows.Scan(&id, &d.state, &d.attempts, &wait, &d.processed, &d.blocked); err != nil {
			return nil, fmt.Errorf("lock deliveries: %w", err)
		}

		d.wait = time.Duration(wait) * time.Microsecond
		out[id] = d
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock deliveries: %w", err)
	}

	return out, nil
}

// delivery is the message as the bus's delivery, with the attempts the
// delivery row counts.
func (m message) delivery(attempts int) events.Delivery {
	return events.Delivery{
		EventID: m.EventID, Name: m.Name, Version: m.Version, Payload: m.Payload, Sealed: m.Sealed,
		OrderingKey: m.OrderingKey, Trace: m.Trace, OccurredAt: m.OccurredAt, Attempts: attempts,
	}
}
