package observability

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
)

// Telemetry is the process's metrics and tracing.
type Telemetry struct {
	Metrics    *Metrics
	Tracer     TracerProvider
	Propagator propagation.TextMapPropagator
	// Export is where spans go, for the start-up log.
	Export TraceExport
}

// Setup creates metrics and tracing for a service and installs them as the
// OpenTelemetry globals (the telemetry helpers use the global tracer). The
// standard OpenTelemetry environment variables apply (TraceExportFromEnv,
// NewResource).
func Setup(ctx context.Context, service, version string) (*Telemetry, error) {
	export, err := TraceExportFromEnv()
	if err != nil {
		return nil, err
	}

	res, err := NewResource(ctx, service, version)
	if err != nil {
		return nil, err
	}

	metrics, err := NewMetrics(res)
	if err != nil {
		return nil, err
	}

	tracer, err := NewTracerProvider(ctx, res, export)
	if err != nil {
		return nil, err
	}

	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

	otel.SetTracerProvider(tracer)
	otel.SetMeterProvider(metrics.Provider)
	otel.SetTextMapPropagator(prop)

	return &Telemetry{Metrics: metrics, Tracer: tracer, Propagator: prop, Export: export}, nil
}

// NewResource describes the process: service.name is service (SERVICE_NAME)
// unless OTEL_SERVICE_NAME, or service.name in OTEL_RESOURCE_ATTRIBUTES,
// says otherwise; OTEL_RESOURCE_ATTRIBUTES adds its key=value pairs.
func NewResource(ctx context.Context, service, version string) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), // later detectors win
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}

	return res, nil
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
