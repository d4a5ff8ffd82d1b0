package setup

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/websocket"
)

// Fanout is a WebSocket fan-out with its lifecycle.
type Fanout interface {
	websocket.Fanout
	Start(ctx context.Context) error
	Close(ctx context.Context) error
}

// NewFanout returns the WebSocket fan-out of the events transport: NATS
// core on the events' NATS server (on the cluster's own subject unless
// WS_NATS_SUBJECT names one), else LISTEN/NOTIFY on the database. It is
// not started.
func NewFanout(ctx context.Context, pool *pgxpool.Pool, ev events.Config, cfg websocket.Config, hub *websocket.Hub, logger *slog.Logger) (Fanout, error) {
	if ev.Transport != events.TransportNATS {
		return websocket.NewPostgresFanout(pool, cfg.PostgresChannel, hub, logger), nil
	}

	subject := cfg.NATSSubject
	if subject == "" {
		id, err := events.ClusterID(ctx, pool)
		if err != nil {
			return nil, fmt.Errorf("websocket fan-out: %w", err)
		}

		subject = "modulith." + id + ".ws"
	}

	return websocket.NewNATSFanout(ev.NATSURL, subject, hub, logger), nil
}
