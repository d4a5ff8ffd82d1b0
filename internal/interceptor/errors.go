package interceptor

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/errors"
)

// Errors translates whatever the inner chain returns to a gRPC status, once:
// domain errors keep their code and message; anything else becomes a generic
// Internal error whose cause is logged here and never sent.
func Errors(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, translate(ctx, logger, info.FullMethod, err)
		}

		return resp, nil
	}
}

// StreamErrors is Errors for streams.
func StreamErrors(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return translate(ss.Context(), logger, info.FullMethod, err)
		}

		return nil
	}
}

// translate maps err to a status and logs the cause of internal errors.
// Status errors made on purpose pass through unlogged (the observer logs
// their code), and internal errors without a cause were logged where they
// arose (a recovered panic). A database that cannot be reached is
// Unavailable wherever its error comes from (a query outside the
// repository plumbing too): the client may retry, and sees 503, not 500.
func translate(ctx context.Context, logger *slog.Logger, method string, err error) error {
	var de *errors.DomainError
	if !stderrors.As(err, &de) {
		if _, isStatus := status.FromError(err); isStatus {
			return err
		}

		if database.Unreachable(err) {
			logger.WarnContext(ctx, "database unavailable", "method", method, "error", err)

			return errors.ToGRPC(errors.Unavailable("database unavailable", errors.WithCause(err)))
		}
	}

	if d := errors.ToDomain(err); d.Type == errors.TypeInternal && d.Unwrap() != nil {
		logger.ErrorContext(ctx, "internal error", "method", method, "error", err)
	}

	return errors.ToGRPC(err)
}

// Recovery turns a handler panic into an Internal error and logs the stack.
func Recovery(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ctx, logger, info.FullMethod, p)
			}
		}()

		return handler(ctx, req)
	}
}

// StreamRecovery is Recovery for streams.
func StreamRecovery(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ss.Context(), logger, info.FullMethod, p)
			}
		}()

		return handler(srv, ss)
	}
}

func recovered(ctx context.Context, logger *slog.Logger, method string, p any) error {
	logger.ErrorContext(ctx, "panic in handler", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))

	// The panic is logged here already; the cause stays out of the chain so
	// Errors does not log it a second time.
	return errors.New(errors.TypeInternal, "internal error")
}
