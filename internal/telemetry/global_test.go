package telemetry_test

import (
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modulith/modulith/internal/telemetry"
)

// TestGlobalTracerProviderFollowsReplacement: a tracer taken before the
// global provider is replaced starts its spans on the replacement.
func TestGlobalTracerProviderFollowsReplacement(t *testing.T) {
	prev := otel.GetTracerProvider()

	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	tracer := telemetry.GlobalTracerProvider().Tracer("test")

	for _, name := range []string{"first", "second"} {
		rec := tracetest.NewSpanRecorder()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))

		_, span := tracer.Start(t.Context(), name)
		span.End()

		if ended := rec.Ended(); len(ended) != 1 || ended[0].Name() != name {
			t.Errorf("provider installed for %q recorded %d spans, want span %q", name, len(ended), name)
		}
	}
}
