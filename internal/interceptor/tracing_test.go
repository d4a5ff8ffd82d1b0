package interceptor_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/interceptor"
)

const (
	parentTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpanID  = "00f067aa0ba902b7"
	traceparent   = "00-" + parentTraceID + "-" + parentSpanID + "-01"
)

func newTracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))

	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	return tp, rec
}

func onlySpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("ended %d spans, want 1", len(spans))
	}

	return spans[0]
}

func TestTracingContinuesPropagatedTrace(t *testing.T) {
	tp, rec := newTracer(t)
	ctx := tcp(t.Context(), "traceparent", traceparent)

	var handlerSpan trace.SpanContext

	_, err := interceptor.Tracing(tp, propagation.TraceContext{})(ctx, "req", getProfileInfo,
		func(ctx context.Context, _ any) (any, error) {
			handlerSpan = trace.SpanContextFromContext(ctx)

			return nil, nil
		})
	if err != nil {
		t.Fatalf("Tracing() = %v", err)
	}

	span := onlySpan(t, rec)
	checkServerSpan(t, span)

	if handlerSpan.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("handler context span = %v, want the server span %v", handlerSpan.SpanID(), span.SpanContext().SpanID())
	}

	attrs := map[attribute.Key]string{}
	for _, kv := range span.Attributes() {
		attrs[kv.Key] = kv.Value.String()
	}

	for k, want := range map[attribute.Key]string{
		"rpc.system": "grpc", "rpc.service": "auth.v1.AuthService", "rpc.method": "GetProfile", "rpc.grpc.status_code": "0",
	} {
		if attrs[k] != want {
			t.Errorf("span attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
}

func checkServerSpan(t *testing.T, span sdktrace.ReadOnlySpan) {
	t.Helper()

	if span.Name() != "auth.v1.AuthService/GetProfile" {
		t.Errorf("span name = %q, want auth.v1.AuthService/GetProfile", span.Name())
	}

	if span.SpanKind() != trace.SpanKindServer {
		t.Errorf("span kind = %v, want server", span.SpanKind())
	}

	if got := span.Parent(); got.TraceID().String() != parentTraceID || got.SpanID().String() != parentSpanID || !got.IsRemote() {
		t.Errorf("span parent = %v/%v (remote %t), want %s/%s from traceparent",
			got.TraceID(), got.SpanID(), got.IsRemote(), parentTraceID, parentSpanID)
	}

	if span.SpanContext().TraceID().String() != parentTraceID {
		t.Errorf("span trace = %v, want %s", span.SpanContext().TraceID(), parentTraceID)
	}
}

func TestTracingWithoutPropagatedTraceStartsRoot(t *testing.T) {
	tp, rec := newTracer(t)

	_, _ = interceptor.Tracing(tp, propagation.TraceContext{})(t.Context(), "req", getProfileInfo, okHandler)

	span := onlySpan(t, rec)
	if span.Parent().IsValid() || !span.SpanContext().IsValid() {
		t.Errorf("span parent = %v, want a new root span", span.Parent())
	}
}

func TestTracingStatus(t *testing.T) {
	tests := []struct {
		code codes.Code
		want otelcodes.Code
	}{
		{code: codes.OK, want: otelcodes.Unset},
		{code: codes.NotFound, want: otelcodes.Unset},
		{code: codes.InvalidArgument, want: otelcodes.Unset},
		{code: codes.Unauthenticated, want: otelcodes.Unset},
		{code: codes.PermissionDenied, want: otelcodes.Unset},
		{code: codes.ResourceExhausted, want: otelcodes.Unset},
		{code: codes.Unknown, want: otelcodes.Error},
		{code: codes.Internal, want: otelcodes.Error},
		{code: codes.DataLoss, want: otelcodes.Error},
		{code: codes.Unimplemented, want: otelcodes.Error},
		{code: codes.Unavailable, want: otelcodes.Error},
		{code: codes.DeadlineExceeded, want: otelcodes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			tp, rec := newTracer(t)
			err := status.Error(tt.code, "x")

			_, _ = interceptor.Tracing(tp, propagation.TraceContext{})(t.Context(), "req", getProfileInfo, errHandler(err))

			if got := onlySpan(t, rec).Status().Code; got != tt.want {
				t.Errorf("span status for %v = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestStreamTracing(t *testing.T) {
	tp, rec := newTracer(t)
	ctx := tcp(t.Context(), "traceparent", traceparent)

	var handlerSpan trace.SpanContext

	err := interceptor.StreamTracing(tp, propagation.TraceContext{})(nil, &fakeStream{ctx: ctx},
		&grpc.StreamServerInfo{FullMethod: getProfile}, func(_ any, ss grpc.ServerStream) error {
			handlerSpan = trace.SpanContextFromContext(ss.Context())

			return status.Error(codes.Unavailable, "x")
		})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("StreamTracing() = %v, want the handler's error", err)
	}

	span := onlySpan(t, rec)
	checkServerSpan(t, span)

	if handlerSpan.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("stream context span = %v, want the server span %v", handlerSpan.SpanID(), span.SpanContext().SpanID())
	}

	if span.Status().Code != otelcodes.Error {
		t.Errorf("span status = %v, want error", span.Status())
	}
}

// outgoing runs ClientTracing with ctx and returns the outgoing metadata the
// invoker received.
func outgoing(ctx context.Context, t *testing.T) metadata.MD {
	t.Helper()

	var md metadata.MD

	err := interceptor.ClientTracing(propagation.TraceContext{})(ctx, getProfile, "req", nil, nil,
		func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			md, _ = metadata.FromOutgoingContext(ctx)

			return nil
		})
	if err != nil {
		t.Fatalf("ClientTracing() = %v", err)
	}

	return md
}

func TestClientTracingInjectsValidSpan(t *testing.T) {
	tp, _ := newTracer(t)

	ctx, span := tp.Tracer("test").Start(t.Context(), "gateway")
	defer span.End()

	sent := metadata.Pairs("authorization", "Bearer x")
	md := outgoing(metadata.NewOutgoingContext(ctx, sent), t)

	tp0 := first(md, "traceparent")
	if !strings.Contains(tp0, span.SpanContext().TraceID().String()) || !strings.Contains(tp0, span.SpanContext().SpanID().String()) {
		t.Errorf("traceparent = %q, want trace %v span %v", tp0, span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}

	if first(md, "authorization") != "Bearer x" {
		t.Errorf("outgoing metadata %v lost the caller's authorization", md)
	}

	if len(sent.Get("traceparent")) != 0 {
		t.Errorf("ClientTracing modified the caller's metadata: %v", sent)
	}
}

func TestClientTracingWithoutSpan(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{name: "no span, no metadata", ctx: t.Context()},
		{name: "no span", ctx: metadata.NewOutgoingContext(t.Context(), metadata.Pairs("authorization", "Bearer x"))},
		{name: "invalid span", ctx: trace.ContextWithSpanContext(t.Context(), trace.SpanContext{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if md := outgoing(tt.ctx, t); len(md.Get("traceparent")) != 0 {
				t.Errorf("outgoing metadata = %v, want no traceparent", md)
			}
		})
	}
}

// TestTracingEndToEnd links ClientTracing to Tracing through metadata, as
// the in-process channel does.
func TestTracingEndToEnd(t *testing.T) {
	tp, rec := newTracer(t)

	ctx, client := tp.Tracer("test").Start(t.Context(), "gateway")
	md := outgoing(ctx, t)

	client.End()

	serverCtx := metadata.NewIncomingContext(t.Context(), md)
	_, _ = interceptor.Tracing(tp, propagation.TraceContext{})(serverCtx, "req", getProfileInfo, okHandler)

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("ended %d spans, want 2", len(spans))
	}

	if got := spans[1].Parent().SpanID(); got != client.SpanContext().SpanID() {
		t.Errorf("server span parent = %v, want the client span %v", got, client.SpanContext().SpanID())
	}
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}

	return ""
}
