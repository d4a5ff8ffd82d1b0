package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Transport carries due deliveries from the outbox to the subscribers'
// handlers: it decides which process handles which delivery, and when. The
// PostgreSQL dispatcher is built in and the default; others are given to
// New, which uses the one Config.Transport names (the NATS JetStream
// transport is internal/events/natsbus).
//
// Everything else stays with the bus, the same on every transport: the
// outbox and the delivery rows, subscriptions, the handling of a delivery
// (Handle: its handler under a savepoint, the failure recorded as a retry
// or a dead letter), the idempotency record (Done), the NOTIFY listener
// (Listen), maintenance, dead letters and redrive. A transport reads due
// deliveries from the events schema and locks their rows in the
// transaction it hands to Handle; events.deliveries.published_at is kept
// for a transport that relays them elsewhere (Redrive clears it).
type Transport interface {
	// Name is the value of Config.Transport (EVENTS_TRANSPORT) that selects it.
	Name() string
	// Start prepares to carry d's deliveries (connects, creates what it
	// needs) and fails when it cannot: Bus.Start returns its error. The bus
	// runs the returned function in a goroutine of its own; it carries the
	// deliveries until its context ends, at Close, which waits for it to
	// return. Bus.Start calls Start only when this process consumes events
	// and has subscribers.
	Start(ctx context.Context, d *Deliveries) (run func(context.Context), err error)
}

// transportFor returns the transport named name among given, or the
// built-in PostgreSQL dispatcher.
func transportFor(name string, given []Transport) (Transport, error) {
	names := []string{TransportPostgres}

	for _, t := range given {
		if t == nil {
			continue
		}

		if t.Name() == name {
			return t, nil
		}

		names = append(names, t.Name())
	}

	if name == TransportPostgres {
		return postgresTransport{}, nil
	}

	return nil, fmt.Errorf("EVENTS_TRANSPORT: %q is not among the transports given to events.New (%s); "+
		"pass it, such as natsbus.Transport{} for %q", name, strings.Join(names, ", "), TransportNATS)
}

// Delivery is a due delivery of an event to a subscriber, as the outbox
// stores it: what Handle needs to run the subscriber's handler.
type Delivery struct {
	EventID string
	Name    string
	Version int
	Payload json.RawMessage
	// Sealed holds the event's secrets, sealed; Handle opens them for the
	// handler. Carry them only sealed.
	Sealed      []byte
	OrderingKey string
	// Trace is the publisher's trace context, continued by the handler.
	Trace      map[string]string
	OccurredAt time.Time
	// Attempts is the number of attempts made before this one, as the
	// delivery row counts them.
	Attempts int
}

// Deliveries is the bus as a transport sees it: the subscribers this
// process runs and the handling of their deliveries. It is safe for
// concurrent use.
type Deliveries struct {
	bus   *Bus
	subs  map[string]*subscriber
	names []string
}

func newDeliveries(b *Bus, subs []*subscriber) *Deliveries {
	d := &Deliveries{bus: b, subs: make(map[string]*subscriber, len(subs))}

	for _, s := range subs {
		d.subs[s.name] = s
		d.names = append(d.names, s.name)
	}

	sort.Strings(d.names)

	return d
}

// Config is the bus's configuration.
func (d *Deliveries) Config() Config { return d.bus.cfg }

// Logger is the bus's logger.
func (d *Deliveries) Logger() *slog.Logger { return d.bus.logger }

// Pool is the bus's database, which holds the outbox.
func (d *Deliveries) Pool() *pgxpool.Pool { return d.bus.pool }

// Subscribers returns the names of the subscribers this process runs,
// sorted.
func (d *Deliveries) Subscribers() []string { return append([]string(nil), d.names...) }

// Handles reports whether subscriber has a handler for event in this
// process (during a rolling deploy, replicas may differ).
func (d *Deliveries) Handles(subscriber, event string) bool {
	s := d.subs[subscriber]

	return s != nil && s.handlers[event] != nil
}

// Listen holds a connection in LISTEN until ctx ends, reconnecting after
// errors, and calls wake when events may have become due: after each
// commit that stored events, a redrive, a Notify, and on every
// (re)connection, to catch up on what it missed.
func (d *Deliveries) Listen(ctx context.Context, wake func()) { d.bus.listen(ctx, wake) }

// Notify wakes the transports of every process (their Listen calls wake).
// Call it outside a transaction: a NOTIFY inside one serializes commits.
func (d *Deliveries) Notify(ctx context.Context, payload string) error {
	if _, err := d.bus.pool.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, payload); err != nil {
		return fmt.Errorf("notify: %w", err)
	}

	return nil
}

// Handle runs subscriber's handler for c under a savepoint of tx, the
// transaction holding c's delivery row locked, and reports whether it
// succeeded. A failure is recorded in tx (retried after the retry policy's
// delay, or dead after the last attempt or at once when Permanent), so
// only Handle's own database errors are returned; when such an error
// leaves tx unusable the failure is recorded in a transaction of its own.
// Record the successes with Done before committing tx.
func (d *Deliveries) Handle(ctx context.Context, tx pgx.Tx, subscriber string, c Delivery) (bool, error) {
	s := d.subs[subscriber]
	if s == nil {
		return false, fmt.Errorf("events: no subscriber %s in this process", subscriber)
	}

	return d.bus.handleClaimed(ctx, tx, s, c)
}

// Done marks subscriber's deliveries of the events handled (whose handler
// Handle ran successfully) and skipped (found handled before) delivered,
// and records the handled ones as processed, in tx: the record that a
// handler ran commits with its writes, so a redelivery is skipped.
func (d *Deliveries) Done(ctx context.Context, tx pgx.Tx, subscriber string, handled, skipped []string) error {
	return recordDone(ctx, tx, subscriber, handled, skipped)
}

// Skipped counts a delivery of event to subscriber that was not handled
// again because its handler had run (events.processed holds the record).
func (d *Deliveries) Skipped(ctx context.Context, subscriber, event string) {
	handledCount.Add(ctx, 1, outcomeAttrs(subscriber, event, outcomeSkipped))
}
