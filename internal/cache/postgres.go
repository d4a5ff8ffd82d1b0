package cache

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/database"
)

// Delays between attempts to subscribe again after the connection is lost.
const (
	resubscribeMin = 250 * time.Millisecond
	resubscribeMax = 10 * time.Second
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
	l := &database.Listener{
		Pool: p.pool, AppName: p.appName, Channels: channels,
		Name: "cache: invalidation listener", Logger: p.logger,
		MinDelay: resubscribeMin, MaxDelay: resubscribeMax,
		Listening: connected,
		Notified:  func(payload string) { receive([]byte(payload)) },
	}

	return l.Start(ctx)
}
