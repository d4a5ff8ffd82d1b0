package cache

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/database"
)

// Delays between attempts to subscribe again after the connection is lost.
const (
	resubscribeMin = 250 * time.Millisecond
	resubscribeMax = 10 * time.Second
	closeTimeout   = 5 * time.Second
)

// NewPostgresHub returns a hub over LISTEN/NOTIFY on channel (an unquoted
// identifier of at most 46 characters) of pool's database. Its caches'
// metrics go to meter.
func NewPostgresHub(pool *pgxpool.Pool, channel string, logger *slog.Logger, meter metric.Meter) (*Hub, error) {
	return newHub(&pgTransport{pool: pool, appName: "cache:" + channel, logger: logger}, channel, logger, meter)
}

// pgTransport is LISTEN/NOTIFY. Its listener connections carry appName
// as their application_name, so that pg_stat_activity counts them.
type pgTransport struct {
	pool    *pgxpool.Pool
	appName string
	logger  *slog.Logger
}

func (p *pgTransport) send(ctx context.Context, channel string, payload []byte) error {
	if _, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload)); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}

	return nil
}

// broadcast counts the listeners after the notification committed: every
// connection listening before it is counted (a connection that appears in
// between counts too, and at worst makes the wait its longest).
func (p *pgTransport) broadcast(ctx context.Context, channel string, payload []byte) (int, error) {
	if err := p.send(ctx, channel, payload); err != nil {
		return 0, err
	}

	var n int
	if err := p.pool.QueryRow(ctx,
		"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
		p.appName).Scan(&n); err != nil {
		return 0, fmt.Errorf("count listeners: %w", err)
	}

	return n, nil
}

func (p *pgTransport) run(ctx context.Context, channels []string, connected func(), receive func([]byte)) (<-chan struct{}, error) {
	conn, err := p.listen(ctx, channels)
	if err != nil {
		return nil, err
	}

	connected()

	done := make(chan struct{})

	go func() {
		defer close(done)

		for conn != nil {
			err := p.receive(ctx, conn, receive)
			if ctx.Err() != nil {
				return
			}

			p.logger.WarnContext(ctx, "cache: invalidation listener lost; memory is not trusted until it listens again", "error", err)

			if conn = p.relisten(ctx, channels); conn != nil {
				connected()
			}
		}
	}()

	return done, nil
}

func (p *pgTransport) listen(ctx context.Context, channels []string) (*pgx.Conn, error) {
	conn, err := database.ListenAs(ctx, p.pool, p.appName, channels...)
	if err != nil {
		return nil, fmt.Errorf("cache listener: %w", err)
	}

	return conn, nil
}

// relisten tries to listen again, with growing delays, until it does or ctx
// ends (nil).
func (p *pgTransport) relisten(ctx context.Context, channels []string) *pgx.Conn {
	for delay := resubscribeMin; sleep(ctx, delay); delay = min(2*delay, resubscribeMax) {
		conn, err := p.listen(ctx, channels)
		if err == nil {
			p.logger.InfoContext(ctx, "cache: invalidation listener listening again")

			return conn
		}

		p.logger.WarnContext(ctx, "cache: invalidation listener cannot listen yet", "error", err)
	}

	return nil
}

// receive hands every notification to receive until the connection fails
// or ctx ends, then closes the connection.
func (p *pgTransport) receive(ctx context.Context, conn *pgx.Conn, receive func([]byte)) error {
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

		receive([]byte(n.Payload))
	}
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
