package websocket

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
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
	// closeTimeout bounds the goodbye of a listener's connection.
	closeTimeout = 5 * time.Second
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
	done   chan struct{}
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
	conn, err := f.listen(ctx)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel, f.done = cancel, make(chan struct{})

	go f.run(runCtx, conn)

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

// listen holds a connection of its own in LISTEN on the channel.
func (f *PostgresFanout) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := database.Listen(ctx, f.pool, f.channel)
	if err != nil {
		return nil, fmt.Errorf("websocket fan-out: %w", err)
	}

	return conn, nil
}

func (f *PostgresFanout) run(ctx context.Context, conn *pgx.Conn) {
	defer close(f.done)

	for conn != nil {
		err := f.receive(ctx, conn)
		if ctx.Err() != nil {
			return
		}

		f.logger.WarnContext(ctx, "websocket: fan-out listener lost; listening again", "error", err)
		conn = f.relisten(ctx)
	}
}

// relisten tries to listen again, with growing delays, until it does or ctx
// ends (nil).
func (f *PostgresFanout) relisten(ctx context.Context) *pgx.Conn {
	for delay := relistenMin; sleep(ctx, delay); delay = min(2*delay, relistenMax) {
		conn, err := f.listen(ctx)
		if err == nil {
			f.logger.InfoContext(ctx, "websocket: fan-out listening again")

			return conn
		}

		f.logger.WarnContext(ctx, "websocket: fan-out cannot listen yet", "error", err)
	}

	return nil
}

// sleep waits d and reports true, or false as soon as ctx ends.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// receive hands every notification to the hub until the connection fails
// or ctx ends, then closes the connection.
func (f *PostgresFanout) receive(ctx context.Context, conn *pgx.Conn) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()

		_ = conn.Close(cctx)
	}()

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}

		f.hub.receive([]byte(n.Payload))
	}
}
