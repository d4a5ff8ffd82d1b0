package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/websocket"
)

// server is a running serve command.
type server struct {
	p       *process
	tel     *observability.Telemetry
	bus     *events.Bus
	reg     *registry.Registry
	grpc    *grpcserver.GRPC
	checker *health.Checker
	http    *http.Server
	ws      *realtime
}

// realtime is this replica's WebSocket hub and the fan-out that links it
// to the hubs of the other replicas.
type realtime struct {
	cfg    websocket.Config
	hub    *websocket.Hub
	fanout fanout
}

// fanout is a started WebSocket fan-out.
type fanout interface {
	websocket.Fanout
	Start(ctx context.Context) error
	Close(ctx context.Context) error
}

// serve starts the process in dependency order (config, telemetry, pool,
// migrations, bus, modules, servers), serves until ctx ends (SIGTERM), then
// shuts down gracefully and returns nil.
func serve(ctx context.Context, e env) (err error) {
	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	s, err := build(ctx, e, p)
	if err != nil {
		return err
	}

	defer func() { err = errors.Join(err, s.close()) }()

	httpLn, grpcLn, err := listen(ctx, p)
	if err != nil {
		return err
	}

	if err := s.reg.StartAll(ctx); err != nil {
		return errors.Join(err, httpLn.Close(), grpcLn.Close())
	}

	return s.run(ctx, httpLn, grpcLn)
}

// build assembles everything between the pool and the listeners.
func build(ctx context.Context, e env, p *process) (*server, error) {
	s, err := newServer(ctx, p)
	if err != nil {
		return nil, err
	}

	if err := s.assemble(ctx, e); err != nil {
		return nil, errors.Join(err, s.close())
	}

	return s, nil
}

// newServer sets up telemetry and the event bus (not started), which every
// long-running process needs first.
func newServer(ctx context.Context, p *process) (*server, error) {
	cfg := p.cfg

	tel, err := observability.Setup(ctx, cfg.ServiceName, Version, observability.TracingConfig{
		Endpoint: cfg.OTLPEndpoint, Insecure: cfg.OTLPInsecure, SampleRatio: cfg.TraceSampleRatio,
	})
	if err != nil {
		return nil, err
	}

	bus, err := p.newBus(ctx)
	if err != nil {
		return nil, errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx)))
	}

	return &server{p: p, tel: tel, bus: bus}, nil
}

func (s *server) assemble(ctx context.Context, e env) error {
	p, meter := s.p, s.tel.Metrics.Meter()
	if err := observability.ObservePool(meter, p.pool); err != nil {
		return err
	}

	reg, err := p.registry(e.prog, s.bus)
	if err != nil {
		return err
	}

	s.reg = reg

	if err := s.initialize(ctx); err != nil {
		return err
	}

	if err := s.startRealtime(ctx); err != nil {
		return err
	}

	// Modules (and the WebSocket forwarder) have subscribed: register them
	// and deliver.
	if err := s.bus.Start(ctx); err != nil {
		return err
	}

	s.grpc, err = grpcserver.New(grpcserver.Deps{
		Config: p.cfg, Registry: reg, Logger: p.logger, Meter: meter,
		Tracer: s.tel.Tracer, Propagator: s.tel.Propagator,
	})
	if err != nil {
		return err
	}

	reg.ServeInProcess(s.grpc.Conn)

	s.checker = health.New(p.pool, reg.HealthCheckAll, p.logger)

	handler, err := setup.HTTPHandler(ctx, setup.HTTPDeps{
		Config: p.cfg, Registry: reg, Conn: s.grpc.Conn, Health: s.checker, Metrics: s.tel.Metrics.Handler(),
		Logger: p.logger, Meter: meter, Tracer: s.tel.Tracer, Propagator: s.tel.Propagator,
		WebSocket: s.ws.hub, WebSocketQueryToken: s.ws.cfg.QueryToken,
	})
	if err != nil {
		return err
	}

	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}

	return nil
}

// initialize migrates (unless MIGRATE_ON_START=false) and initializes the
// modules, then installs the remote session check when auth runs
// elsewhere.
func (s *server) initialize(ctx context.Context) error {
	if s.p.cfg.MigrateOnStart {
		if err := s.p.migrateUp(ctx, s.reg); err != nil {
			return err
		}
	}

	if err := s.reg.InitializeAll(); err != nil {
		return err
	}

	return setup.RemoteSessions(s.reg)
}

