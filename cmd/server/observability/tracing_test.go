package observability_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/internal/otlptest"
)

// otelVars are the variables these tests set; each test starts with all of
// them unset, whatever the environment running the tests holds.
var otelVars = []string{
	"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

// setEnv sets the OTEL_* variables of vars (key, value pairs) and unsets
// the others, for the rest of the test (which cannot run in parallel).
func setEnv(t *testing.T, vars ...string) {
	t.Helper()

	for _, k := range otelVars {
		t.Setenv(k, "")
	}

	for i := 0; i+1 < len(vars); i += 2 {
		t.Setenv(vars[i], vars[i+1])
	}
}

func TestTraceExportFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    observability.TraceExport
		wantErr string // the variable the error names
	}{
		{name: "nothing set"},
		{
			name: "URL endpoint, gRPC by default",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"},
			want: observability.TraceExport{Endpoint: "http://collector:4317", Protocol: "grpc", Sampler: "parentbased_always_on"},
		},
		{
			name: "traces endpoint wins",
			env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://b:4317"},
			want: observability.TraceExport{Endpoint: "https://b:4317", Protocol: "grpc", Sampler: "parentbased_always_on"},
		},
		{
			name: "http/protobuf, traces protocol wins",
			env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318",
				"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf",
				"OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0.25"},
			want: observability.TraceExport{Endpoint: "collector:4318", Protocol: "http/protobuf", Sampler: "parentbased_traceidratio 0.25"},
		},
		{
			name: "SDK disabled",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317", "OTEL_SDK_DISABLED", "true"},
		},
		{name: "SDK disabled not a bool", env: []string{"OTEL_SDK_DISABLED", "yes please"}, wantErr: "OTEL_SDK_DISABLED"},
		{
			name:    "unknown protocol",
			env:     []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
			wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL",
		},
		{name: "unknown sampler", env: []string{"OTEL_TRACES_SAMPLER", "sometimes"}, wantErr: "OTEL_TRACES_SAMPLER"},
		{
			name:    "ratio above 1",
			env:     []string{"OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "1.5"},
			wantErr: "OTEL_TRACES_SAMPLER_ARG",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env...)

			got, err := observability.TraceExportFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+":") {
					t.Errorf("TraceExportFromEnv() = %+v, %v; want an error naming %s", got, err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatalf("TraceExportFromEnv() = %v", err)
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TraceExportFromEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTraceExportTarget(t *testing.T) {
	tests := []struct{ endpoint, want string }{
		{"https://user:secret@collector:4318/v1/traces?token=x", "https://collector:4318/v1/traces"},
		{"collector:4317", "collector:4317"},
		{"127.0.0.1:4317", "127.0.0.1:4317"},
	}
	for _, tt := range tests {
		if got := (observability.TraceExport{Endpoint: tt.endpoint}).Target(); got != tt.want {
			t.Errorf("Target(%q) = %q, want %q", tt.endpoint, got, tt.want)
		}
	}
}

// TestSetupExports sends a span through Setup to a collector over each
// protocol and endpoint form, with the service name and resource
// attributes of the environment.
func TestSetupExports(t *testing.T) {
	collector := otlptest.Start(t)

	tests := []struct {
		name string
		env  []string
	}{
		{name: "gRPC, http:// URL", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + collector.GRPCAddr}},
		{name: "gRPC, host:port", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.GRPCAddr, "OTEL_EXPORTER_OTLP_INSECURE", "true"}},
		{
			name: "gRPC, traces endpoint",
			env:  []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://" + collector.GRPCAddr, "OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a"},
		},
		{
			name: "http/protobuf, base URL",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.HTTPURL, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
		},
		{
			name: "http/protobuf, traces URL",
			env: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.HTTPURL + "/v1/traces",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, append(tt.env, "OTEL_SERVICE_NAME", "otel-name", "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")...)
			keepGlobals(t)

			tel, err := observability.Setup(t.Context(), "svc", "1.2.3")
			if err != nil {
				t.Fatalf("Setup() = %v", err)
			}

			checkSeries(t, scrape(t, tel.Metrics), `^target_info\{.*deployment_environment_name="test".*service_name="otel-name".*\} 1$`)

			_, span := otel.Tracer("test").Start(t.Context(), tt.name)
			span.End()

			if err := tel.Shutdown(t.Context()); err != nil { // flushes
				t.Fatalf("Shutdown() = %v", err)
			}

			got := spanNamed(collector.Spans(), tt.name)
			if got == nil {
				t.Fatalf("collector received no span %q", tt.name)
			}

			if got.Service != "otel-name" {
				t.Errorf("span service.name = %q, want OTEL_SERVICE_NAME otel-name", got.Service)
			}
		})
	}
}

