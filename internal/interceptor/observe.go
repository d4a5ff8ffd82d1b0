package interceptor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/modulith/modulith/internal/inproc"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Observer records grpc_server_handled_total and
// grpc_server_handling_seconds for every call and logs it.
type Observer struct {
	logger   *slog.Logger
	handled  metric.Int64Counter
	duration metric.Float64Histogram
	// attrs caches the attribute set of each (method, type, code): sets are
	// immutable, building one sorts and allocates, and there are few (gRPC
	// runs no interceptor for unknown methods).
	attrs sync.Map // attrKey → metric.MeasurementOption
}

type attrKey struct {
	method, kind string
	code         codes.Code
}

// NewObserver creates the instruments on meter.
func NewObserver(logger *slog.Logger, meter metric.Meter) (*Observer, error) {
	handled, err := meter.Int64Counter("grpc.server.handled",
		metric.WithDescription("RPCs completed on the server, by status code."))
	if err != nil {
		return nil, fmt.Errorf("create grpc.server.handled counter: %w", err)
	}

	duration, err := meter.Float64Histogram("grpc.server.handling",
		metric.WithUnit("s"),
		metric.WithDescription("Time to handle an RPC on the server."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	if err != nil {
		return nil, fmt.Errorf("create grpc.server.handling histogram: %w", err)
	}

	return &Observer{logger: logger, handled: handled, duration: duration}, nil
}

// Unary observes unary calls.
func (o *Observer) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		o.record(ctx, info.FullMethod, "unary", start, err)

		return resp, err
	}
}

// Stream observes streaming calls.
func (o *Observer) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		o.record(ss.Context(), info.FullMethod, streamType(info), start, err)

		return err
	}
}

func streamType(info *grpc.StreamServerInfo) string {
	switch {
	case info.IsClientStream && info.IsServerStream:
		return "bidi_stream"
	case info.IsClientStream:
		return "client_stream"
	default:
		return "server_stream"
	}
}

func (o *Observer) record(ctx context.Context, fullMethod, kind string, start time.Time, err error) {
	elapsed := time.Since(start)
	code := status.Code(err)
	attrs := o.attributes(fullMethod, kind, code)
	o.handled.Add(ctx, 1, attrs)
	o.duration.Record(ctx, elapsed.Seconds(), attrs)

	level := logLevel(code)
	if level < slog.LevelError && inProcess(ctx) {
		// REST calls are logged by the HTTP access log already, client
		// errors included (at WARN, with their status); the server's own
		// errors keep their line, which has the gRPC code.
		level = slog.LevelDebug
	}

	if !o.logger.Enabled(ctx, level) {
		return
	}

	o.logger.LogAttrs(ctx, level, "grpc request",
		slog.String("method", fullMethod),
		slog.String("code", code.String()),
		slog.Int64("duration_us", elapsed.Microseconds()),
		slog.Bool("in_process", inProcess(ctx)))
}

func (o *Observer) attributes(fullMethod, kind string, code codes.Code) metric.MeasurementOption {
	key := attrKey{method: fullMethod, kind: kind, code: code}
	if cached, ok := o.attrs.Load(key); ok {
		if opt, ok := cached.(metric.MeasurementOption); ok {
			return opt
		}
	}

	service, method := splitMethod(fullMethod)
	opt := metric.WithAttributeSet(attribute.NewSet(
		attribute.String("grpc_type", kind),
		attribute.String("grpc_service", service),
		attribute.String("grpc_method", method),
		attribute.String("grpc_code", code.String()),
	))
	o.attrs.Store(key, opt)

	return opt
}

func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[:i], s[i+1:]
	}

	return "unknown", s
}

func inProcess(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)

	return ok && p.Addr != nil && p.Addr.Network() == inproc.Network
}

// logLevel logs server faults as errors and client mistakes as warnings.
func logLevel(code codes.Code) slog.Level {
	switch code {
	case codes.OK:
		return slog.LevelInfo
	case codes.Unknown, codes.Internal, codes.DataLoss, codes.Unimplemented, codes.Unavailable, codes.DeadlineExceeded:
		return slog.LevelError
	default:
		return slog.LevelWarn
	}
}
