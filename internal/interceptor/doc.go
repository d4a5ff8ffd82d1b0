// Package interceptor holds the gRPC server interceptors every call runs
// through, over the network and in process alike (the REST gateway and
// module-to-module calls use an in-process channel with the same chain):
//
//	RequestID → Tracing → Observe (metrics, log) → Errors → Recovery →
//	Timeout → authn → route policies (rate limits, route roles) →
//	Validation → handler
//
// Errors sits outside Recovery, authn and Validation so that everything they
// return, domain errors included, is translated to a status exactly once.
//
// On the client side of the in-process channel, ClientStats gives each call
// the client span and metrics that otelgrpc's stats handler gives a call
// over the network.
package interceptor

import (
	"context"

	"google.golang.org/grpc"
)

// ChainUnary composes interceptors into one, the first outermost; the
// in-process channel accepts a single interceptor.
func ChainUnary(ints ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return chainUnaryAt(ints, 0, info, handler)(ctx, req)
	}
}

func chainUnaryAt(ints []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(ints) {
		return final
	}

	return func(ctx context.Context, req any) (any, error) {
		return ints[i](ctx, req, info, chainUnaryAt(ints, i+1, info, final))
	}
}

// wrappedStream replaces a server stream's context.
type wrappedStream struct {
	grpc.ServerStream

	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
