package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/internal/middleware"
)

func newTracing(t *testing.T) (func(http.Handler) http.Handler, *tracetest.SpanRecorder) {
	t.Helper()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })

	return middleware.Tracing(tp, propagation.TraceContext{}), spans
}

func TestTracingSpans(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("DELETE /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r.Context(), "/v1/items/{item_id}")
		w.WriteHeader(http.StatusForbidden)
	})
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})

	tests := []struct {
		method, path string
		wantName     string
		wantRoute    string
		wantStatus   int
		wantCode     codes.Code
	}{
		{http.MethodGet, "/v1/items/1", "GET /v1/items/{id}", "/v1/items/{id}", 200, codes.Unset},
		{http.MethodDelete, "/v1/items/1", "DELETE /v1/items/{item_id}", "/v1/items/{item_id}", 403, codes.Unset},
		{http.MethodPost, "/v1/items", "POST /v1/items", "/v1/items", 502, codes.Error},
		{http.MethodGet, "/v1/nope", "GET unmatched", "unmatched", 404, codes.Unset},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			tracing, spans := newTracing(t)

			tracing(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, nil))

			ended := spans.Ended()
			if len(ended) != 1 {
				t.Fatalf("ended %d spans, want 1", len(ended))
			}

			span := ended[0]
			if span.Name() != tt.wantName || span.SpanKind() != trace.SpanKindServer {
				t.Errorf("span = %q (%v), want %q (server)", span.Name(), span.SpanKind(), tt.wantName)
			}

			if span.Status().Code != tt.wantCode {
				t.Errorf("span status = %v, want %v", span.Status().Code, tt.wantCode)
			}

			if span.Parent().IsValid() {
				t.Errorf("span has parent %v, want a root span", span.Parent())
			}

			want := map[attribute.Key]attribute.Value{
				"http.request.method":       attribute.StringValue(tt.method),
				"http.route":                attribute.StringValue(tt.wantRoute),
				"http.response.status_code": attribute.IntValue(tt.wantStatus),
			}

			got := make(map[attribute.Key]attribute.Value)
			for _, kv := range span.Attributes() {
				got[kv.Key] = kv.Value
			}

			if diff := cmp.Diff(want, got, cmp.AllowUnexported(attribute.Value{})); diff != "" {
				t.Errorf("span attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTracingContinuesIncomingTrace(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)

	tracing, spans := newTracing(t)

	var inner trace.SpanContext

	h := tracing(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inner = trace.SpanContextFromContext(r.Context())
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.Header.Set("Traceparent", "00-"+traceID+"-"+spanID+"-01")

	h.ServeHTTP(httptest.NewRecorder(), r)

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("ended %d spans, want 1", len(ended))
	}

	parent, span := ended[0].Parent(), ended[0].SpanContext()
	if parent.TraceID().String() != traceID || parent.SpanID().String() != spanID || !parent.IsRemote() {
		t.Errorf("parent = %s/%s (remote %v), want %s/%s (remote)",
			parent.TraceID(), parent.SpanID(), parent.IsRemote(), traceID, spanID)
	}

	if span.TraceID().String() != traceID {
		t.Errorf("span trace ID = %s, want %s", span.TraceID(), traceID)
	}

	if !inner.Equal(span) {
		t.Errorf("handler saw span %v, want the server span %v", inner, span)
	}
}

func TestTracingPanicIsError(t *testing.T) {
	tracing, spans := newTracing(t)
	h := tracing(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))

	if p := servePanicking(h, httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)); p == nil {
		t.Fatal("Tracing swallowed the panic; recovering is Recovery's job")
	}

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("ended %d spans, want 1", len(ended))
	}

	if ended[0].Status().Code != codes.Error {
		t.Errorf("span status = %v, want Error", ended[0].Status().Code)
	}
}
