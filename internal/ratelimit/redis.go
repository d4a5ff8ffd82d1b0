package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// Redis keeps the buckets in Redis or Valkey, so that every replica spends
// the same budget: one Lua script (GCRA, go-redis/redis_rate) per request,
// which reads and updates a key atomically on the server's clock.
//
// When Redis fails (down, slow, unreachable) it fails open to the
// per-replica budget of its Local limiter rather than refusing every
// request or letting every request through: the service stays up, and a
// client still meets a limit, the configured one per replica. It logs the
// failure, counts it (ratelimit.backend.errors) and leaves Redis alone for
// a second before trying again, so that an outage costs requests no
// timeouts.
type Redis struct {
	limiter  *redis_rate.Limiter
	prefix   string
	fallback *Local
	logger   *slog.Logger
	errors   metric.Int64Counter
	// downUntil is when to try Redis again (Unix nanoseconds) after a
	// failure.
	downUntil atomic.Int64
	now       func() time.Time
}

// Timing of the calls to Redis.
const (
	// callTimeout bounds one call: a healthy server on the same network
	// answers in about a millisecond.
	callTimeout = 250 * time.Millisecond
	// backoff is how long the fallback answers alone after a failure.
	backoff = time.Second
)

// RedisDeps are what the Redis limiter needs. Prefix starts every key
// (e.g. "modulith:ratelimit:"), so that several deployments and tests can
// share one server.
type RedisDeps struct {
	Client   redis.UniversalClient
	Prefix   string
	Fallback *Local
	Logger   *slog.Logger
	Meter    metric.Meter
}

// NewRedis returns a limiter that keeps its buckets in d.Client.
func NewRedis(d RedisDeps) (*Redis, error) {
	errs, err := d.Meter.Int64Counter("ratelimit.backend.errors",
		metric.WithDescription("Rate-limit decisions Redis failed to give: the replica's own limiter gave them."))
	if err != nil {
		return nil, fmt.Errorf("ratelimit metric: %w", err)
	}

	return &Redis{
		limiter: redis_rate.NewLimiter(d.Client), prefix: d.Prefix, fallback: d.Fallback,
		logger: d.Logger, errors: errs, now: time.Now,
	}, nil
}

// Allow spends a token of key's bucket in Redis, or of the fallback's
// while Redis fails.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	if err := l.valid(); err != nil {
		return Decision{}, err
	}

	if r.now().UnixNano() < r.downUntil.Load() {
		return r.fallback.Allow(ctx, key, l)
	}

	// A client that hangs up must not pass for a Redis failure: the call
	// has its own deadline, not the request's cancellation.
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()

	res, err := r.limiter.Allow(callCtx, r.prefix+key, redis_rate.Limit{Rate: l.Count, Period: l.Period, Burst: l.Burst})
	if err != nil {
		r.downUntil.Store(r.now().Add(backoff).UnixNano())
		r.errors.Add(ctx, 1)
		r.logger.WarnContext(ctx, "rate limit: Redis failed; this replica limits alone for a while", "error", err)

		return r.fallback.Allow(ctx, key, l)
	}

	d := Decision{Allowed: res.Allowed > 0, Remaining: res.Remaining, ResetAfter: max(res.ResetAfter, 0)}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, time.Millisecond)
	}

	return d, nil
}
