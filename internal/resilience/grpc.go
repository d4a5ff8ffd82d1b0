package resilience

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/errors"
)

// GRPCFailure reports whether a call's error is the remote side's fault: it
// was unreachable or did not answer in time. Every other status is an
// answer (a refusal, a validation error, not found) and says the peer
// works.
func GRPCFailure(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	default:
		return false
	}
}

// UnaryClientInterceptor runs each call through b: an open breaker answers
// Unavailable at once. It sits in front of gRPC's own retries (the
// connection's service config), so a call counts once however many
// attempts it took.
func (b *Breaker) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
	) error {
		return b.status(b.Do(ctx, func(ctx context.Context) error {
			return invoker(ctx, method, req, reply, cc, opts...)
		}))
	}
}

// StreamClientInterceptor runs the opening of each stream through b; what
// happens on an open stream is the stream's business.
func (b *Breaker) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption,
	) (grpc.ClientStream, error) {
		var cs grpc.ClientStream

		err := b.Do(ctx, func(ctx context.Context) error {
			var err error

			cs, err = streamer(ctx, desc, cc, method, opts...)

			return err
		})

		return cs, b.status(err)
	}
}

// status turns the breaker's own refusal into the gRPC status the
// platform's error table gives it; the call's errors pass unchanged.
func (b *Breaker) status(err error) error {
	if _, ok := status.FromError(err); ok || err == nil {
		return err
	}

	return errors.ToGRPC(err)
}
