package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// NewRedisHub returns a hub over Redis pub/sub on channel (prefix +
// "cache"), whose caches shared by the replicas (New) live in client
// under keys that start with prefix. The client is the caller's to close,
// after the hub. Its caches' metrics go to meter.
func NewRedisHub(client *redis.Client, prefix string, logger *slog.Logger, meter metric.Meter) (*Hub, error) {
	h, err := newHub(&redisTransport{client: client, logger: logger}, prefix+"cache", logger, meter)
	if err != nil {
		return nil, err
	}

	h.shared, h.prefix = client, prefix

	return h, nil
}

// quietReceive is how long a healthy subscription goes without a message at
// most (heartbeats arrive every HeartbeatEvery): after it, the connection
// is checked with a PING, which reconnects it if it is dead.
const quietReceive = 4 * HeartbeatEvery

// redisTransport is Redis pub/sub; go-redis subscribes again by itself
// after it reconnects.
type redisTransport struct {
	client *redis.Client
	logger *slog.Logger
}

func (r *redisTransport) send(ctx context.Context, channel string, payload []byte) error {
	_, err := r.broadcast(ctx, channel, payload)

	return err
}

// broadcast returns what PUBLISH does: the subscribers the message reached.
func (r *redisTransport) broadcast(ctx context.Context, channel string, payload []byte) (int, error) {
	n, err := r.client.Publish(ctx, channel, payload).Result()
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", channel, err)
	}

	return int(n), nil
}

func (r *redisTransport) run(ctx context.Context, channels []string, connected func(), receive func([]byte)) (<-chan struct{}, error) {
	ps := r.client.Subscribe(ctx, channels...)

	// The first replies confirm the subscriptions.
	for range channels {
		if _, err := ps.Receive(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("subscribe: %w", err), ps.Close())
		}
	}

	connected()

	done := make(chan struct{})

	go func() {
		defer close(done)
		defer func() { _ = ps.Close() }()

		r.receive(ctx, ps, connected, receive)
	}()

	return done, nil
}

func (r *redisTransport) receive(ctx context.Context, ps *redis.PubSub, connected func(), receive func([]byte)) {
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, quietReceive)

		switch m := msg.(type) {
		case *redis.Message:
			receive([]byte(m.Payload))
		case *redis.Subscription:
			// Subscribed again after a reconnection: messages may be lost.
			if m.Kind == "subscribe" {
				connected()
			}
		}

		if err != nil && ctx.Err() == nil {
			r.logger.WarnContext(ctx, "cache: invalidation subscription quiet or lost; checking it", "error", err)

			if perr := ps.Ping(ctx); perr != nil {
				select {
				case <-ctx.Done():
				case <-time.After(resubscribeMin):
				}
			}
		}
	}
}
