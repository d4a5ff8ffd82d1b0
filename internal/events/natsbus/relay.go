package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// message is the message the relay publishes for one delivery:
// everything the consumer needs, the secrets still sealed (base64 of the
// AES-GCM box in JSON), never in clear text.
type message struct {
	Subscriber  string            `json:"subscriber"`
	EventID     string            `json:"event_id"`
	Name        string            `json:"name"`
	Version     int               `json:"version"`
	Payload     json.RawMessage   `json:"payload"`
	Sealed      []byte            `json:"sealed_secret,omitempty"`
	OrderingKey string            `json:"ordering_key,omitempty"`
	Trace       map[string]string `json:"trace,omitempty"`
	OccurredAt  time.Time         `json:"occurred_at"`
	// Attempts were made before this publication; the delivery row has
	// the current count.
	Attempts int `json:"attempts"`
}

// sweepEvery is how often the relay looks for deliveries JetStream dropped
// by age: as often as the bus purges what is past the retention.
const sweepEvery = 10 * time.Minute

// relayed is a delivery the relay holds locked while it publishes it.
type relayed struct {
	msg       message
	updatedAt time.Time
}

// relaySQL locks up to $1 due deliveries of every subscriber that are not
// in JetStream yet, oldest first, skipping rows other relays hold. As the
// PostgreSQL dispatcher's claims do, a delivery waits for older unfinished
// ones with its ordering key: only the head of a key's queue is in the
// stream, so consumers never spin on a message that must wait, and the
// handling of the head wakes the relay (notifyOrdered) for the next.
const relaySQL = `
SELECT d.subscriber, d.event_id, d.attempts, d.updated_at, o.name, o.version, o.payload, o.secret,
       coalesce(o.ordering_key, ''), o.trace, o.occurred_at
FROM events.deliveries d
JOIN events.outbox o ON o.id = d.event_id
WHERE d.published_at IS NULL
  AND d.state IN ('pending', 'failed')
  AND d.next_attempt_at <= now()
  AND (d.ordering_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM events.deliveries p
        WHERE p.subscriber = d.subscriber AND p.ordering_key = d.ordering_key
          AND p.seq < d.seq AND p.state IN ('pending', 'failed')))
ORDER BY d.seq
LIMIT $1
FOR UPDATE OF d SKIP LOCKED`

// relayLoop relays batch after batch, then sleeps until a NOTIFY or the
// poll interval. Every retention sweep it also republishes deliveries that
// JetStream has dropped by age.
func (t *carrier) relayLoop(ctx context.Context, wake <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()

	var lastSweep time.Time

	for {
		if time.Since(lastSweep) >= sweepEvery {
			t.sweep(ctx)

			lastSweep = time.Now()
		}

		n, err := t.relayBatch(ctx)
		if err != nil {
			t.relayFailed(ctx, err)
		}

		if n == t.cfg.BatchSize && err == nil {
			continue // more may be due
		}

		timer.Reset(t.cfg.PollInterval)

		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
	}
}

// relayFailed logs a failed batch, unless the connection is down (the
// disconnect is logged once), and recreates a stream found gone.
func (t *carrier) relayFailed(ctx context.Context, err error) {
	if ctx.Err() != nil || !t.nc.IsConnected() {
		return
	}

	t.log.ErrorContext(ctx, "events: relay to NATS failed", "error", err)
	t.repair(ctx, err)
}

// relayBatch publishes a batch of due deliveries and marks those JetStream
// acknowledged as published, in the transaction that claimed them; the
// others are claimed again by the next batch, under the same message ID.
func (t *carrier) relayBatch(ctx context.Context) (int, error) {
	tx, err := t.d.Pool().Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}

	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if err := lockRelays(ctx, tx, shared); err != nil {
		return 0, err
	}

	batch, err := claimUnpublished(ctx, tx, t.cfg.BatchSize)
	if err != nil || len(batch) == 0 {
		return 0, err
	}

	acked, pubErr := t.publish(ctx, batch)

	if err := markPublished(ctx, tx, acked); err != nil {
		return 0, errors.Join(pubErr, err)
	}

	if err := tx.Commit(ctx); err != nil {
		return 0, errors.Join(pubErr, fmt.Errorf("commit: %w", err))
	}

	return len(batch), pubErr
}

// relayLock is the key of the advisory lock (one per database, so per
// cluster) that every relay batch holds shared from its claim to its
// commit, and the creation of the stream exclusively (createStream).
const relayLock int64 = 0x6d6f_6475_6c69_7468 // "modulith"

// lockMode is how a transaction holds the relay lock.
type lockMode bool

const (
	shared    lockMode = false
	exclusive lockMode = true
)

// lockRelays takes the relay lock in tx, until tx ends.
func lockRelays(ctx context.Context, tx pgx.Tx, mode lockMode) error {
	sql := "SELECT pg_advisory_xact_lock_shared($1)"
	if mode == exclusive {
		sql = "SELECT pg_advisory_xact_lock($1)"
	}

	if _, err := tx.Exec(ctx, sql, relayLock); err != nil {
		return fmt.Errorf("relay lock: %w", err)
	}

	return nil
}

