package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/feature"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/resilience"
	"github.com/modulith/modulith/internal/routepolicy"
	"github.com/modulith/modulith/internal/websocket"
)

// stack holds what a command built, to close it in reverse order.
type stack []func(context.Context) error

func (s *stack) push(closeFn func(context.Context) error) { *s = append(*s, closeFn) }

// close closes everything within SHUTDOWN_TIMEOUT and reports every
// failure.
func (s stack) close(p *process) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
	defer cancel()

	var errs []error
	for i := len(s) - 1; i >= 0; i-- {
		errs = append(errs, s[i](ctx))
	}

	return errors.Join(errs...)
}

// telemetry sets up metrics and tracing as the OpenTelemetry globals and
// logs where spans go: the OTEL_* variables the SDK reads are not in the
// configuration report.
func (p *process) telemetry(ctx context.Context) (*observability.Telemetry, error) {
	tel, err := observability.Setup(ctx, p.cfg.ServiceName, Version)
	if err != nil {
		return nil, err
	}

	if e := tel.Export; e.Enabled() {
		p.logger.InfoContext(ctx, "tracing", "export", e.Protocol, "endpoint", e.Target(), "sampler", e.Sampler)
	} else {
		p.logger.InfoContext(ctx, "tracing", "export", "none")
	}

	return tel, observability.ObservePool(tel.Metrics.Meter(), p.pool)
}

// start builds, on a booted process, what every long-running process
// runs, in dependency order: the re-reading of the platform secret
// (SECRETS_TTL), telemetry, migrations (MIGRATE_ON_START), the
// bus and the modules with the gRPC server and channel that serve them
// (host), the caches' hub, the feature flags kept fresh, the WebSocket hub
// with its fan-out and forwarder (realtime); then starts the bus, every
// subscriber having subscribed. What it built is on
// built, to close in reverse order.
func (p *process) start(ctx context.Context, built *stack) (*observability.Telemetry, *hosted, *realtime, error) {
	p.secret.Start(ctx)
	built.push(p.secret.Close)

	tel, err := p.telemetry(ctx)
	if err != nil {
		return nil, nil, nil, err
	}

	built.push(tel.Shutdown)

	if p.cfg.MigrateOnStart {
		if err := p.migrateUp(ctx); err != nil {
			return nil, nil, nil, err
		}
	}

	h, err := p.host(ctx, tel)
	if err != nil {
		return nil, nil, nil, err
	}

	built.push(h.close)

	if err := h.cache.Start(ctx); err != nil {
		return nil, nil, nil, err
	}

	if err := h.flags.Start(ctx); err != nil {
		return nil, nil, nil, err
	}

	built.push(h.flags.Close)

	rt, err := p.realtime(ctx, h, tel.Metrics.Meter())
	if err != nil {
		return nil, nil, nil, err
	}

	built.push(rt.close)

	return tel, h, rt, h.bus.Start(ctx)
}

// readiness is the process's /readyz checker: the database answers and
// the schemas of its modules are migrated (setup.SchemaReady).
func (p *process) readiness() *health.Checker {
	return health.New(p.pool, setup.SchemaReady(migration.NewRunner(p.pool, p.migrations(), io.Discard)), p.logger)
}

// How calls that leave the process wait: retries back off from
// outboundBackoff to outboundMaxBackoff, and a request of the modules'
// HTTP client takes at most outboundHTTPTimeout, retries included.
const (
	outboundBackoff     = 100 * time.Millisecond
	outboundMaxBackoff  = 2 * time.Second
	outboundHTTPTimeout = 30 * time.Second
)

// hosted is what runs the modules of a process: the bus they publish on
// and subscribe to, their feature flags (not started), the registry that
// built them, and the gRPC server and in-process channel that serve them.
type hosted struct {
	bus    *events.Bus
	flags  *feature.Flags
	tokens *authn.Tokens
	reg    *registry.Registry
	grpc   *grpcserver.GRPC
	// policy applies the route policies in the gRPC chain and at the
	// HTTP edge; closePolicy releases its limiter.
	policy      *routepolicy.Policy
	closePolicy func(context.Context) error
	// cache links the modules' caches to the other replicas' (not started).
	cache      *cache.Hub
	closeCache func(context.Context) error
}

