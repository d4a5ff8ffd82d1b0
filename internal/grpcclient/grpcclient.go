// Package grpcclient dials the gRPC services of a module that runs in
// another process (REMOTE_MODULES), so that the module calling it keeps
// the same generated client it uses in process. Every call carries the
// caller's identity (its access token), request ID and trace context, is a
// client span measured in rpc.client.call.duration, gets a deadline when
// the caller set none, and is retried with backoff while the other side
// answers Unavailable (a rolling restart, a moment without endpoints). A
// circuit breaker per remote module (internal/resilience) answers
// Unavailable at once while the module keeps failing.
package grpcclient

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/resilience"
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
	// Tracer and Meters get the client span and metrics of each call
	// (otelgrpc); nil are the global providers.
	Tracer trace.TracerProvider
	Meters metric.MeterProvider
	// Breaker guards the calls (and the opening of streams): once the
	// module keeps failing, calls answer Unavailable without waiting on
	// it. It sits in front of the retries. Nil: none.
	Breaker *resilience.Breaker
}

// Dial returns a client connection to addr: host:port, or a gRPC dns
// target (dns:///host:port, dns://resolver:53/host:port). The name is
// resolved through DNS and calls are spread round-robin over every address
// it resolves to, so a Kubernetes headless Service balances calls over its
// pods from the client. gRPC resolves again when a connection closes; the
// servers close theirs after a while (grpcserver's maximum connection
// age), so pods added later get calls too. Dial connects lazily, on the
// first call, and reconnects by itself; Close it at shutdown. Traffic is
// plaintext: run it inside a trusted network, or behind a mesh that adds
// mTLS.
func Dial(addr string, cfg Config) (*grpc.ClientConn, error) {
	sc, err := serviceConfig(cfg.Retries)
	if err != nil {
		return nil, err
	}

	unaries := []grpc.UnaryClientInterceptor{unary(cfg)}
	streams := []grpc.StreamClientInterceptor{stream()}

	if cfg.Breaker != nil {
		unaries = append(unaries, cfg.Breaker.UnaryClientInterceptor())
		streams = append(streams, cfg.Breaker.StreamClientInterceptor())
	}

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithChainUnaryInterceptor(unaries...),
		grpc.WithChainStreamInterceptor(streams...),
		grpc.WithStatsHandler(statsHandler(cfg)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}

	return conn, nil
}

// statsHandler is otelgrpc's client handler: a client span per call, its
// trace context in the outgoing metadata, rpc.client.call.duration.
func statsHandler(cfg Config) stats.Handler {
	prop := cfg.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator() // sends nothing
	}

	return otelgrpc.NewClientHandler(otelgrpc.WithPropagators(prop),
		otelgrpc.WithTracerProvider(cfg.Tracer), otelgrpc.WithMeterProvider(cfg.Meters))
}

// serviceConfig balances calls round-robin over the resolved addresses
// and retries every method on UNAVAILABLE, with exponential
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

	b, err := json.Marshal(map[string]any{
		"loadBalancingConfig": []map[string]any{{"round_robin": map[string]any{}}},
		"methodConfig":        []methodConfig{mc},
	})
	if err != nil {
		return "", fmt.Errorf("service config: %w", err)
	}

	return string(b), nil
}

// withMetadata returns ctx with the caller's token and request ID in the
// outgoing metadata, unless the caller set them (the stats handler adds
// the trace context).
func withMetadata(ctx context.Context) context.Context {
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

		return opaque(invoker(withMetadata(ctx), method, req, reply, cc, opts...))
	}
}

// opaque replaces a status that the remote module did not make, the gRPC
// library's own (a refused connection, with the address it dialed; a
// deadline that passed), with the platform's error of that code: callers
// pass a module's errors on to their clients, who must not see the
// network's inside. The client span keeps the original.
func opaque(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}

	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errors.Domain {
			return err // the module's own error
		}
	}

	switch st.Code() {
	case codes.Unavailable:
		return errors.ToGRPC(errors.Unavailable("a module this request needs is unavailable"))
	case codes.DeadlineExceeded:
		return errors.ToGRPC(errors.Timeout("a module this request needs did not answer in time"))
	default:
		return err
	}
}

// stream sets the metadata only: a stream lives as long as its caller
// wants, so it gets no default deadline.
func stream() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(withMetadata(ctx), desc, cc, method, opts...)

		return cs, opaque(err)
	}
}
