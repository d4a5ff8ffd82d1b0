package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// GlobalTracerProvider returns a tracer provider whose tracers start each
// span on the global provider of that moment, as the helpers of this
// package do. Instrumentation built before the process installs its
// provider (the database pool) uses it: a tracer taken from
// otel.GetTracerProvider() is bound to the first provider ever installed,
// or to whichever was installed when it was taken.
func GlobalTracerProvider() trace.TracerProvider { return globalProvider{} }

type globalProvider struct{ embedded.TracerProvider }

func (globalProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return globalTracer{name: name, opts: opts}
}

type globalTracer struct {
	embedded.Tracer

	name string
	opts []trace.TracerOption
}

func (t globalTracer) Start(ctx context.Context, spanName string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return otel.GetTracerProvider().Tracer(t.name, t.opts...).Start(ctx, spanName, opts...)
}
