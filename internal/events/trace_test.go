package events_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

// installTracing makes a recording tracer provider and the W3C propagator
// global until the test ends. Tests that call it must not be parallel.
func installTracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()

	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)

		_ = tp.Shutdown(context.Background())
	})

	return tp, rec
}

// TestHandlerContinuesPublisherTrace is not parallel: it replaces the
// global tracer provider and propagator.
func TestHandlerContinuesPublisherTrace(t *testing.T) {
	tp, rec := installTracing(t)

	db := bustest.NewDB(t)
	bus := bustest.NewBus(t, db.Pool, bustest.FastConfig())
	contexts := make(chan trace.SpanContext, 1)

	bustest.Subscribe(t, bus, "mailer", "order.placed", func(ctx context.Context, _ events.Raw) error {
		contexts <- trace.SpanContextFromContext(ctx)

		return nil
	})
	bustest.Start(t, bus)

	ctx, publishing := tp.Tracer("test").Start(t.Context(), "place order")
	e := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed"}

	if err := bustest.PublishRaw(ctx, db.Pool, bus, e); err != nil {
		t.Fatal(err)
	}

	publishing.End()

	want := publishing.SpanContext()
	if got := bustest.Receive(t, contexts); got.TraceID() != want.TraceID() || got.SpanID() == want.SpanID() {
		t.Errorf("handler's span = trace %s span %s, want a new span in the publisher's trace %s",
			got.TraceID(), got.SpanID(), want.TraceID())
	}

	bustest.Eventually(t, "the handler's span ends", func() bool { return handlerSpan(rec, e.ID) != nil })

	if s := handlerSpan(rec, e.ID); s.Parent().SpanID() != want.SpanID() || s.Name() != "event order.placed → mailer" {
		t.Errorf("handler span %q has parent %s, want %q child of the publisher's span %s",
			s.Name(), s.Parent().SpanID(), "event order.placed → mailer", want.SpanID())
	}
}

// handlerSpan returns the ended span of the handling of event ID.
func handlerSpan(rec *tracetest.SpanRecorder, id string) sdktrace.ReadOnlySpan {
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			if a.Key == "event.id" && a.Value.AsString() == id {
				return s
			}
		}
	}

	return nil
}