// host builds, in dependency order, the bus (not started), the platform
// services modules get (the guards of outbound calls, notifier, token
// issuer, connections to remote modules, the caches' hub, not started, the
// session cache, feature flags), the registry, the route policies, the gRPC
// server and channel, and then the modules, whose services it registers on
// both with the platform's own (the flags' admin API). Close closes the
// bus, the policies' limiter and the caches' hub.
func (p *process) host(ctx context.Context, tel *observability.Telemetry) (*hosted, error) {
	cfg := p.cfg

	bus, err := p.newBus(ctx)
	if err != nil {
		return nil, err
	}

	out, err := p.outbound(tel)
	if err != nil {
		return nil, err
	}

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: p.secret, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
	if err != nil {
		return nil, fmt.Errorf("JWT_SECRET: %w", err)
	}

	hub, closeCache, err := setup.Cache(cfg, p.pool, p.logger, tel.Metrics.Meter())
	if err != nil {
		return nil, err
	}

	sessions, err := authn.NewSessionCache(hub, cfg.SessionCacheTTL)
	if err != nil {
		return nil, err
	}

	flags := feature.New(p.pool, cfg.FeatureReloadInterval, p.logger)
	reg := registry.New(registry.Deps{
		Layers: p.layers, Secret: p.secret, DB: p.pool, Bus: bus, Notifier: out.notifier, Tokens: tokens,
		Logger: p.logger, Remote: out.remote, Cache: hub, Sessions: sessions, Flags: flags,
		HTTPClient: &http.Client{Transport: out.guards.Transport(nil), Timeout: outboundHTTPTimeout},
	})

	policy, closePolicy, err := setup.RoutePolicy(cfg, tokens, p.logger, tel.Metrics.Meter())
	if err != nil {
		return nil, errors.Join(err, closeCache(ctx))
	}

	srv, err := grpcserver.New(grpcserver.Deps{
		Config: cfg, Modules: reg, Tokens: tokens, Logger: p.logger, Meter: tel.Metrics.Meter(),
		Tracer: tel.Tracer, Propagator: tel.Propagator, Meters: tel.Metrics.Provider, Policy: policy,
	})
	if err != nil {
		return nil, errors.Join(err, closePolicy(ctx), closeCache(ctx))
	}

	local, elsewhere := p.prog.served(cfg.Remotes())
	if err := reg.Init(srv.Conn, append(local, elsewhere...)...); err != nil {
		return nil, errors.Join(err, closePolicy(ctx), closeCache(ctx))
	}

	reg.ServePlatform(feature.NewService(feature.NewStore(p.pool, bus, flags)).API())
	srv.Register(reg.RegisterGRPC)

	return &hosted{
		bus: bus, flags: flags, tokens: tokens, reg: reg, grpc: srv,
		policy: policy, closePolicy: closePolicy, cache: hub, closeCache: closeCache,
	}, nil
}

// outbound are the ways out of the process the modules get, each guarded
// by a circuit breaker and retries: the notifier, the connections to the
// modules served elsewhere, and (through guards) an HTTP client.
type outbound struct {
	guards   *resilience.Guards
	notifier *notifier.Notifier
	remote   map[string]grpc.ClientConnInterface
}

func (p *process) outbound(tel *observability.Telemetry) (outbound, error) {
	cfg := p.cfg

	guards, err := resilience.New(resilience.Config{
		Failures: cfg.BreakerFailures, Cooldown: cfg.BreakerCooldown, Retries: cfg.OutboundRetries,
		Backoff: outboundBackoff, MaxBackoff: outboundMaxBackoff,
	}, tel.Metrics.Meter())
	if err != nil {
		return outbound{}, err
	}

	n, err := setup.Notifier(cfg, p.logger, guards)
	if err != nil {
		return outbound{}, err
	}

	remote, err := p.dialRemotes(tel, guards)
	if err != nil {
		return outbound{}, err
	}

	return outbound{guards: guards, notifier: n, remote: remote}, nil
}

// close stops the bus (no more deliveries, handlers finished), then the
// route policies' limiter and the caches' hub.
func (h *hosted) close(ctx context.Context) error {
	return errors.Join(h.bus.Close(ctx), h.closePolicy(ctx), h.closeCache(ctx))
}

// realtime is this replica's WebSocket hub and the fan-out that links it
// to the hubs of the other replicas.
type realtime struct {
	cfg    websocket.Config
	hub    *websocket.Hub
	fanout setup.Fanout
}

// realtime builds the WebSocket hub from the "websocket" configuration
// section and the fan-out of the events transport, starts the fan-out, and
// subscribes the forwarder of the modules' routes to the bus, which must
// not have started. The hub's metrics go to meter.
func (p *process) realtime(ctx context.Context, h *hosted, meter metric.Meter) (*realtime, error) {
	logger := p.logger.With("component", "websocket")

	var cfg websocket.Config

	report, err := p.layers.Load("websocket", &cfg)
	if err != nil {
		return nil, fmt.Errorf("websocket configuration: %w", err)
	}

	report.Log(ctx, logger)

	hub, err := websocket.NewHub(cfg, logger, meter)
	if err != nil {
		return nil, fmt.Errorf("websocket configuration: %w", err)
	}

	fo, err := setup.NewFanout(ctx, p.pool, h.bus.Config(), cfg, hub, logger)
	if err != nil {
		return nil, err
	}

	if err := fo.Start(ctx); err != nil {
		return nil, err
	}

	rt := &realtime{cfg: cfg, hub: hub, fanout: fo}

	fwd, err := websocket.NewForwarder(h.reg.RealtimeRoutes(), fo)
	if err == nil {
		err = fwd.Subscribe(h.bus)
	}

	if err != nil {
		return nil, errors.Join(err, rt.close(context.WithoutCancel(ctx)))
	}

	return rt, nil
}

// close closes the hub (its sockets; done already after a normal
// shutdown) and the fan-out.
func (r *realtime) close(ctx context.Context) error {
	return errors.Join(r.hub.Close(ctx), r.fanout.Close(ctx))
}

// stopped logs that the process stopped; pushed first, it runs last.
func stopped(logger *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		logger.InfoContext(ctx, "stopped")

		return nil
	}
}