func spanNamed(spans []otlptest.Span, name string) *otlptest.Span {
	for i := range spans {
		if spans[i].GetName() == name {
			return &spans[i]
		}
	}

	return nil
}

// keepGlobals restores the OpenTelemetry globals Setup replaces.
func keepGlobals(t *testing.T) {
	t.Helper()

	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()

	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})
}

// TestNewTracerProviderSampling: with an exporter root spans are sampled as
// OTEL_TRACES_SAMPLER says (all by default); without one nothing is
// recorded, but spans still get valid IDs (they stamp log lines).
func TestNewTracerProviderSampling(t *testing.T) {
	export := observability.TraceExport{Endpoint: "127.0.0.1:1", Protocol: observability.ProtocolGRPC}

	tests := []struct {
		name   string
		export observability.TraceExport
		env    []string
		want   bool
	}{
		{name: "exporter, default sampler", export: export, want: true},
		{name: "exporter, always_off", export: export, env: []string{"OTEL_TRACES_SAMPLER", "always_off"}, want: false},
		{
			name: "exporter, ratio 0", export: export,
			env: []string{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "0"}, want: false,
		},
		{name: "no exporter", env: []string{"OTEL_TRACES_SAMPLER", "always_on"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, append(tt.env, "OTEL_EXPORTER_OTLP_INSECURE", "true")...)

			tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), tt.export)
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
	tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), observability.TraceExport{})
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
		t.Error("child of a sampled parent was not sampled without an exporter")
	}
}

func TestSetupInstallsGlobals(t *testing.T) {
	setEnv(t)
	keepGlobals(t)

	tel, err := observability.Setup(t.Context(), "svc", "1.2.3")
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

	checkSeries(t, scrape(t, tel.Metrics), `^target_info\{.*service_name="svc".*service_version="1.2.3".*\} 1$`)

	if err := tel.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}

	if err := tel.Shutdown(t.Context()); err == nil {
		t.Error("second Shutdown() = nil, want an error")
	}
}

func TestSetupRefusesBadResourceAttributes(t *testing.T) {
	setEnv(t, "OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign")
	keepGlobals(t)

	if _, err := observability.Setup(t.Context(), "svc", "1.2.3"); err == nil || !strings.HasPrefix(err.Error(), "OTEL_RESOURCE_ATTRIBUTES:") {
		t.Errorf("Setup(OTEL_RESOURCE_ATTRIBUTES=no-equals-sign) = %v, want an error naming the variable", err)
	}
}

// TestNewTracerProviderWithoutExportGivesIDs: without an exporter spans
// record nothing but have IDs: a root starts a trace, unsampled; a child
// continues its parent's trace with a span ID of its own; WithNewRoot
// starts another trace.
func TestNewTracerProviderWithoutExportGivesIDs(t *testing.T) {
	t.Parallel()

	tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), observability.TraceExport{})
	if err != nil {
		t.Fatal(err)
	}

	ctx, root := tp.Tracer("test").Start(t.Context(), "root")
	rc := root.SpanContext()

	if !rc.IsValid() || rc.IsSampled() || root.IsRecording() {
		t.Fatalf("root span: valid %t, sampled %t, recording %t; want valid, unsampled, not recording",
			rc.IsValid(), rc.IsSampled(), root.IsRecording())
	}

	_, child := tp.Tracer("test").Start(ctx, "child")
	if cc := child.SpanContext(); cc.TraceID() != rc.TraceID() || cc.SpanID() == rc.SpanID() || !cc.SpanID().IsValid() {
		t.Errorf("child %v of root %v: want the root's trace and a span ID of its own", cc, rc)
	}

	_, other := tp.Tracer("test").Start(ctx, "other", trace.WithNewRoot())
	if oc := other.SpanContext(); oc.TraceID() == rc.TraceID() || !oc.IsValid() {
		t.Errorf("WithNewRoot span %v continued the trace %v", oc, rc.TraceID())
	}
}

// TestNewTracerProviderWithoutExportDrawsNewIDs: roots get traces of
// their own.
func TestNewTracerProviderWithoutExportDrawsNewIDs(t *testing.T) {
	t.Parallel()

	tp, err := observability.NewTracerProvider(t.Context(), resource.Empty(), observability.TraceExport{})
	if err != nil {
		t.Fatal(err)
	}

	tracer := tp.Tracer("test")
	seen := make(map[trace.TraceID]bool)

	for range 1000 {
		_, s := tracer.Start(t.Context(), "root")
		if id := s.SpanContext().TraceID(); seen[id] {
			t.Fatalf("trace ID %v drawn twice in 1000 roots", id)
		} else {
			seen[id] = true
		}
	}
}
