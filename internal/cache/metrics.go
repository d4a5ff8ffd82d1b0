package cache

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instruments are a hub's, shared by its caches; Prometheus shows them as
// cache_hits_total, cache_misses_total, cache_loads_total and
// cache_invalidations_total (keys), each with a cache label.
type instruments struct {
	hits, misses, loads, invalidations metric.Int64Counter
}

func newInstruments(meter metric.Meter) (*instruments, error) {
	var (
		in  instruments
		err error
	)

	counters := []struct {
		dst  *metric.Int64Counter
		name string
		desc string
	}{
		{&in.hits, "cache.hits", "Reads answered by a cache."},
		{&in.misses, "cache.misses", "Reads a cache could not answer."},
		{&in.loads, "cache.loads", "Loads after misses (one per key for concurrent misses)."},
		{&in.invalidations, "cache.invalidations", "Keys invalidated on every replica."},
	}
	for _, c := range counters {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithDescription(c.desc)); err != nil {
			return nil, fmt.Errorf("create %s counter: %w", c.name, err)
		}
	}

	return &in, nil
}

// metrics records one cache's measurements.
type metrics struct {
	in    *instruments
	attrs metric.MeasurementOption
}

// newMetrics lists the cache's series at zero from the start, so that a
// dashboard reads a rate before the first hit.
func newMetrics(in *instruments, name string) metrics {
	m := metrics{in: in, attrs: metric.WithAttributes(attribute.String("cache", name))}

	for _, c := range []metric.Int64Counter{in.hits, in.misses, in.loads, in.invalidations} {
		c.Add(context.Background(), 0, m.attrs)
	}

	return m
}

func (m metrics) hit(ctx context.Context)  { m.in.hits.Add(ctx, 1, m.attrs) }
func (m metrics) miss(ctx context.Context) { m.in.misses.Add(ctx, 1, m.attrs) }
func (m metrics) load(ctx context.Context) { m.in.loads.Add(ctx, 1, m.attrs) }

func (m metrics) invalidated(ctx context.Context, keys int) {
	m.in.invalidations.Add(ctx, int64(keys), m.attrs)
}
