package observability

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
)

// Telemetry is the process's metrics and tracing.
type Telemetry struct {
	Metrics    *Metrics
	Tracer     *sdktrace.TracerProvider
	Propagator propagation.TextMapPropagator
}

// Setup creates metrics and tracing for a service and installs them as the
// OpenTelemetry globals (the telemetry helpers use the global tracer).
func Setup(ctx context.Context, service, version string, tracing TracingConfig) (*Telemetry, error) {
	res := resource.NewSchemaless(semconv.ServiceName(service), semconv.ServiceVersion(version))

	metrics, err := NewMetrics(res)
	if err != nil {
		return nil, err
	}

	tracer, err := NewTracerProvider(ctx, res, tracing)
	if err != nil {
		return nil, err
	}

	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

	otel.SetTracerProvider(tracer)
	otel.SetMeterProvider(metrics.Provider)
	otel.SetTextMapPropagator(prop)

	return &Telemetry{Metrics: metrics, Tracer: tracer, Propagator: prop}, nil
}

// Shutdown flushes and stops tracing and metrics.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if err := t.Tracer.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down tracer provider: %w", err))
	}

	if err := t.Metrics.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}

	return errors.Join(errs...)
}
