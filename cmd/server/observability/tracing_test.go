package observability_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/cmd/server/observability"
)

// TestNewTracerProviderSampling: with an exporter root spans are sampled at
// the ratio; without one nothing is recorded, but spans still get valid IDs
// (they stamp log lines).
func TestNewTracerProviderSampling(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		ratio    float64
		want     bool
	}{
		{name: "exporter, all", endpoint: "127.0.0.1:4317", ratio: 1, want: true},
		{name: "exporter, none", endpoint: "127.0.0.1:4317", ratio: 0, want: false},
		{name: "no exporter", ratio: 1, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := observability.TracingConfig{Endpoint: tt.endpoint, Insecure: true, SampleRatio: tt.ratio}

			tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), cfg)
			if err != nil {
				t.Fatalf("NewTracerProvider() = %v", err)
			}

			t.Cleanup(func() {
				// Nothing listens at the endpoint: don't wait to flush.
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()

				_ = tp.Shutdown(ctx)
			})

			_, span := tp.Tracer("test").Start(t.Context(), "root")
			span.End()

			if got := span.SpanContext(); !got.IsValid() || got.IsSampled() != tt.want {
				t.Errorf("root span sampled = %t (valid %t), want %t", got.IsSampled(), got.IsValid(), tt.want)
			}
		})
	}
}

func TestNewTracerProviderFollowsParent(t *testing.T) {
	tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), observability.TracingConfig{SampleRatio: 0})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true,
	})

	_, span := tp.Tracer("test").Start(trace.ContextWithRemoteSpanContext(t.Context(), parent), "child")
	span.End()

	if !span.SpanContext().IsSampled() {
		t.Error("child of a sampled parent was not sampled at ratio 0")
	}
}

func TestNewTracerProviderWithEndpoint(t *testing.T) {
	// The exporter connects lazily: building it needs no collector.
	tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(),
		observability.TracingConfig{Endpoint: "127.0.0.1:1", Insecure: true, SampleRatio: 1})
	if err != nil {
		t.Fatalf("NewTracerProvider(endpoint) = %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()

	_ = tp.Shutdown(ctx) // nothing to flush; the collector's absence is not the point
}

func TestSetupInstallsGlobals(t *testing.T) {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()

	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})

	tel, err := observability.Setup(t.Context(), "svc", "1.2.3", observability.TracingConfig{SampleRatio: 1})
	if err != nil {
		t.Fatalf("Setup() = %v", err)
	}

	if otel.GetTracerProvider() != tel.Tracer || otel.GetMeterProvider() != tel.Metrics.Provider {
		t.Error("Setup did not install its providers as the globals")
	}

	carrier := propagation.MapCarrier{}
	ctx, span := tel.Tracer.Tracer("test").Start(t.Context(), "op")
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	span.End()

	if carrier.Get("traceparent") == "" {
		t.Errorf("global propagator injected %v, want a traceparent", carrier)
	}

	checkSeries(t, scrape(t, tel.Metrics), `^target_info\{.*service_version="1.2.3".*\} 1$`)

	if err := tel.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}

	if err := tel.Shutdown(t.Context()); err == nil {
		t.Error("second Shutdown() = nil, want an error")
	}
}
