package ratelimit_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/redistest"
)

// newRedis returns a Redis limiter on the server at url, keys under
// prefix, and the reader of its metrics.
func newRedis(t testing.TB, url, prefix string) (*ratelimit.Redis, *sdkmetric.ManualReader) {
	t.Helper()

	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}

	client := redis.NewClient(opts)

	t.Cleanup(func() { _ = client.Close() })

	fallback := ratelimit.NewLocal(100)
	t.Cleanup(fallback.Close)

	reader := sdkmetric.NewManualReader()

	l, err := ratelimit.NewRedis(ratelimit.RedisDeps{
		Client: client, Prefix: prefix, Fallback: fallback,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Meter:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"),
	})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}

	return l, reader
}

func TestRedisBurstThenRefuses(t *testing.T) {
	l, _ := newRedis(t, redistest.URL(t), redistest.Prefix(t))

	lim := ratelimit.Limit{Count: 3, Period: time.Minute, Burst: 3}
	checkBurst(t, spend(t, l, "k", lim, 4), lim)
}

// Two limiters on one server are two replicas: they spend one budget.
func TestRedisReplicasShareTheBudget(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	a, _ := newRedis(t, url, prefix)
	b, _ := newRedis(t, url, prefix)

	lim := ratelimit.Limit{Count: 4, Period: time.Minute, Burst: 4}
	spend(t, a, "k", lim, 2)
	spend(t, b, "k", lim, 2)

	for name, l := range map[string]ratelimit.Limiter{"a": a, "b": b} {
		if d := spend(t, l, "k", lim, 1)[0]; d.Allowed {
			t.Errorf("replica %s after 4 requests across both = %+v, want refused", name, d)
		}
	}
}

// With Redis unreachable the limiter answers from the replica's own
// buckets, still limiting, and counts each failure.
func TestRedisFailsOpenToTheLocalLimit(t *testing.T) {
	l, reader := newRedis(t, "redis://127.0.0.1:1/0", "test:")

	lim := ratelimit.Limit{Count: 2, Period: time.Minute, Burst: 2}
	ds := spend(t, l, "k", lim, 3)

	if !ds[0].Allowed || !ds[1].Allowed || ds[2].Allowed {
		t.Errorf("decisions = %+v, want two allowed then refused (the local budget)", ds)
	}

	// The first failure sets Redis aside for a while: one error, not three.
	if got := errorCount(t, reader); got != 1 {
		t.Errorf("ratelimit.backend.errors = %d, want 1", got)
	}
}

func errorCount(t *testing.T, reader *sdkmetric.ManualReader) int64 {
	t.Helper()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "ratelimit.backend.errors" {
				var n int64
				for _, dp := range sum.DataPoints {
					n += dp.Value
				}

				return n
			}
		}
	}

	return 0
}
