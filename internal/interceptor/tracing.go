package interceptor

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/telemetry"
)

// Tracing starts a server span per call, continuing the trace the caller
// propagated in metadata (W3C traceparent); over the in-process channel the
// gateway's HTTP span is the parent, so one trace spans REST → gRPC →
// repository.
func Tracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) grpc.UnaryServerInterceptor {
	tracer := tp.Tracer(telemetry.InstrumentationName)

	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, span := startSpan(ctx, tracer, prop, info.FullMethod)
		defer span.End()

		resp, err := handler(ctx, req)
		endSpan(span, err)

		return resp, err
	}
}

// StreamTracing is Tracing for streams.
func StreamTracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) grpc.StreamServerInterceptor {
	tracer := tp.Tracer(telemetry.InstrumentationName)

	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, span := startSpan(ss.Context(), tracer, prop, info.FullMethod)
		defer span.End()

		err := handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
		endSpan(span, err)

		return err
	}
}

func startSpan(ctx context.Context, tracer trace.Tracer, prop propagation.TextMapPropagator, fullMethod string) (context.Context, trace.Span) {
	ctx = prop.Extract(ctx, incomingCarrier{ctx})
	service, method := splitMethod(fullMethod)

	ctx, span := tracer.Start(ctx, service+"/"+method, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		)
	}

	return ctx, span
}

func endSpan(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}

	code := status.Code(err)
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))

	switch code {
	case codes.Unknown, codes.Internal, codes.DataLoss, codes.Unimplemented, codes.Unavailable, codes.DeadlineExceeded:
		span.SetStatus(otelcodes.Error, code.String())
	default:
	}
}

// incomingCarrier reads a call's incoming metadata without copying it.
type incomingCarrier struct {
	ctx context.Context
}

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) > 0 {
		return v[0]
	}

	return ""
}

func (c incomingCarrier) Set(string, string) {}

func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	keys := make([]string, 0, len(md))

	for k := range md {
		keys = append(keys, k)
	}

	return keys
}

// ClientStats reports each call through a connection that has no stats
// handlers of its own, such as the in-process channel, to h, as gRPC does
// for a network connection. With otelgrpc's client handler every call gets
// a client span, propagated to the callee in outgoing metadata (the
// in-process channel hides context values from the server side, as a
// network hop would, so the trace must travel as metadata), and is
// measured in rpc.client.call.duration.
func ClientStats(h stats.Handler) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx = h.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: method})
		begin := time.Now()
		h.HandleRPC(ctx, &stats.Begin{Client: true, BeginTime: begin})

		err := invoker(ctx, method, req, reply, cc, opts...)
		h.HandleRPC(ctx, &stats.End{Client: true, BeginTime: begin, EndTime: time.Now(), Error: err})

		return err
	}
}
