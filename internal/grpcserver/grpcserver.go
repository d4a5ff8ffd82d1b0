// Package grpcserver builds a process's gRPC server and the in-process
// channel beside it: both serve the modules' services through the same
// interceptor chain, the channel without a socket (the REST gateway and
// module-to-module calls use it). The channel exists before the modules,
// which get it as their connection to each other; their services are
// registered on both once they are built (Register). The server binary and
// the tests build it the same way.
package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"buf.build/go/protovalidate"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/inproc"
	"github.com/modulith/modulith/internal/interceptor"
)

// platformPublic are platform methods callable without a token.
var platformPublic = []string{
	healthpb.Health_Check_FullMethodName,
	healthpb.Health_Watch_FullMethodName,
	healthpb.Health_List_FullMethodName,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}

// streamWorkers is the number of goroutines that serve calls; calls beyond
// it get their own goroutine, as without workers.
const streamWorkers = 64

// Modules is what the interceptor chain asks of the modules: which methods
// are public, the session check, and the permissions of roles
// (registry.Registry).
type Modules interface {
	IsPublic(fullMethod string) bool
	authn.SessionChecker
	authn.RoleResolver
}

// Deps are what the gRPC server needs.
type Deps struct {
	Config     *config.Config
	Modules    Modules
	Tokens     *authn.Tokens
	Logger     *slog.Logger
	Meter      metric.Meter
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// Meters measures calls through the in-process channel
	// (rpc.client.call.duration); nil is the global meter provider.
	Meters metric.MeterProvider
	// Policy, when set, applies the route policies (rate limits, route
	// roles) to clients' calls, after authentication
	// (routepolicy.Policy).
	Policy Policy
}

// Policy gives the interceptors of the route policies.
type Policy interface {
	UnaryServerInterceptor() grpc.UnaryServerInterceptor
	StreamServerInterceptor() grpc.StreamServerInterceptor
}

// GRPC is the network gRPC server and the in-process channel that the REST
// gateway and the modules call through. Both run the same interceptor
// chain and serve the same services.
type GRPC struct {
	Server *grpc.Server
	Health *health.Server
	// Conn is the in-process client connection: no socket, full chain.
	Conn    grpc.ClientConnInterface
	channel *inproc.Channel
}

// New builds the gRPC server and the in-process channel, with no module
// service yet. The chain consults d.Modules on every call, so the modules
// may be built after it, as long as it is before any call.
func New(d Deps) (*GRPC, error) {
	unary, stream, err := interceptors(d)
	if err != nil {
		return nil, err
	}

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(int(min(d.Config.MaxBodyBytes, 1<<30))),
		// Reused workers keep the stacks they grew through the interceptor
		// chain and the database driver, instead of growing a fresh
		// goroutine's stack on every call.
		grpc.NumStreamWorkers(streamWorkers),
		keepaliveParams(d.Config),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	if d.Config.GRPCReflection {
		reflection.Register(srv)
	}

	calls := otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(d.Tracer), otelgrpc.WithPropagators(d.Propagator),
		otelgrpc.WithMeterProvider(d.Meters))
	ch := inproc.New(interceptor.ChainUnary(unary...), interceptor.ClientStats(calls))

	return &GRPC{Server: srv, Health: hs, Conn: ch, channel: ch}, nil
}

// keepaliveParams closes each client connection after
// GRPC_MAX_CONNECTION_AGE (gRPC adds ±10 % jitter) with a GOAWAY, letting
// the calls in flight finish within REQUEST_TIMEOUT. A client that
// balances over the addresses of a DNS name (REMOTE_MODULES=dns:///…, a
// headless Service) resolves the name again when its connection goes, and
// so reaches the replicas started since it first connected.
func keepaliveParams(cfg *config.Config) grpc.ServerOption {
	p := keepalive.ServerParameters{}
	if cfg.GRPCMaxConnectionAge > 0 {
		p.MaxConnectionAge, p.MaxConnectionAgeGrace = cfg.GRPCMaxConnectionAge, cfg.RequestTimeout
	}

	return grpc.KeepaliveParams(p)
}

// SetServing sets the gRPC health status of the server as a whole ("")
// and of every service it serves (auth.v1.AuthService…): SERVING or
// NOT_SERVING. After Health.Shutdown every status stays NOT_SERVING.
func (g *GRPC) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}

	g.Health.SetServingStatus("", st)

	for name := range g.Server.GetServiceInfo() {
		g.Health.SetServingStatus(name, st)
	}
}

// FollowReadiness makes the gRPC health service follow ready (the checks
// of /readyz), asking it every interval until ctx ends, so that a gRPC
// readiness probe takes the process out of rotation while, for example,
// its database is down, and Watch streams see each change.
func (g *GRPC) FollowReadiness(ctx context.Context, ready func(context.Context) bool, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			g.SetServing(ready(ctx))
		}
	}
}

// Register registers services (the modules', through register) on the
// server and on the in-process channel.
func (g *GRPC) Register(register func(s grpc.ServiceRegistrar)) {
	register(g.Server)
	register(g.channel)
}

// interceptors returns the chain every call runs, outermost first (see
// package interceptor).
func interceptors(d Deps) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, nil, fmt.Errorf("protovalidate: %w", err)
	}

	observer, err := interceptor.NewObserver(d.Logger, d.Meter)
	if err != nil {
		return nil, nil, err
	}

	isPublic := func(method string) bool { return slices.Contains(platformPublic, method) || d.Modules.IsPublic(method) }
	authenticator := authn.NewAuthenticator(d.Tokens, d.Modules, d.Modules)

	unary := []grpc.UnaryServerInterceptor{
		interceptor.RequestID(d.Config.TrustedProxyPrefixes()),
		interceptor.Tracing(d.Tracer, d.Propagator),
		observer.Unary(),
		interceptor.Errors(d.Logger),
		interceptor.Recovery(d.Logger),
		interceptor.Timeout(d.Config.RequestTimeout),
		authn.UnaryServerInterceptor(authenticator, isPublic),
	}
	stream := []grpc.StreamServerInterceptor{
		interceptor.StreamRequestID(d.Config.TrustedProxyPrefixes()),
		interceptor.StreamTracing(d.Tracer, d.Propagator),
		observer.Stream(),
		interceptor.StreamErrors(d.Logger),
		interceptor.StreamRecovery(d.Logger),
		authn.StreamServerInterceptor(authenticator, isPublic),
	}

	if d.Policy != nil {
		unary = append(unary, d.Policy.UnaryServerInterceptor())
		stream = append(stream, d.Policy.StreamServerInterceptor())
	}

	return append(unary, interceptor.Validation(validator)), stream, nil
}