// startRealtime builds the WebSocket hub from the "websocket" configuration
// section (logged with its sources) and the fan-out of the events
// transport, starts the fan-out, and subscribes the forwarder of the
// modules' realtime routes to the bus, which must not have started.
func (s *server) startRealtime(ctx context.Context) error {
	logger := s.p.logger.With("component", "websocket")

	var cfg websocket.Config

	report, err := s.p.layers.Load("websocket", &cfg)
	if err != nil {
		return fmt.Errorf("websocket configuration: %w", err)
	}

	report.Log(ctx, logger)

	hub, err := websocket.NewHub(cfg, logger)
	if err != nil {
		return fmt.Errorf("websocket configuration: %w", err)
	}

	fo, err := s.newFanout(ctx, cfg, hub, logger)
	if err != nil {
		return err
	}

	if err := fo.Start(ctx); err != nil {
		return err
	}

	s.ws = &realtime{cfg: cfg, hub: hub, fanout: fo}

	fwd, err := websocket.NewForwarder(s.reg.RealtimeRoutes(), fo, logger)
	if err != nil {
		return err
	}

	return fwd.Subscribe(s.bus)
}

// newFanout returns the fan-out of the events transport: NATS core on the
// events' NATS server (on the cluster's own subject unless WS_NATS_SUBJECT
// names one), else LISTEN/NOTIFY on the database.
func (s *server) newFanout(ctx context.Context, cfg websocket.Config, hub *websocket.Hub, logger *slog.Logger) (fanout, error) {
	ev := s.bus.Config()

	if ev.Transport != events.TransportNATS {
		return websocket.NewPostgresFanout(s.p.pool, cfg.PostgresChannel, hub, logger), nil
	}

	subject := cfg.NATSSubject
	if subject == "" {
		id, err := events.ClusterID(ctx, s.p.pool)
		if err != nil {
			return nil, fmt.Errorf("websocket fan-out: %w", err)
		}

		subject = "modulith." + id + ".ws"
	}

	return websocket.NewNATSFanout(ev.NATSURL, subject, hub, logger), nil
}

func listen(ctx context.Context, p *process) (httpLn, grpcLn net.Listener, err error) {
	var lc net.ListenConfig

	httpLn, err = lc.Listen(ctx, "tcp", p.cfg.HTTPAddr())
	if err != nil {
		return nil, nil, fmt.Errorf("HTTP_PORT: %w", err)
	}

	grpcLn, err = lc.Listen(ctx, "tcp", p.cfg.GRPCAddr())
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("GRPC_PORT: %w", err), httpLn.Close())
	}

	return httpLn, grpcLn, nil
}

// run serves until ctx ends or a server fails, then shuts down.
func (s *server) run(ctx context.Context, httpLn, grpcLn net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)

	g.Go(func() error {
		if err := s.http.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("HTTP server: %w", err)
		}

		return nil
	})
	g.Go(func() error {
		// ErrServerStopped: shutdown began before Serve did (it closes grpcLn).
		if err := s.grpc.Server.Serve(grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gRPC server: %w", err)
		}

		return nil
	})

	s.p.logger.InfoContext(ctx, "server ready",
		"http", httpLn.Addr().String(), "grpc", grpcLn.Addr().String(), "env", s.p.cfg.Env)

	<-gctx.Done()

	shutdownErr := s.shutdown(context.WithoutCancel(ctx))

	return errors.Join(g.Wait(), shutdownErr)
}

// shutdown turns readiness off at once, keeps serving for SHUTDOWN_DELAY so
// load balancers notice, then closes the WebSockets and the listeners and
// lets in-flight requests finish within SHUTDOWN_TIMEOUT.
func (s *server) shutdown(ctx context.Context) error {
	cfg := s.p.cfg

	s.checker.ShutDown()
	s.grpc.Health.Shutdown()
	s.p.logger.InfoContext(ctx, "shutting down: readiness reports 503", "delay", cfg.ShutdownDelay.String())

	time.Sleep(cfg.ShutdownDelay)

	ctx, cancel := context.WithTimeout(ctx, cfg.ShutdownTimeout)
	defer cancel()

	// Sockets are hijacked connections, which http.Server.Shutdown neither
	// closes nor waits for: the hub tells them to go away (1001), so that
	// clients reconnect to a replica that stays, while requests drain.
	wsClosed := make(chan error, 1)

	go func() { wsClosed <- s.ws.hub.Close(ctx) }()

	stopped := make(chan struct{})

	go func() {
		s.grpc.Server.GracefulStop()
		close(stopped)
	}()

	err := s.http.Shutdown(ctx)

	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Server.Stop()
		<-stopped
	}

	if err != nil {
		err = fmt.Errorf("HTTP shutdown: %w", err)
	}

	return errors.Join(<-wsClosed, err)
}

// close releases what build made, in reverse order: modules, bus, the
// WebSocket hub (closed already after a normal shutdown) and fan-out,
// telemetry (flushing traces). The pool is closed by serve.
func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.p.cfg.ShutdownTimeout)
	defer cancel()

	var errs []error
	if s.reg != nil {
		errs = append(errs, s.reg.CloseAll(ctx))
	}

	errs = append(errs, s.bus.Close(ctx))
	if s.ws != nil {
		errs = append(errs, s.ws.hub.Close(ctx), s.ws.fanout.Close(ctx))
	}

	errs = append(errs, s.tel.Shutdown(ctx))
	s.p.logger.InfoContext(ctx, "stopped")

	return errors.Join(errs...)
}
