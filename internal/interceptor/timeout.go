package interceptor

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// Timeout caps every unary call at d (the client's own deadline still
// applies when it is shorter). d <= 0 disables the cap.
func Timeout(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d <= 0 {
			return handler(ctx, req)
		}

		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()

		return handler(ctx, req)
	}
}
