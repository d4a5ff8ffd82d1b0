package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// IDPrefix is the TypeID prefix of event IDs.
const IDPrefix = "evt"

// Raw is an event as the bus stores and carries it: its metadata and its
// payload as JSON. Modules publish and handle typed payloads (Payload,
// Subscribe); platform adapters and tests see Raw. PublishRaw fills ID,
// Version and OccurredAt when unset.
type Raw struct {
	ID      string
	Name    string
	Version int
	// Payload is a JSON object, stored in clear text: no secrets here.
	Payload json.RawMessage
	// Secret holds values that must never be stored in clear text (a login
	// code). They are sealed in the outbox, handed to subscribers, and
	// erased once every delivery has ended.
	Secret map[string]string
	// OrderingKey, when set, makes each subscriber handle the events that
	// share it in publication order (e.g. a user ID).
	OrderingKey string
	OccurredAt  time.Time
	// Attempt is the delivery attempt, from 1; set for handlers.
	Attempt int
}

// Handler reacts to a raw event (Subscribe wraps typed handlers in one). It may run more than once for one event (at
// least once delivery), but database writes it makes through Tx(ctx) commit
// together with the record that it ran, so they take effect once. An error
// (or panic) schedules a retry.
type Handler func(ctx context.Context, e Raw) error

type txKey struct{}

// Tx returns the transaction a handler runs in: writes made through it
// commit if and only if the delivery is recorded as done.
func Tx(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)

	return tx, ok
}

func withTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}
