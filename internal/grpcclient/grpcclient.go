// Package grpcclient dials the gRPC services of a module that runs in
// another process (REMOTE_MODULES), so that the module calling it keeps
// the same generated client it uses in process. Every call carries the
// caller's identity (its access token), request ID and trace context, gets
// a deadline when the caller set none, and is retried with backoff while
// the other side answers Unavailable (a rolling restart, a moment without
// endpoints).
package grpcclient

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/interceptor"
	"github.com/modulith/modulith/internal/reqmeta"
)

// Config is how calls to one remote module behave.
type Config struct {
	// Timeout bounds a call whose context has no earlier deadline.
	Timeout time.Duration
	// Retries is how many times a call answered Unavailable is tried
	// again (0–4; gRPC allows five attempts in all).
	Retries int
	// Propagator injects the trace context; nil sends none.
	Propagator propagation.TextMapPropagator
}

// Dial returns a client connection to addr (host:port). It connects
// lazily, on the first call, and reconnects by itself; Close it at
// shutdown. Traffic is plaintext: run it inside a trusted network, or
// behind a mesh that adds mTLS.
func Dial(addr string, cfg Config) (*grpc.ClientConn, error) {
	sc, err := serviceConfig(cfg.Retries)
	if err != nil {
		return nil, err
	}

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithChainUnaryInterceptor(unary(cfg)),
		grpc.WithChainStreamInterceptor(stream(cfg)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}

	return conn, nil
}

// serviceConfig retries every method on UNAVAILABLE, with exponential
// backoff from 100 ms up to 2 s. gRPC retries a call whose answer came
// before any response header: a server that was unreachable, draining or
// overloaded, or a handler that itself answered Unavailable. Handlers must
// therefore answer Unavailable only when they changed nothing (the
// platform's errors.Unavailable is for exactly that: "try again").
func serviceConfig(retries int) (string, error) {
	if retries < 0 || retries > 4 {
		return "", fmt.Errorf("retries: want 0–4, got %d", retries)
	}

	type retryPolicy struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}

	type methodConfig struct {
		Name        []struct{}   `json:"name"`
		RetryPolicy *retryPolicy `json:"retryPolicy,omitempty"`
	}

	mc := methodConfig{Name: []struct{}{{}}} // every method
	if retries > 0 {
		mc.RetryPolicy = &retryPolicy{
			MaxAttempts: retries + 1, InitialBackoff: "0.1s", MaxBackoff: "2s", BackoffMultiplier: 2,
			RetryableStatusCodes: []string{"UNAVAILABLE"},
		}
	}

	b, err := json.Marshal(map[string]any{"methodConfig": []methodConfig{mc}})
	if err != nil {
		return "", fmt.Errorf("service config: %w", err)
	}

	return string(b), nil
}

// withMetadata returns ctx with the caller's token, request ID and trace
// context in the outgoing metadata, unless the caller set them.
func withMetadata(ctx context.Context, cfg Config) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)

	var pairs []string

	if token, ok := authn.TokenFromContext(ctx); ok && len(md.Get("authorization")) == 0 {
		pairs = append(pairs, "authorization", "Bearer "+token)
	}

	if id := reqmeta.RequestID(ctx); id != "" && len(md.Get("x-request-id")) == 0 {
		pairs = append(pairs, "x-request-id", id)
	}

	if len(pairs) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, pairs...)
	}

	if cfg.Propagator != nil {
		ctx = interceptor.InjectTrace(ctx, cfg.Propagator)
	}

	return ctx
}

// unary bounds a call by the configured timeout, or the caller's deadline
// when that is earlier.
func unary(cfg Config) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if cfg.Timeout > 0 {
			// Keeps the caller's deadline when it is earlier. A request
			// being handled always has one (REQUEST_TIMEOUT), usually later.
			var cancel context.CancelFunc

			ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
			defer cancel()
		}

		return invoker(withMetadata(ctx, cfg), method, req, reply, cc, opts...)
	}
}

// stream sets the metadata only: a stream lives as long as its caller
// wants, so it gets no default deadline.
func stream(cfg Config) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(withMetadata(ctx, cfg), desc, cc, method, opts...)
	}
}
