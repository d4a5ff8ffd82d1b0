package interceptor_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
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

// outgoing runs ClientStats with otelgrpc's client handler on tp with ctx
// and returns the outgoing metadata the invoker received.
func outgoing(ctx context.Context, t *testing.T, tp trace.TracerProvider, invokeErr error) metadata.MD {
	t.Helper()

	var md metadata.MD

	h := otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{}),
		otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider()))

	err := interceptor.ClientStats(h)(ctx, getProfile, "req", nil, nil,
		func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			md, _ = metadata.FromOutgoingContext(ctx)

			return invokeErr
		})
	if !errors.Is(err, invokeErr) {
		t.Fatalf("ClientStats() = %v, want %v", err, invokeErr)
	}

	return md
}

// TestClientStatsStartsClientSpan: the call gets a client span, child of
// the caller's, sent as the traceparent; the caller's metadata is kept and
// not modified.
func TestClientStatsStartsClientSpan(t *testing.T) {
	tp, rec := newTracer(t)

	ctx, span := tp.Tracer("test").Start(t.Context(), "gateway")

	sent := metadata.Pairs("authorization", "Bearer x")
	md := outgoing(metadata.NewOutgoingContext(ctx, sent), t, tp, nil)

	span.End()

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("ended %d spans, want the client span and the caller's", len(spans))
	}

	client := spans[0]
	if client.Name() != "auth.v1.AuthService/GetProfile" || client.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v, want auth.v1.AuthService/GetProfile CLIENT", client.Name(), client.SpanKind())
	}

	if client.Parent().SpanID() != span.SpanContext().SpanID() {
		t.Errorf("client span parent = %v, want the caller's span %v", client.Parent().SpanID(), span.SpanContext().SpanID())
	}

	want := "00-" + client.SpanContext().TraceID().String() + "-" + client.SpanContext().SpanID().String() + "-01"
	if got := first(md, "traceparent"); got != want {
		t.Errorf("traceparent = %q, want the client span %q", got, want)
	}

	if first(md, "authorization") != "Bearer x" {
		t.Errorf("outgoing metadata %v lost the caller's authorization", md)
	}

	if len(sent.Get("traceparent")) != 0 {
		t.Errorf("ClientStats modified the caller's metadata: %v", sent)
	}
}

func TestClientStatsRecordsFailure(t *testing.T) {
	tp, rec := newTracer(t)

	ctx, span := tp.Tracer("test").Start(t.Context(), "gateway")
	_ = outgoing(ctx, t, tp, status.Error(codes.NotFound, "no such user"))

	span.End()

	if spans := rec.Ended(); len(spans) != 2 || spans[0].Status().Code != otelcodes.Error {
		t.Errorf("ended %d spans (first %v), want a failed client span", len(spans), spans)
	}
}

// TestTracingEndToEnd links ClientStats to Tracing through metadata, as
// the in-process channel does: the server span is the client span's child.
func TestTracingEndToEnd(t *testing.T) {
	tp, rec := newTracer(t)

	ctx, caller := tp.Tracer("test").Start(t.Context(), "gateway")
	md := outgoing(ctx, t, tp, nil)

	caller.End()

	serverCtx := metadata.NewIncomingContext(t.Context(), md)
	_, _ = interceptor.Tracing(tp, propagation.TraceContext{})(serverCtx, "req", getProfileInfo, okHandler)

	spans := rec.Ended() // client, caller, server
	if len(spans) != 3 {
		t.Fatalf("ended %d spans, want 3", len(spans))
	}

	if got := spans[2].Parent().SpanID(); got != spans[0].SpanContext().SpanID() {
		t.Errorf("server span parent = %v, want the client span %v", got, spans[0].SpanContext().SpanID())
	}
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}

	return ""
}
