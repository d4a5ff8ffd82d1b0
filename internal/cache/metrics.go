package cache

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/telemetry"
)

// The caches' instruments come from the global meter provider, which
// forwards to the process's provider once it is installed. Prometheus
// shows them as cache_hits_total, cache_misses_total, cache_loads_total
// and cache_invalidations_total (keys), each with a cache label.
var (
	meter = otel.Meter(telemetry.InstrumentationName)

	hits, _          = meter.Int64Counter("cache.hits", metric.WithDescription("Reads answered by a cache."))
	misses, _        = meter.Int64Counter("cache.misses", metric.WithDescription("Reads a cache could not answer."))
	loads, _         = meter.Int64Counter("cache.loads", metric.WithDescription("Loads after misses (one per key for concurrent misses)."))
	invalidations, _ = meter.Int64Counter("cache.invalidations", metric.WithDescription("Keys invalidated on every replica."))
)

// metrics records one cache's measurements.
type metrics struct {
	attrs metric.MeasurementOption
}

// newMetrics lists the cache's series at zero from the start, so that a
// dashboard reads a rate before the first hit.
func newMetrics(name string) metrics {
	m := metrics{attrs: metric.WithAttributes(attribute.String("cache", name))}

	for _, c := range []metric.Int64Counter{hits, misses, loads, invalidations} {
		c.Add(context.Background(), 0, m.attrs)
	}

	return m
}

func (m metrics) hit(ctx context.Context)  { hits.Add(ctx, 1, m.attrs) }
func (m metrics) miss(ctx context.Context) { misses.Add(ctx, 1, m.attrs) }
func (m metrics) load(ctx context.Context) { loads.Add(ctx, 1, m.attrs) }

func (m metrics) invalidated(ctx context.Context, keys int) {
	invalidations.Add(ctx, int64(keys), m.attrs)
}
