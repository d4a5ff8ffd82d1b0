package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/routepolicy"
)

// RoutePolicy builds the route policies of cfg (RATE_LIMITS, ROUTE_ROLES,
// HTTP_CACHE_CONTROL) with their limiter: this replica's memory, or Redis
// when RATE_LIMIT_URL names one, its keys under SERVICE_NAME. Redis is not
// asked at start: the limiter falls back to this replica's buckets until
// it answers.
func RoutePolicy(cfg *config.Config, tokens routepolicy.TokenParser, logger *slog.Logger, meter metric.Meter) (
	*routepolicy.Policy, func(context.Context) error, error,
) {
	local := ratelimit.NewLocal(ratelimit.DefaultMaxKeys)
	closeAll := func(context.Context) error { local.Close(); return nil }

	var limiter ratelimit.Limiter = local

	if cfg.RateLimitURL != "" {
		opts, err := redis.ParseURL(cfg.RateLimitURL)
		if err != nil {
			local.Close()

			return nil, nil, fmt.Errorf("RATE_LIMIT_URL: %w", err)
		}

		client := redis.NewClient(opts)
		closeAll = func(context.Context) error {
			local.Close()

			if err := client.Close(); err != nil {
				return fmt.Errorf("close the rate-limit Redis client: %w", err)
			}

			return nil
		}

		limiter, err = ratelimit.NewRedis(ratelimit.RedisDeps{
			Client: client, Prefix: cfg.ServiceName + ":ratelimit:", Fallback: local,
			Logger: logger.With("component", "ratelimit"), Meter: meter,
		})
		if err != nil {
			return nil, nil, errors.Join(err, closeAll(context.Background()))
		}
	}

	p, err := routepolicy.New(routepolicy.Config{
		RateLimits: cfg.RateLimits, RouteRoles: cfg.RouteRoles, CacheControl: cfg.HTTPCacheControl,
	}, routepolicy.Deps{Limiter: limiter, Tokens: tokens, Logger: logger, Meter: meter})
	if err != nil {
		return nil, nil, errors.Join(err, closeAll(context.Background()))
	}

	return p, closeAll, nil
}
