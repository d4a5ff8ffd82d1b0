package observability

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/modulith/modulith/internal/telemetry"
)

// Metrics is the process's meter provider and the Prometheus registry it
// exports to, together with Go runtime and process metrics.
type Metrics struct {
	Provider *sdkmetric.MeterProvider
	registry *prometheus.Registry
}

// NewMetrics creates the meter provider and the Prometheus registry.
func NewMetrics(res *resource.Resource) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register Go collector: %w", err)
	}

	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}

	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("create Prometheus exporter: %w", err)
	}

	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithResource(res))

	return &Metrics{Provider: provider, registry: reg}, nil
}

// Meter is the platform's meter.
func (m *Metrics) Meter() metric.Meter { return m.Provider.Meter(telemetry.InstrumentationName) }

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Shutdown stops the meter provider.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if err := m.Provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down meter provider: %w", err)
	}

	return nil
}

// ObservePool exports the connection pool's statistics as
// db_pool_connections{state}, db_pool_max_connections and
// db_pool_acquires_total, db_pool_empty_acquires_total and
// db_pool_acquire_wait_seconds_total.
func ObservePool(meter metric.Meter, pool *pgxpool.Pool) error {
	conns, err := meter.Int64ObservableGauge("db.pool.connections", metric.WithDescription("Pool connections by state."))
	if err != nil {
		return fmt.Errorf("create pool gauge: %w", err)
	}

	maxConns, err := meter.Int64ObservableGauge("db.pool.max_connections", metric.WithDescription("Pool size limit."))
	if err != nil {
		return fmt.Errorf("create pool gauge: %w", err)
	}

	acquires, err := meter.Int64ObservableCounter("db.pool.acquires", metric.WithDescription("Connections acquired."))
	if err != nil {
		return fmt.Errorf("create pool counter: %w", err)
	}

	empty, err := meter.Int64ObservableCounter("db.pool.empty_acquires",
		metric.WithDescription("Acquires that had to wait for a connection."))
	if err != nil {
		return fmt.Errorf("create pool counter: %w", err)
	}

	wait, err := meter.Float64ObservableCounter("db.pool.acquire_wait", metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for a connection."))
	if err != nil {
		return fmt.Errorf("create pool counter: %w", err)
	}

	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := pool.Stat()
		o.ObserveInt64(conns, int64(s.IdleConns()), metric.WithAttributes(stateAttr("idle")))
		o.ObserveInt64(conns, int64(s.AcquiredConns()), metric.WithAttributes(stateAttr("acquired")))
		o.ObserveInt64(conns, int64(s.ConstructingConns()), metric.WithAttributes(stateAttr("constructing")))
		o.ObserveInt64(maxConns, int64(s.MaxConns()))
		o.ObserveInt64(acquires, s.AcquireCount())
		o.ObserveInt64(empty, s.EmptyAcquireCount())
		o.ObserveFloat64(wait, s.EmptyAcquireWaitTime().Seconds())

		return nil
	}, conns, maxConns, acquires, empty, wait)
	if err != nil {
		return fmt.Errorf("register pool callback: %w", err)
	}

	return nil
}

func stateAttr(state string) attribute.KeyValue { return attribute.String("state", state) }
