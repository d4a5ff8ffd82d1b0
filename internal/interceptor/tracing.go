package interceptor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		ctx = prop.Extract(ctx, metadataCarrier(md))
	}

	service, method := splitMethod(fullMethod)

	return tracer.Start(ctx, service+"/"+method,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
		))
}

func endSpan(span trace.Span, err error) {
	code := status.Code(err)
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))

	switch code {
	case codes.Unknown, codes.Internal, codes.DataLoss, codes.Unimplemented, codes.Unavailable, codes.DeadlineExceeded:
		span.SetStatus(otelcodes.Error, code.String())
	default:
	}
}

// metadataCarrier adapts gRPC metadata to a propagation carrier.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}

	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}

	return keys
}

// ClientTracing propagates the caller's span to the callee through outgoing
// metadata. The in-process channel hides context values from the server
// side (as a network hop would), so the trace must travel as metadata.
func ClientTracing(prop propagation.TextMapPropagator) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(injectTrace(ctx, prop), method, req, reply, cc, opts...)
	}
}

func injectTrace(ctx context.Context, prop propagation.TextMapPropagator) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}

	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	prop.Inject(ctx, metadataCarrier(md))

	return metadata.NewOutgoingContext(ctx, md)
}
