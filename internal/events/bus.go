// Package events is the platform's publish/subscribe bus: modules publish
// facts (user.created) without knowing who listens, and subscribers react
// (send the login code, audit, notify).
//
// This bus delivers in process: Publish returns at once and each handler
// runs in its own goroutine, owned by the bus and drained by Close. A
// handler that panics or fails is logged and does not affect the publisher
// or other handlers. Publish returns an error so that a durable, outbox-
// backed bus (PublishTx) can take its place without changing callers.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.jetify.com/typeid"
	"go.opentelemetry.io/otel/attribute"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/telemetry"
)

// IDPrefix is the TypeID prefix of event IDs.
const IDPrefix = "evt"

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.Unavailable("event bus is closed")

// Event is a fact that happened. Publish fills ID and OccurredAt when unset.
type Event struct {
	ID         string
	Name       string
	Payload    map[string]any
	OccurredAt time.Time
}

// Handler reacts to an event. Its context keeps the publisher's values
// (trace, request ID) but not its cancellation.
type Handler func(ctx context.Context, e Event) error

// Bus delivers events to the handlers subscribed to their names.
type Bus struct {
	logger *slog.Logger

	mu       sync.RWMutex
	handlers map[string][]Handler
	closed   bool
	inflight sync.WaitGroup
}

// NewBus returns an empty bus.
func NewBus(logger *slog.Logger) *Bus {
	return &Bus{logger: logger, handlers: make(map[string][]Handler)}
}

// Subscribe registers h for events named name.
func (b *Bus) Subscribe(name string, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.handlers[name] = append(b.handlers[name], h)
}

// Publish hands e to every handler subscribed to its name and returns
// without waiting for them.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	if e.Name == "" {
		return errors.Internal("publish event", fmt.Errorf("event has no name"))
	}

	if e.ID == "" {
		id, err := typeid.WithPrefix(IDPrefix)
		if err != nil {
			return errors.Internal("publish event", fmt.Errorf("new event ID: %w", err))
		}

		e.ID = id.String()
	}

	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now().UTC()
	}

	b.mu.RLock()
	defer b.mu.RUnlock()

	if b.closed {
		return ErrClosed
	}

	detached := context.WithoutCancel(ctx)

	for _, h := range b.handlers[e.Name] {
		b.inflight.Add(1)

		go b.deliver(detached, h, e)
	}

	return nil
}

func (b *Bus) deliver(ctx context.Context, h Handler, e Event) {
	defer b.inflight.Done()

	ctx, span := telemetry.StartSpan(ctx, "event "+e.Name,
		attribute.String("event.id", e.ID), attribute.String("event.name", e.Name))
	defer span.End()

	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("event handler panic: %v", p)
			telemetry.RecordError(ctx, err)
			b.logger.ErrorContext(ctx, "event handler panicked",
				"event", e.Name, "event_id", e.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()

	if err := h(ctx, e); err != nil {
		telemetry.RecordError(ctx, err)
		b.logger.ErrorContext(ctx, "event handler failed", "event", e.Name, "event_id", e.ID, "error", err)
	}
}

// Close stops accepting events and waits until running handlers finish or
// ctx ends, whichever comes first.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()

	done := make(chan struct{})

	go func() {
		b.inflight.Wait()
		close(done)
	}()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("event handlers still running: %w", ctx.Err())
	}
}