func claimUnpublished(ctx context.Context, tx pgx.Tx, limit int) ([]relayed, error) {
	rows, err := tx.Query(ctx, relaySQL, limit)
	if err != nil {
		return nil, fmt.Errorf("claim unpublished deliveries: %w", err)
	}

	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (relayed, error) {
		var d relayed

		m := &d.msg
		if err := r.Scan(&m.Subscriber, &m.EventID, &m.Attempts, &d.updatedAt, &m.Name, &m.Version, &m.Payload,
			&m.Sealed, &m.OrderingKey, &m.Trace, &m.OccurredAt); err != nil {
			return d, fmt.Errorf("scan: %w", err)
		}

		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim unpublished deliveries: %w", err)
	}

	return out, nil
}

// publish sends the batch without waiting between messages, then waits for
// JetStream's acknowledgements; it returns the deliveries JetStream stored
// (a duplicate of a message it holds counts).
func (t *carrier) publish(ctx context.Context, batch []relayed) ([]relayed, error) {
	futures := make([]jetstream.PubAckFuture, len(batch))

	var errs []error

	for i, d := range batch {
		f, err := t.publishAsync(d)
		if err != nil {
			errs = append(errs, err)

			continue
		}

		futures[i] = f
	}

	acked := make([]relayed, 0, len(batch))

	for i, f := range futures {
		if f == nil {
			continue
		}

		select {
		case <-f.Ok():
			acked = append(acked, batch[i])
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish %s to %s: %w", batch[i].msg.EventID, batch[i].msg.Subscriber, err))
		case <-ctx.Done():
			return acked, fmt.Errorf("publish: %w", ctx.Err())
		}
	}

	return acked, errors.Join(errs...)
}

func (t *carrier) publishAsync(d relayed) (jetstream.PubAckFuture, error) {
	data, err := json.Marshal(d.msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", d.msg.EventID, err)
	}

	m := &nats.Msg{Subject: t.subject(d.msg.Subscriber, d.msg.Name), Data: data}

	f, err := t.js.PublishMsgAsync(m,
		jetstream.WithMsgID(msgID(d.msg.Subscriber, d.msg.EventID, d.msg.Attempts, d.updatedAt)),
		jetstream.WithExpectStream(t.names.stream))
	if err != nil {
		return nil, fmt.Errorf("publish %s to %s: %w", d.msg.EventID, d.msg.Subscriber, err)
	}

	return f, nil
}

func markPublished(ctx context.Context, tx pgx.Tx, acked []relayed) error {
	if len(acked) == 0 {
		return nil
	}

	subscribers := make([]string, len(acked))
	eventIDs := make([]string, len(acked))

	for i, d := range acked {
		subscribers[i], eventIDs[i] = d.msg.Subscriber, d.msg.EventID
	}

	_, err := tx.Exec(ctx, `UPDATE events.deliveries d SET published_at = now()
		FROM unnest($1::text[], $2::text[]) AS p (subscriber, event_id)
		WHERE d.subscriber = p.subscriber AND d.event_id = p.event_id`, subscribers, eventIDs)
	if err != nil {
		return fmt.Errorf("mark published: %w", err)
	}

	return nil
}

// sweep republishes the unfinished deliveries relayed longer ago than the
// stream keeps messages: JetStream dropped them (their subscriber ran
// nowhere for the whole retention), so without this they would stay
// pending for ever.
func (t *carrier) sweep(ctx context.Context) {
	n, err := republish(ctx, t.d.Pool(), t.cfg.Retention)
	if err != nil {
		if ctx.Err() == nil {
			t.log.WarnContext(ctx, "events: republish expired NATS deliveries", "error", err)
		}

		return
	}

	if n > 0 {
		t.log.WarnContext(ctx, "events: republishing deliveries NATS dropped by age", "deliveries", n)
	}
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// republish hands the unfinished deliveries relayed at least age ago back
// to the relay; updated_at moves, so they get new message IDs. The age is
// counted from the statement's start, which, in a transaction that waited
// for the relay lock, comes after the commits of the relays it waited for.
func republish(ctx context.Context, db execer, age time.Duration) (int64, error) {
	tag, err := db.Exec(ctx, `UPDATE events.deliveries SET published_at = NULL, updated_at = now()
		WHERE published_at <= statement_timestamp() - $1::interval AND state IN ('pending', 'failed')`, age)
	if err != nil {
		return 0, fmt.Errorf("republish deliveries: %w", err)
	}

	return tag.RowsAffected(), nil
}

// repair recreates the stream and consumers when an error says they are
// gone (deleted, or a NATS server that lost its storage).
func (t *carrier) repair(ctx context.Context, cause error) {
	if !errors.Is(cause, nats.ErrNoResponders) && !errors.Is(cause, jetstream.ErrNoStreamResponse) &&
		!errors.Is(cause, jetstream.ErrConsumerDeleted) && !errors.Is(cause, jetstream.ErrConsumerNotFound) &&
		!errors.Is(cause, jetstream.ErrStreamNotFound) {
		return
	}

	if _, err := t.ensure(ctx); err != nil && ctx.Err() == nil {
		t.log.WarnContext(ctx, "events: recreate NATS stream and consumers", "error", err)
	}
}
