package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/config"
)

// CacheChannel is the PostgreSQL channel of cache invalidations.
const CacheChannel = "modulith_cache"

// Cache builds the hub of the process's caches, not started: over Redis
// at CACHE_URL, which then also holds the caches the replicas share, or
// else over the database's LISTEN/NOTIFY. close stops the hub and closes
// its Redis client.
func Cache(cfg *config.Config, pool *pgxpool.Pool, logger *slog.Logger, meter metric.Meter) (*cache.Hub, func(context.Context) error, error) {
	logger = logger.With("component", "cache")

	if cfg.CacheURL == "" {
		h, err := cache.NewPostgresHub(pool, CacheChannel, logger, meter)
		if err != nil {
			return nil, nil, err
		}

		return h, h.Close, nil
	}

	opts, err := redis.ParseURL(cfg.CacheURL)
	if err != nil {
		return nil, nil, errors.New("CACHE_URL: not a Redis URL") // never the URL: it may hold a password
	}

	client := redis.NewClient(opts)

	h, err := cache.NewRedisHub(client, cfg.CachePrefix, logger, meter)
	if err != nil {
		return nil, nil, errors.Join(err, client.Close())
	}

	return h, func(ctx context.Context) error {
		err := h.Close(ctx)
		if cerr := client.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close the CACHE_URL client: %w", cerr))
		}

		return err
	}, nil
}
