package observability

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TracingConfig configures trace export.
type TracingConfig struct {
	// Endpoint of an OTLP/gRPC collector (host:port or URL); "" keeps
	// traces in process (IDs still stamp log lines).
	Endpoint    string
	Insecure    bool
	SampleRatio float64
}

// NewTracerProvider returns a tracer provider that samples root spans at
// the configured ratio (children follow their parent) and exports them over
// OTLP when an endpoint is set. Without an endpoint nothing would read the
// spans, so root spans are not recorded at all; they still carry trace and
// span IDs, which stamp the log lines of each request.
func NewTracerProvider(ctx context.Context, res *resource.Resource, cfg TracingConfig) (*sdktrace.TracerProvider, error) {
	root := sdktrace.TraceIDRatioBased(cfg.SampleRatio)
	if cfg.Endpoint == "" {
		root = sdktrace.NeverSample()
	}

	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(root)),
	}

	if cfg.Endpoint != "" {
		exporterOpts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
		if cfg.Insecure {
			exporterOpts = append(exporterOpts, otlptracegrpc.WithInsecure())
		}

		exporter, err := otlptracegrpc.New(ctx, exporterOpts...)
		if err != nil {
			return nil, fmt.Errorf("create OTLP trace exporter: %w", err)
		}

		opts = append(opts, sdktrace.WithBatcher(exporter))
	}

	return sdktrace.NewTracerProvider(opts...), nil
}
