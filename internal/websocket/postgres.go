package websocket

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/events"
)

// MaxPostgresPayload is the largest envelope PostgresFanout carries:
// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
const MaxPostgresPayload = 7999

// Delays between attempts to listen again after the connection is lost.
const (
	relistenMin = 500 * time.Millisecond
	relistenMax = 30 * time.Second
)

// PostgresFanout exchanges envelopes between replicas with LISTEN/NOTIFY
// on one channel of the shared database: every replica listens, and a
// notification reaches them all. It needs no other infrastructure;
// envelopes are limited to MaxPostgresPayload bytes.
type PostgresFanout struct {
	pool    *pgxpool.Pool
	channel string
	hub     *Hub
	logger  *slog.Logger

	cancel context.CancelFunc
	done   <-chan struct{}
}

// NewPostgresFanout returns a fan-out on channel (an unquoted identifier,
// see Config.PostgresChannel) that hands what it receives to hub.
func NewPostgresFanout(pool *pgxpool.Pool, channel string, hub *Hub, logger *slog.Logger) *PostgresFanout {
	return &PostgresFanout{pool: pool, channel: channel, hub: hub, logger: logger}
}

// execer runs a statement: the pool, or an event handler's transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Publish notifies every listening replica of env. In an event handler it
// notifies in the handler's transaction (events.Tx), so the notification
// goes out if and only if the delivery is recorded. An envelope over
// MaxPostgresPayload bytes fails with ErrMessageTooLarge.
func (f *PostgresFanout) Publish(ctx context.Context, env Envelope) error {
	payload, err := encodeEnvelope(env, MaxPostgresPayload)
	if err != nil {
		return err
	}

	var db execer = f.pool
	if tx, ok := events.Tx(ctx); ok {
		db = tx
	}

	if _, err := db.Exec(ctx, "SELECT pg_notify($1, $2)", f.channel, string(payload)); err != nil {
		return fmt.Errorf("notify %s: %w", f.channel, err)
	}

	return nil
}

// Start listens on the channel and returns once it does, so nothing
// published afterwards is missed; a goroutine then receives until Close,
// listening again (with backoff) whenever the connection is lost.
// Notifications sent while it is not listening are lost.
func (f *PostgresFanout) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &database.Listener{
		Pool: f.pool, Channels: []string{f.channel},
		Name: "websocket: fan-out listener", Logger: f.logger,
		MinDelay: relistenMin, MaxDelay: relistenMax,
		Notified: func(payload string) { f.hub.receive([]byte(payload)) },
	}

	done, err := l.Start(runCtx)
	if err != nil {
		cancel()

		return err
	}

	f.cancel, f.done = cancel, done

	return nil
}

// Close stops listening and waits, until ctx ends, for the listener to
// return its connection.
func (f *PostgresFanout) Close(ctx context.Context) error {
	if f.cancel == nil {
		return nil
	}

	f.cancel()

	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websocket: fan-out listener still running: %w", ctx.Err())
	}
}
